import Foundation
import QuantCheckPlugin

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
        case .timeout: return "hang"
        case .wroteBeforeOutput, .accessPastOutput, .accessPastInput: return "out-of-bounds"
        case .protocolViolation: return "protocol"
        }
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
    /// `quantcheck_plugin_info()`, on one line, or empty.
    public var info: String
}

/// One worker slot: a shared memory file, and the worker process currently serving it (started
/// on demand, restarted after every fault). Used by one thread at a time.
///
/// Request life cycle: the parent writes the inputs into the input region (Float32 sweeps need
/// none), sends a `qcp_request`, and waits for the `qcp_response` up to the time limit:
/// - OK → the outputs are in the output region;
/// - the worker reported an out-of-bounds access (guard page / canary) and exited;
/// - end of file → the worker died (a signal, or the plugin called exit);
/// - time limit → SIGKILL.
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
    private var socket: Int32 = -1

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
        var child: pid_t = 0
        let r = cArgs.withUnsafeMutableBufferPointer { qcp_spawn(launch.executable, $0.baseAddress, fds[1], memoryFD, &child) }
        close(fds[1])
        guard r == 0 else {
            close(fds[0])
            throw .workerFailed("cannot start '\(launch.executable)': \(String(cString: strerror(r)))")
        }
        pid = child
        socket = fds[0]
        starts += 1
        spawned.append(child)

        var hello = qcp_hello()
        let got = qcp_receive_all(socket, &hello, MemoryLayout<qcp_hello>.size, Self.milliseconds(loadTimeout))
        guard got == 1, hello.magic == QCP_MAGIC_HELLO else {
            let why: String
            if got == -ETIMEDOUT {
                kill(pid, SIGKILL)
                why = "loading did not finish within \(PluginFault.seconds(loadTimeout))"
            } else if got == 1 {
                kill(pid, SIGKILL)
                why = "the worker answered garbage (is '\(launch.executable)' a quantcheck binary?)"
            } else {
                why = ""
            }
            let (sig, status) = reap()
            if !why.isEmpty { throw .loadFailed(library, reason: why) }
            throw .loadFailed(
                library,
                reason: sig != 0 ? "the worker was killed by \(PluginFault.signalName(sig)) while loading it (in a library constructor or quantcheck_plugin_info)"
                    : "the worker exited (status \(status)) while loading it")
        }
        var text = [UInt8](repeating: 0, count: Int(hello.text_length))
        if !text.isEmpty, qcp_receive_all(socket, &text, text.count, Self.milliseconds(loadTimeout)) != 1 {
            kill(pid, SIGKILL)
            _ = reap()
            throw .loadFailed(library, reason: "the worker died while reporting the plugin's info")
        }
        let message = String(decoding: text, as: UTF8.self)
            .map { $0.isNewline || $0 == "\t" ? " " : $0 }
            .reduce(into: "") { $0.append($1) }
            .trimmingCharacters(in: .whitespaces)
        if hello.status == UInt32(QCP_STATUS_LOAD_FAILED) {
            _ = reap()
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
            return died()
        }
        var rs = qcp_response()
        let got = qcp_receive_all(socket, &rs, MemoryLayout<qcp_response>.size, Self.milliseconds(timeout))
        if got == 0 { return died() }
        if got == -ETIMEDOUT {
            kill(pid, SIGKILL)
            _ = reap()
            return .fault(.timeout(seconds: timeout), call: inFlightCall())
        }
        if got < 0 {
            kill(pid, SIGKILL)
            _ = reap()
            return .fault(.protocolViolation(String(cString: strerror(-got))), call: nil)
        }
        guard rs.magic == QCP_MAGIC_RESPONSE else {
            kill(pid, SIGKILL)
            _ = reap()
            return .fault(.protocolViolation("bad response (the plugin wrote to quantcheck's descriptors?)"), call: inFlightCall())
        }
        pluginNanos &+= rs.nanos
        let call = rs.call_offset..<(rs.call_offset + rs.call_count)
        let inStride = entry.inputStride(codeBytes: codeBytes), outStride = entry.outputStride(codeBytes: codeBytes)
        let write: Bool? = rs.access < 0 ? nil : rs.access == 1
        switch Int(rs.status) {
        case QCP_STATUS_OK:
            return .ok
        case QCP_STATUS_WROTE_BEFORE_OUT:
            _ = reap()
            return .fault(.wroteBeforeOutput(bytes: rs.detail, stride: outStride), call: call)
        case QCP_STATUS_ACCESS_PAST_OUT:
            _ = reap()
            return .fault(.accessPastOutput(bytes: rs.detail, stride: outStride, write: write), call: call)
        case QCP_STATUS_ACCESS_PAST_IN:
            _ = reap()
            return .fault(.accessPastInput(bytes: rs.detail, stride: inStride, write: write), call: call)
        case QCP_STATUS_NO_SYMBOL:
            throw .workerFailed("the worker has no \(entry) entry point")
        default:
            kill(pid, SIGKILL)
            _ = reap()
            throw .workerFailed("the worker rejected request \(op) \(start)+\(count) (status \(rs.status))")
        }
    }

    /// Asks the worker to quit and reaps it (kills it if it does not quit promptly).
    func stop() {
        guard pid != 0 else { return }
        var rq = qcp_request(magic: QCP_MAGIC_REQUEST, op: UInt32(QCP_OP_QUIT), entry: 0, reserved: 0, start: 0, count: 0)
        if qcp_send_all(socket, &rq, MemoryLayout<qcp_request>.size) == 0 {
            var byte: UInt8 = 0
            // The worker exits at once: wait for the end of file, briefly.
            if qcp_receive_all(socket, &byte, 1, 5000) != 0 { kill(pid, SIGKILL) }
        } else {
            kill(pid, SIGKILL)
        }
        _ = reap()
    }

    // MARK: - Private

    private func died() -> Outcome {
        let (sig, status) = reap()
        let fault: PluginFault = sig != 0 ? .signal(sig) : .exited(status: status)
        return .fault(fault, call: inFlightCall())
    }

    /// Closes the socket and waits for the worker. Returns (signal, exit status).
    private func reap() -> (Int32, Int32) {
        if socket >= 0 { close(socket) }
        socket = -1
        var sig: Int32 = 0, status: Int32 = 0
        if pid != 0 { _ = qcp_wait(pid, &sig, &status) }
        pid = 0
        return (sig, status)
    }

    /// The plugin call that was running when the worker died (odd sequence number), if any.
    private func inFlightCall() -> Range<UInt64>? {
        let h = memory.assumingMemoryBound(to: qcp_shared_header.self)
        guard h.pointee.sequence & 1 == 1 else { return nil }
        let start = h.pointee.call_offset, count = h.pointee.call_count
        return count > 0 ? start..<(start + count) : nil
    }

    static func milliseconds(_ seconds: Double) -> Int32 {
        Int32(clamping: Int((seconds * 1000).rounded(.up)))
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
