import Foundation
import QuantCheckPlugin
import Formats

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How to start a plugin worker process: an executable and the arguments that make it serve
/// (the `quantcheck` binary itself with its hidden `plugin-worker` subcommand).
public struct PluginWorkerLaunch: Sendable, Hashable {
    public var executable: String
    public var arguments: [String]

    public init(executable: String, arguments: [String] = ["plugin-worker"]) {
        self.executable = executable
        self.arguments = arguments
    }

    /// The running executable (resolved through /proc/self/exe) with `plugin-worker`.
    public static func currentExecutable() -> PluginWorkerLaunch {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        return PluginWorkerLaunch(executable: path)
    }
}

/// What a plugin did wrong, as seen from outside its worker process.
public enum PluginFault: Sendable, Hashable, CustomStringConvertible {
    /// The worker was killed by a signal (SIGSEGV, SIGFPE, SIGABRT…).
    case signal(Int32)
    /// The worker exited on its own (the plugin called exit()).
    case exited(status: Int32)
    /// The worker could no longer use its socket and exited (the plugin closed or replaced
    /// quantcheck's descriptors): not the plugin calling exit().
    case lostConnection
    /// The worker stopped at a signal: under ptrace when the plugin made quantcheck its tracer
    /// (PTRACE_TRACEME), where a crash stops the process instead of killing it; else a
    /// job-control stop. It was killed.
    case stopped(Int32, traced: Bool)
    /// The plugin replaced the worker's SIGSEGV or SIGBUS handler, which turns out-of-bounds
    /// accesses into reports (and no stray bytes were found in the guard areas).
    case replacedSignalHandler(Int32)
    /// No answer within the time limit; the worker was killed.
    case timeout(seconds: Double)
    /// A byte before out[0] changed; `bytes` is the distance of the nearest one.
    case wroteBeforeOutput(bytes: Int64, stride: Int)
    /// out[n + bytes/stride] was touched (guard page after out[n−1]).
    case accessPastOutput(bytes: Int64, stride: Int, write: Bool?)
    /// in[n + bytes/stride] was touched (guard page after in[n−1]).
    case accessPastInput(bytes: Int64, stride: Int, write: Bool?)
    /// The worker answered something that is not the protocol.
    case protocolViolation(String)

    public var description: String {
        func verb(_ write: Bool?) -> String { write == true ? "wrote" : write == false ? "read" : "accessed" }
        func past(_ bytes: Int64, _ stride: Int) -> String {
            let k = bytes / Int64(stride)
            return k == 0 ? "[n]" : "[n+\(k)]"
        }
        switch self {
        case .signal(let s): return "crashed: \(Self.signalName(s))"
        case .exited(let status): return "the plugin exited the process (status \(status))"
        case .lostConnection: return "the worker lost its connection to quantcheck (the plugin closed or replaced its descriptors?)"
        case .stopped(let s, let traced):
            guard traced else { return "stopped by \(Self.signalName(s)) (killed)" }
            let why = "under ptrace: the plugin called ptrace(PTRACE_TRACEME); killed"
            return Self.killsByDefault(s) ? "crashed: \(Self.signalName(s)) (stopped there \(why))" : "stopped by \(Self.signalName(s)) \(why)"
        case .replacedSignalHandler(let s):
            return "replaced quantcheck's \(Self.signalName(s).prefix { $0 != " " }) handler (which would hide out-of-bounds accesses)"
        case .timeout(let t): return "hung: no result within \(Self.seconds(t)) (killed)"
        case .wroteBeforeOutput(let bytes, let stride):
            return "out-of-bounds write: out[-\((bytes + Int64(stride) - 1) / Int64(stride))] (before the output)"
        case .accessPastOutput(let bytes, let stride, let write):
            return "out-of-bounds \(write == false ? "read" : "write"): \(verb(write)) out\(past(bytes, stride)) (past the end)"
        case .accessPastInput(let bytes, let stride, let write):
            return "out-of-bounds access: \(verb(write)) in\(past(bytes, stride)) (past the end of the input)"
        case .protocolViolation(let why): return "worker protocol violated: \(why)"
        }
    }

    /// Short label for the counterexample's `gotCode`.
    public var label: String {
        switch self {
        case .signal: return "crash"
        case .exited: return "exit"
        case .lostConnection: return "lost connection"
        case .stopped(let s, let traced): return traced && Self.killsByDefault(s) ? "crash" : "stopped"
        case .replacedSignalHandler: return "signal handler"
        case .timeout: return "hang"
        case .wroteBeforeOutput, .accessPastOutput, .accessPastInput: return "out-of-bounds"
        case .protocolViolation: return "protocol"
        }
    }

    /// Signals whose default action ends the process: a traced worker stopped at one of them
    /// would have died of it.
    static func killsByDefault(_ s: Int32) -> Bool {
        ![SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH].contains(s)
    }

    static func seconds(_ t: Double) -> String { t < 10 ? String(format: "%.2g s", t) : String(format: "%.0f s", t) }

    public static func signalName(_ s: Int32) -> String {
        let names: [Int32: String] = [
            SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGILL: "SIGILL", SIGABRT: "SIGABRT",
            SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGTRAP: "SIGTRAP", SIGSYS: "SIGSYS", SIGPIPE: "SIGPIPE",
            SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGXCPU: "SIGXCPU",
        ]
        return "\(names[s] ?? "signal") (signal \(s))"
    }
}

/// What the worker found in the library.
public struct PluginHello: Sendable, Hashable {
    public var found: Set<PluginEntryPoint>
    /// `quantcheck_plugin_info()`, on one line with control characters escaped
    /// (`DiagnosticText.oneLine`), or empty. Escaped here, where it is read, so that no report,
    /// terminal line or accuracy.md gets the plugin's escape sequences.
    public var info: String
}

/// One worker slot: a shared memory file, and the worker process currently serving it (started
/// on demand, restarted after every fault). Used by one thread at a time.
///
/// Request life cycle: the parent writes the inputs into the input region (Float32 sweeps need
/// none), sends a `qcp_request`, and waits for the `qcp_response` up to the time limit:
/// - OK → the outputs are in the output region;
/// - the worker reported an out-of-bounds access (guard page / canary) and exited;
/// - end of file, or the worker process ended or stopped (seen through a pidfd even while a
///   process the plugin forked keeps the socket open) → the worker died (a signal, the plugin
///   called exit, the worker lost its socket);
/// - time limit → SIGKILL.
/// Each worker leads a process group of its own, killed as a whole whenever the worker ends
/// (shutdown, fault, time limit), so nothing the plugin forked outlives it.
/// After a fault the header page of the shared memory tells which plugin call was running, and
/// outputs of the calls before it are already in place. Every child is reaped (no zombies).
final class PluginWorkerSlot: @unchecked Sendable {
    enum Operation: UInt32 {
        case sweepFloat32 = 1  // QCP_OP_SWEEP_F32
        case call = 2          // QCP_OP_CALL
    }

    enum Outcome {
        case ok
        /// `call`: inputs of the faulting plugin call, relative to the request (nil if unknown).
        case fault(PluginFault, call: Range<UInt64>?)
    }

    let launch: PluginWorkerLaunch
    let library: String
    let symbols: [String]  // per entry point; "-" for none
    let codeBytes: Int
    let capacity: Int
    let chunk: Int
    let loadTimeout: Double

    private let memoryFD: Int32
    private let memory: UnsafeMutableRawPointer
    private let memoryBytes: Int
    private var pid: pid_t = 0
    private var pidfd: Int32 = -1
    private var socket: Int32 = -1
    /// Signalled when the relay of the current worker's output has written its last line.
    private var relayFinished: DispatchSemaphore?

    /// Worker processes started (1 + restarts), and their ids (tests check they were all reaped).
    private(set) var starts = 0
    private(set) var spawned: [pid_t] = []
    /// Time spent inside the plugin, as measured by the worker around each call.
    private(set) var pluginNanos: UInt64 = 0

    var input: UnsafeMutableRawPointer { memory + qcp_shared_header_bytes() }
    var output: UnsafeRawPointer { UnsafeRawPointer(input + qcp_shared_input_bytes(UInt64(capacity))) }

    init(
        launch: PluginWorkerLaunch, library: String, symbols: [PluginEntryPoint: String], codeBytes: Int,
        capacity: Int, chunk: Int, loadTimeout: Double
    ) throws(PluginError) {
        precondition(capacity > 0 && chunk > 0 && (codeBytes == 1 || codeBytes == 2))
        self.launch = launch
        self.library = library
        self.symbols = PluginEntryPoint.allCases.map { symbols[$0] ?? "-" }
        self.codeBytes = codeBytes
        self.capacity = capacity
        self.chunk = chunk
        self.loadTimeout = loadTimeout
        memoryBytes = qcp_shared_total_bytes(UInt64(capacity))
        let fd = qcp_shared_memory_create(memoryBytes)
        guard fd >= 0 else { throw .workerFailed("cannot create shared memory: \(String(cString: strerror(-fd)))") }
        guard let base = qcp_shared_memory_map(fd, memoryBytes) else {
            close(fd)
            throw .workerFailed("cannot map shared memory: \(String(cString: strerror(errno)))")
        }
        memoryFD = fd
        memory = base
    }

    deinit {
        stop()
        qcp_shared_memory_unmap(memory, memoryBytes)
        close(memoryFD)
    }

    /// Starts a worker and returns what it found. A library that fails to load (or crashes or
    /// hangs while loading) is a `PluginError.loadFailed`.
    @discardableResult
    func start() throws(PluginError) -> PluginHello {
        stop()
        var fds: [Int32] = [-1, -1]
        let e = qcp_socket_pair(&fds)
        guard e == 0 else { throw .workerFailed("socketpair: \(String(cString: strerror(e)))") }
        let argv = [launch.executable] + launch.arguments + [
            library, "\(codeBytes)", "\(capacity)", "\(chunk)", "\(getpid())",
        ] + symbols
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        // Cleared here too: a worker that dies before it gets to clear it must not inherit the
        // mark of the previous one.
        memory.assumingMemoryBound(to: qcp_shared_header.self).pointee.lost_connection = 0
        // What the worker prints goes through a relay that escapes it (no stderr: /dev/null).
        var output: [Int32] = [-1, -1]
        if qcp_standard_error_usable() != 0, qcp_output_pipe(&output) != 0 { output = [-1, -1] }
        var child: pid_t = 0
        let r = cArgs.withUnsafeMutableBufferPointer {
            qcp_spawn(launch.executable, $0.baseAddress, fds[1], memoryFD, output[1], &child)
        }
        close(fds[1])
        if output[1] >= 0 { close(output[1]) }
        guard r == 0 else {
            close(fds[0])
            if output[0] >= 0 { close(output[0]) }
            throw .workerFailed("cannot start '\(launch.executable)': \(String(cString: strerror(r)))")
        }
        if output[0] >= 0 { relayFinished = PluginOutputRelay.start(output[0]) }
        pid = child
        pidfd = qcp_pidfd_open(child)
        socket = fds[0]
        starts += 1
        spawned.append(child)

        var hello = qcp_hello()
        let got = receive(&hello, MemoryLayout<qcp_hello>.size, timeout: loadTimeout)
        guard got == 1, hello.magic == QCP_MAGIC_HELLO else {
            if got == -ETIMEDOUT {
                _ = reap(grace: 0)
                throw .loadFailed(library, reason: "loading did not finish within \(PluginFault.seconds(loadTimeout))")
            }
            if got == 1 {
                _ = reap(grace: 0)
                throw .loadFailed(library, reason: "the worker answered garbage (is '\(launch.executable)' a quantcheck binary?)")
            }
            let reason: String
            switch reap(grace: loadTimeout) {
            case .signal(let sig):
                reason = "the worker was killed by \(PluginFault.signalName(sig)) while loading it (in a library constructor or quantcheck_plugin_info)"
            case .exited(let status): reason = "the worker exited (status \(status)) while loading it"
            case .timeout: reason = "the worker closed its socket and did not end within \(PluginFault.seconds(loadTimeout)) while loading it"
            case let fault: reason = "while loading it: \(fault.description)"
            }
            throw .loadFailed(library, reason: reason)
        }
        var text = [UInt8](repeating: 0, count: Int(hello.text_length))
        if !text.isEmpty, receive(&text, text.count, timeout: loadTimeout) != 1 {
            _ = reap(grace: 0)
            throw .loadFailed(library, reason: "the worker died while reporting the plugin's info")
        }
        // The plugin's text is shown on terminals and stored in reports: one line, and its
        // control characters (ESC, BEL…) escaped, never passed through.
        let message = DiagnosticText.oneLine(
            String(decoding: text, as: UTF8.self)
                .map { $0.isNewline || $0 == "\t" ? " " : $0 }
                .reduce(into: "") { $0.append($1) }
                .trimmingCharacters(in: .whitespaces))
        if hello.status == UInt32(QCP_STATUS_LOAD_FAILED) {
            _ = reap(grace: loadTimeout)
            throw .loadFailed(library, reason: message.isEmpty ? "dlopen failed" : message)
        }
        let found = Set(PluginEntryPoint.allCases.filter { hello.found_mask & (1 << UInt32($0.rawValue)) != 0 })
        return PluginHello(found: found, info: message)
    }

    /// Runs one request. `start` is the first Float32 pattern (sweeps) or a label; the inputs of
    /// a `.call` are the first `count` elements of the input region.
    func request(_ op: Operation, entry: PluginEntryPoint, start: UInt64, count: Int, timeout: Double) throws(PluginError) -> Outcome {
        precondition(count > 0 && count <= capacity)
        if pid == 0 { try self.start() }
        var rq = qcp_request(
            magic: QCP_MAGIC_REQUEST, op: op.rawValue, entry: UInt32(entry.rawValue), reserved: 0,
            start: start, count: UInt64(count))
        if qcp_send_all(socket, &rq, MemoryLayout<qcp_request>.size) != 0 {
            // The worker is gone already; its exit status says why.
            return .fault(reap(grace: timeout), call: inFlightCall())
        }
        var rs = qcp_response()
        let got = receive(&rs, MemoryLayout<qcp_response>.size, timeout: timeout)
        if got == 0 || got == QCP_RECEIVE_WORKER_ENDED {
            // Ended, or closed its socket: after an end of file the worker may still be
            // finishing the call (a plugin that closed fd 3), so it gets the time limit to end.
            return .fault(reap(grace: timeout), call: inFlightCall())
        }
        if got == -ETIMEDOUT {
            _ = reap(grace: 0)
            return .fault(.timeout(seconds: timeout), call: inFlightCall())
        }
        if got < 0 {
            _ = reap(grace: 0)
            return .fault(.protocolViolation(String(cString: strerror(-got))), call: nil)
        }
        guard rs.magic == QCP_MAGIC_RESPONSE else {
            _ = reap(grace: 0)
            return .fault(.protocolViolation("bad response (the plugin wrote to quantcheck's descriptors?)"), call: inFlightCall())
        }
        pluginNanos &+= rs.nanos
        let call = rs.call_offset..<(rs.call_offset + rs.call_count)
        let inStride = entry.inputStride(codeBytes: codeBytes), outStride = entry.outputStride(codeBytes: codeBytes)
        let write: Bool? = rs.access < 0 ? nil : rs.access == 1
        // After reporting a fault the worker exits at once; the grace is only an upper bound.
        switch Int(rs.status) {
        case QCP_STATUS_OK:
            return .ok
        case QCP_STATUS_WROTE_BEFORE_OUT:
            _ = reap(grace: timeout)
            return .fault(.wroteBeforeOutput(bytes: rs.detail, stride: outStride), call: call)
        case QCP_STATUS_ACCESS_PAST_OUT:
            _ = reap(grace: timeout)
            return .fault(.accessPastOutput(bytes: rs.detail, stride: outStride, write: write), call: call)
        case QCP_STATUS_ACCESS_PAST_IN:
            _ = reap(grace: timeout)
            return .fault(.accessPastInput(bytes: rs.detail, stride: inStride, write: write), call: call)
        case QCP_STATUS_HANDLER_REPLACED:
            _ = reap(grace: timeout)
            return .fault(.replacedSignalHandler(Int32(truncatingIfNeeded: rs.detail)), call: call)
        case QCP_STATUS_NO_SYMBOL:
            throw .workerFailed("the worker has no \(entry) entry point")
        default:
            _ = reap(grace: 0)
            throw .workerFailed("the worker rejected request \(op) \(start)+\(count) (status \(rs.status))")
        }
    }

    /// Asks the worker to quit, waits briefly for it to exit (the process, not the end of file
    /// on its socket, which a process the plugin forked may hold open), then kills its process
    /// group and reaps it.
    func stop() {
        guard pid != 0 else { return }
        var rq = qcp_request(magic: QCP_MAGIC_REQUEST, op: UInt32(QCP_OP_QUIT), entry: 0, reserved: 0, start: 0, count: 0)
        let sent = qcp_send_all(socket, &rq, MemoryLayout<qcp_request>.size) == 0
        _ = reap(grace: sent ? 5 : 0)
    }

    // MARK: - Private

    private func receive(_ buffer: UnsafeMutableRawPointer, _ count: Int, timeout: Double) -> Int32 {
        qcp_receive_from_worker(socket, pid, pidfd, buffer, count, Self.milliseconds(timeout))
    }

    /// Ends the worker (waits up to `grace` seconds for it to end on its own, then kills its
    /// process group), reaps it, and says how it ended: `.timeout` when it had to be killed.
    private func reap(grace: Double) -> PluginFault {
        if socket >= 0 { close(socket) }
        socket = -1
        var end = qcp_worker_end()
        if pid != 0 { _ = qcp_end_worker(pid, pidfd, Self.milliseconds(grace), &end) }
        if pidfd >= 0 { close(pidfd) }
        pidfd = -1
        pid = 0
        // The worker's group is gone, so its output pipe is at end of file once the relay has
        // read what is left: wait for that, or the last lines a plugin printed are lost when
        // quantcheck exits right after (seen under load: a banner missing from stderr). Bounded,
        // because a process that left the group (setsid) may still hold the pipe.
        if let relay = relayFinished {
            _ = relay.wait(timeout: .now() + Self.relayDrainSeconds)
            relayFinished = nil
        }
        if end.killed != 0 { return .timeout(seconds: grace) }
        if end.stopped != 0 { return .stopped(end.signal, traced: end.stopped == 2) }
        if end.signal != 0 { return .signal(end.signal) }
        let header = memory.assumingMemoryBound(to: qcp_shared_header.self)
        if end.exit_status == QCP_EXIT_LOST_CONNECTION, header.pointee.lost_connection != 0 { return .lostConnection }
        return .exited(status: end.exit_status)
    }

    /// The plugin call that was running when the worker died (odd sequence number), if any.
    private func inFlightCall() -> Range<UInt64>? {
        let h = memory.assumingMemoryBound(to: qcp_shared_header.self)
        guard h.pointee.sequence & 1 == 1 else { return nil }
        let start = h.pointee.call_offset, count = h.pointee.call_count
        return count > 0 ? start..<(start + count) : nil
    }

    /// Longest wait for a finished worker's output to be relayed.
    static let relayDrainSeconds = 2.0

    static func milliseconds(_ seconds: Double) -> Int32 {
        Int32(clamping: Int((seconds * 1000).rounded(.up)))
    }
}

/// Copies what a worker prints (the plugin's stdout and stderr, and anything the processes it
/// starts print) to quantcheck's standard error one line at a time, with control characters
/// escaped (`DiagnosticText.oneLine`): a plugin's ESC and BEL must not reach the terminal any
/// more than its info text may. One thread per worker; it ends at the end of file, when the
/// worker's process group is gone.
enum PluginOutputRelay {
    /// Longest line kept whole; a longer one is passed on in pieces of this size.
    static let lineLimit = 4096

    /// Starts relaying `fd`; the semaphore is signalled after the last line is written.
    static func start(_ fd: Int32) -> DispatchSemaphore {
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { finished.signal() }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let k = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if k < 0 && errno == EINTR { continue }
                if k <= 0 { break }
                pending += buffer[0..<k]
                while let newline = pending.firstIndex(of: 10) {
                    emit(pending[..<newline])
                    pending.removeSubrange(...newline)
                }
                if pending.count >= lineLimit {
                    emit(pending[...])
                    pending.removeAll()
                }
            }
            if !pending.isEmpty { emit(pending[...]) }
            close(fd)
        }
        thread.start()
        return finished
    }

    static func emit(_ bytes: ArraySlice<UInt8>) {
        let line = Array((DiagnosticText.oneLine(String(decoding: bytes, as: UTF8.self)) + "\n").utf8)
        line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let w = write(2, raw.baseAddress! + offset, raw.count - offset)
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { return }
                offset += w
            }
        }
    }
}

/// The `plugin-worker` side: parses the arguments the parent passed and serves (never returns).
public enum PluginWorkerMain {
    /// `LIBRARY CODE_BYTES CAPACITY CHUNK PARENT_PID SYM_F32 SYM_F64 SYM_F16 SYM_BF16 SYM_DECODE`
    /// ("-" for an entry point not wanted). Exits 2 on malformed arguments.
    public static func run(arguments: [String]) -> Never {
        guard arguments.count == 5 + PluginEntryPoint.allCases.count,
            let codeBytes = Int32(arguments[1]), let capacity = UInt64(arguments[2]),
            let chunk = UInt64(arguments[3]), let parent = Int(arguments[4])
        else {
            FileHandle.standardError.write(Data("quantcheck plugin-worker: internal command, started by 'quantcheck conform'\n".utf8))
            exit(2)
        }
        let symbols = arguments[5...].map { $0 == "-" ? "" : $0 }
        let cStrings = symbols.map { strdup($0) }
        var pointers: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) }
        pointers.withUnsafeMutableBufferPointer { buf in
            qcp_worker_main(arguments[0], buf.baseAddress, codeBytes, capacity, chunk, parent)
        }
    }
}
