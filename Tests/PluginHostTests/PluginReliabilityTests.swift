import Foundation
import Testing
import Formats
import Conformance
@testable import PluginHost

#if canImport(Glibc)
import Glibc
#endif

/// Plugins that attack the host rather than get conversions wrong (issue 15): raised signals,
/// their own fault handlers, forked children, ptrace, closed descriptors, escape sequences.
/// Every fixture converts correctly apart from the planted behaviour, so a PASS would be a
/// miss by quantcheck.
@Suite struct PluginReliabilityTests {
    /// The decode suite's one result (256 codes of e4m3fn, one plugin call).
    private func decode(_ session: PluginSession) throws -> SuiteResult {
        let results = session.run(suites: [.decode])
        try #require(results.count == 1)
        return results[0]
    }

    // MARK: Signals the plugin raises itself (item 7)

    @Test func aDecoderThatRaisesSIGSEGVOnOneCodeFails() throws {
        let lib = try PluginFixture.library(["-DBUG_RAISE_AT_CODE=0x42"])
        let session = try PluginSession(try PluginFixture.configuration(lib))
        defer { session.close() }
        let r = try decode(session)
        #expect(!r.passed)
        #expect(r.mismatches == 1 && r.covered == 255, "every other code is still checked")
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x42" && c.gotCode == "crash")
        #expect(c.gotValue == "crashed: SIGSEGV (signal 11)")
    }

    @Test func anEncoderThatRaisesSIGBUSInTheSweepFails() throws {
        let lib = try PluginFixture.library(["-DBUG_RAISE_AT=300.0f", "-DBUG_RAISE_SIGNAL=SIGBUS"])
        let session = try PluginSession(try PluginFixture.configuration(lib))
        defer { session.close() }
        let window = PluginFixture.window(around: 300, radius: 1 << 12)
        let r = session.run(suites: [.exhaustiveFloat32], patterns: window)[0]
        #expect(!r.passed && r.mismatches == 1 && r.covered == UInt64(window.count) - 1)
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x43960000" && c.gotCode == "crash")
        #expect(c.gotValue == "crashed: SIGBUS (signal 7)")
    }

    /// The plugin's own handler unprotects the guard page, so its store past out[n-1] lands:
    /// the worker still finds the bytes in the guard area.
    @Test func aPluginHandlerThatUnprotectsTheGuardPageDoesNotHideTheWrite() throws {
        let lib = try PluginFixture.library(["-DBUG_HIDE_OOB"])
        let session = try PluginSession(try PluginFixture.configuration(lib, maxIsolatedFaults: 1))
        defer { session.close() }
        let r = session.run(suites: [.exhaustiveFloat32], patterns: 0..<10_000)[0]
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        #expect(c.gotCode == "out-of-bounds")
        #expect(c.gotValue == "out-of-bounds write: wrote out[n] (past the end)")
    }

    /// The plugin's own handler jumps past the faulting store: nothing lands anywhere, but the
    /// plugin replaced the handler that catches out-of-bounds accesses, which fails the call.
    @Test func aPluginHandlerThatSkipsTheFaultingStoreFails() throws {
        let lib = try PluginFixture.library(["-DBUG_SKIP_OOB"])
        let session = try PluginSession(try PluginFixture.configuration(lib, maxIsolatedFaults: 1))
        defer { session.close() }
        let r = session.run(suites: [.exhaustiveFloat32], patterns: 0..<10_000)[0]
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        #expect(c.gotCode == "signal handler")
        #expect(c.gotValue == "replaced quantcheck's SIGSEGV handler (which would hide out-of-bounds accesses)")
    }

    // MARK: Grandchildren (item 8)

    /// Processes (not zombies) whose command line names `library`: the worker and anything it
    /// forked (a forked child keeps the worker's command line).
    static func liveProcesses(naming library: String) -> [pid_t] {
        liveProcesses { $0.contains(library) }
    }

    /// Processes (not zombies, not this one) whose arguments satisfy `match`.
    static func liveProcesses(where match: ([String]) -> Bool) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), pid != getpid(),
                let statBytes = procFileContents("/proc/\(name)/stat")
            else { return nil }
            let stat = String(decoding: statBytes, as: UTF8.self)
            guard let close = stat.lastIndex(of: ")"), stat.distance(from: close, to: stat.endIndex) > 2 else { return nil }
            // Field 3, after "pid (comm) ": the state. Zombies hold no descriptors or memory.
            let state = stat[stat.index(close, offsetBy: 2)]
            guard state != "Z", let cmdline = procFileContents("/proc/\(name)/cmdline") else { return nil }
            let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return match(args) ? pid : nil
        }
    }

    /// The bytes of a `/proc` file, read with `read(2)`: `/proc` files report size 0, and
    /// Foundation's `FileManager.contents(atPath:)` leaks a 4 KiB buffer per such read
    /// (LeakSanitizer, swift 6.3), which failed the ASan CI step.
    static func procFileContents(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// `liveProcesses` once they are gone, or after two seconds: kill(SIGKILL) returns before
    /// the killed processes have run down.
    static func leftBehind(naming library: String) -> [pid_t] {
        leftBehind { $0.contains(library) }
    }

    static func leftBehind(where match: ([String]) -> Bool) -> [pid_t] {
        let deadline = Date().addingTimeInterval(2)
        var left = liveProcesses(where: match)
        while !left.isEmpty, Date() < deadline {
            usleep(20_000)
            left = liveProcesses(where: match)
        }
        return left
    }

    @Test func forkedChildrenAreKilledWithTheWorkerAndShutdownIsPrompt() throws {
        let lib = try PluginFixture.library(["-DBUG_FORK_SLEEPER"])
        let session = try PluginSession(try PluginFixture.configuration(lib))
        let r = try decode(session)
        #expect(r.passed, "the fixture decodes correctly; forking is not a conversion error")
        #expect(!Self.liveProcesses(naming: session.library).isEmpty, "the sleeper was forked")
        let t0 = Date()
        session.close()
        let seconds = Date().timeIntervalSince(t0)
        #expect(seconds < 2, "shutdown waited \(seconds) s")
        let left = Self.leftBehind(naming: session.library)
        #expect(left.isEmpty, "processes left behind: \(left)")
        #expect(session.workerPIDs.allSatisfy(PluginFixture.reaped))
    }

    /// `system("sleep … &")`: the shell's background child is in the worker's group too.
    @Test func backgroundCommandsOfTheLibraryAreKilledWithTheWorker() throws {
        // A duration unique to this test process, to recognise its `sleep` among all processes.
        let duration = "100.\(getpid())"
        let lib = try PluginFixture.library(["-DBUG_SYSTEM_SLEEPER=\(duration)"])
        let session = try PluginSession(try PluginFixture.configuration(lib))
        let r = try decode(session)
        #expect(r.passed)
        let isSleeper = { (args: [String]) in args == ["sleep", duration] }
        // system() returns once the shell has exited; its background child may not have
        // executed `sleep` yet.
        let deadline = Date().addingTimeInterval(5)
        while Self.liveProcesses(where: isSleeper).isEmpty, Date() < deadline { usleep(10_000) }
        #expect(!Self.liveProcesses(where: isSleeper).isEmpty, "the library started its sleep")
        let t0 = Date()
        session.close()
        #expect(Date().timeIntervalSince(t0) < 2)
        let left = Self.leftBehind(where: isSleeper)
        #expect(left.isEmpty, "processes left behind: \(left)")
    }

    /// quantcheck killed outright (kill -9, or Ctrl-C) while the plugin hangs: the worker dies
    /// of its parent-death signal, and what the plugin started must die with it.
    @Test func whatThePluginStartedDiesWhenQuantcheckIsKilled() throws {
        let duration = "101.\(getpid())"
        let lib = try PluginFixture.library(["-DBUG_SYSTEM_SLEEPER=\(duration)", "-DBUG_HANG_AT_CODE=0x42"])
        // posix_spawn and waitpid, not Process: waitUntilExit would wait for the sleeper too.
        let exe = try PluginFixture.quantcheck()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let args = [exe, "conform", "--library", lib, "--format", "e4m3fn", "--mode", "sat", "--suite", "decode", "--quiet", "--timeout", "60"]
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, exe, &actions, nil, &cArgs, environ) == 0)
        let isSleeper = { (args: [String]) in args == ["sleep", duration] }
        let deadline = Date().addingTimeInterval(20)
        while Self.liveProcesses(where: isSleeper).isEmpty, Date() < deadline { usleep(20_000) }
        let started = !Self.liveProcesses(where: isSleeper).isEmpty
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        try #require(started, "the plugin started its sleep")
        let sleepers = Self.leftBehind(where: isSleeper)
        #expect(sleepers.isEmpty, "processes left behind: \(sleepers)")
        let workers = Self.leftBehind(naming: lib)
        #expect(workers.isEmpty, "workers left behind: \(workers)")
    }

    /// PR_SET_PDEATHSIG fires when the *thread* that started a process ends, not the process:
    /// a worker started on a thread that then exits (a GCD worker thread of the sweep that
    /// goes idle) must live on and serve later requests, not die of SIGKILL as a "crash".
    @Test func aWorkerOutlivesTheThreadThatStartedIt() throws {
        let configuration = try PluginFixture.configuration(try PluginFixture.library(["-DSATURATE=1"]))
        final class Box: @unchecked Sendable {
            var session: PluginSession?
            var error: (any Error)?
        }
        let box = Box()
        let thread = Thread {
            do { box.session = try PluginSession(configuration) } catch { box.error = error }
        }
        thread.start()
        while !thread.isFinished { usleep(1000) }
        usleep(300_000)  // isFinished is set just before the thread itself ends
        if let e = box.error { throw e }
        let session = try #require(box.session)
        defer { session.close() }
        let r = try decode(session)
        #expect(r.passed, "\(r.counterexamples.first.map { "\($0)" } ?? "")")
        #expect(session.workerPIDs.count == 1, "the first worker served the request")
    }

    @Test func aCrashAfterAForkIsReportedAsTheCrash() throws {
        let lib = try PluginFixture.library(["-DBUG_FORK_SLEEPER", "-DBUG_CRASH_AT_CODE=0x42"])
        let session = try PluginSession(try PluginFixture.configuration(lib, timeout: 4))
        let t0 = Date()
        let r = try decode(session)
        let seconds = Date().timeIntervalSince(t0)
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x42" && c.gotCode == "crash", "\(c.gotValue)")
        #expect(c.gotValue == "crashed: SIGSEGV (signal 11)")
        #expect(r.mismatches == 1 && r.covered == 255)
        #expect(seconds < 4, "a crash is seen when it happens, not at the time limit (\(seconds) s)")
        session.close()
        let left = Self.leftBehind(naming: session.library)
        #expect(left.isEmpty, "processes left behind: \(left)")
    }

    // MARK: Misleading messages (item 12)

    /// Under PTRACE_TRACEME the crashing worker stops (traced by quantcheck) instead of dying.
    @Test func aCrashUnderPtraceTraceMeIsReportedAsTheCrash() throws {
        let lib = try PluginFixture.library(["-DBUG_PTRACE_ME", "-DBUG_CRASH_AT_CODE=0x42"])
        let session = try PluginSession(try PluginFixture.configuration(lib, timeout: 4))
        let t0 = Date()
        let r = try decode(session)
        let seconds = Date().timeIntervalSince(t0)
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x42" && c.gotCode == "crash", "\(c.gotValue)")
        #expect(c.gotValue.hasPrefix("crashed: SIGSEGV (signal 11)"))
        #expect(r.mismatches == 1 && r.covered == 255)
        #expect(seconds < 4, "\(seconds) s")
        let pids = session.workerPIDs
        session.close()
        #expect(pids.allSatisfy(PluginFixture.reaped), "no stopped or zombie workers")
    }

    @Test func aWorkerThatLostItsSocketIsNotReportedAsAPluginExit() throws {
        let closer = try PluginSession(try PluginFixture.configuration(try PluginFixture.library(["-DBUG_CLOSE_FDS_AT_CODE=0x42"])))
        defer { closer.close() }
        let lost = try decode(closer)
        let c = try #require(lost.counterexamples.first)
        #expect(c.inputBits == "0x42" && c.gotCode == "lost connection")
        #expect(c.gotValue == "the worker lost its connection to quantcheck (the plugin closed or replaced its descriptors?)")

        // A plugin that calls exit(1) is still reported as such.
        let exiter = try PluginSession(try PluginFixture.configuration(try PluginFixture.library(["-DBUG_EXIT_AT_CODE=0x42"])))
        defer { exiter.close() }
        let exited = try decode(exiter)
        let e = try #require(exited.counterexamples.first)
        #expect(e.inputBits == "0x42" && e.gotCode == "exit")
        #expect(e.gotValue == "the plugin exited the process (status 1)")
    }

    // MARK: Closed standard descriptors (item 9)

    /// Runs `quantcheck ARGS` with descriptors 1 and 2 closed; returns its exit status.
    static func runWithStdoutAndStderrClosed(_ args: [String]) throws -> Int32 {
        let exe = try PluginFixture.quantcheck()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, 1)
        posix_spawn_file_actions_addclose(&actions, 2)
        var cArgs: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let e = posix_spawn(&pid, exe, &actions, nil, &cArgs, environ)
        try #require(e == 0, "posix_spawn: \(String(cString: strerror(e)))")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        try #require(status & 0x7F == 0, "quantcheck was killed by signal \(status & 0x7F)")
        return (status >> 8) & 0xFF
    }

    @Test func aPluginPrintingABannerPassesWithStdoutAndStderrClosed() throws {
        let lib = try PluginFixture.library(["-DBANNER"])
        // With the descriptors open the banner goes to quantcheck's stderr and the check passes.
        let open = try ConformCommandTests.conform(["--library", lib, "--format", "e4m3fn", "--mode", "sat", "--suite", "decode", "--quiet"])
        #expect(open.status == 0, "\(open.stdout)\(open.stderr)")
        #expect(open.stderr.contains("ocp_fp8 fixture: decoder ready"))

        // Several requests after the banner: a banner that went into the socket garbles the next.
        let json = PluginFixture.directory + "/closed-fds.json"
        try? FileManager.default.removeItem(atPath: json)
        let status = try Self.runWithStdoutAndStderrClosed([
            "conform", "--library", lib, "--format", "e4m3fn", "--mode", "sat", "--suite", "decode", "--suite", "roundtrip",
            "--suite", "exhaustive-f16", "--quiet", "--json", json,
        ])
        #expect(status == 0, "conform exited \(status) with stdout and stderr closed")
        let text = try String(contentsOfFile: json, encoding: .utf8)
        #expect(text.contains("\"decode\""))
    }

    // MARK: Plugin text (item 10)

    @Test func controlCharactersInThePluginInfoAreEscaped() throws {
        let lib = try PluginFixture.library(["-DBUG_INFO_CONTROL"])
        let session = try PluginSession(try PluginFixture.configuration(lib))
        defer { session.close() }
        let expected = "\\u{1b}[2J\\u{7}ocp_fp8 \\u{1b}]0;owned\\u{7}fixture"
        #expect(session.hello.info == expected)
        let r = try decode(session)
        #expect(r.passed)
        #expect(r.parameters["plugin"] == expected, "what reports and accuracy.md show")
        let cli = try ConformCommandTests.conform(["--library", lib, "--format", "e4m3fn", "--mode", "sat", "--suite", "decode"])
        #expect(cli.status == 0)
        #expect(!cli.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(cli.stdout)")
        #expect(cli.stdout.contains(expected))
    }

    /// What the plugin prints reaches quantcheck's stderr escaped, line by line.
    @Test func controlCharactersThePluginPrintsAreEscaped() throws {
        let lib = try PluginFixture.library(["-DBUG_PRINT_CONTROL"])
        let cli = try ConformCommandTests.conform(["--library", lib, "--format", "e4m3fn", "--mode", "sat", "--suite", "decode", "--quiet"])
        #expect(cli.status == 0, "\(cli.stdout)\(cli.stderr)")
        #expect(!cli.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(cli.stderr)")
        #expect(cli.stderr.contains("\\u{1b}[2J\\u{7}cleared by stdout\n"))
        #expect(cli.stderr.contains("\\u{1b}]0;owned\\u{7}titled by stderr\n"))
    }
}
