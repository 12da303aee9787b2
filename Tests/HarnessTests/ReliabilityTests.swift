import Conformance
import Foundation
import Testing
@testable import Harness

#if canImport(Glibc)
import Glibc
#endif

/// Regression tests of the second reliability campaign (issue 15): each reproduces one
/// hostile-but-realistic use that broke a promise, and fails on the code before its fix.
@Suite("Reliability: campaign 2", .serialized)
struct ReliabilityTests {
    let dir = makeTempDirectory("reliability2")

    // MARK: - 1. Verdicts come from the evidence

    /// A two-shard pair of real-looking files; `tamper` edits shard 1.
    func shardFiles(tamper: (inout SuiteResult) -> Void) throws -> (String, String) {
        let half = UInt64(1) << 31
        func file(_ k: Int) throws -> ResultsFile {
            let range = InputRange(lower: UInt64(k - 1) * half, upper: UInt64(k) * half)
            let r = SuiteResult(suite: "exhaustive-f32", caseName: "e2m1fn/sat/rne", passed: true, covered: half,
                                expected: half, mismatches: 0, parameters: ["patterns": "\(range.lower)..<\(range.upper)"])
            return ResultsFile(stamp: fixedStamp(), suites: [r],
                               shard: ShardInfo(index: k, count: 2, domain: .all32, range: range))
        }
        var s1 = try file(1)
        tamper(&s1.suites[0])
        let p1 = dir + "/s1.json", p2 = dir + "/s2.json"
        FileManager.default.createFile(atPath: p1, contents: s1.encoded())
        FileManager.default.createFile(atPath: p2, contents: try file(2).encoded())
        return (p1, p2)
    }

    static let tamperings: [(String, (inout SuiteResult) -> Void, String)] = [
        ("mismatches set to 7", { $0.mismatches = 7 }, "states passed but has 7 mismatches"),
        ("every input wrong", { $0.mismatches = $0.covered }, "states passed but has 2147483648 mismatches"),
        ("expected removed, covered 0", { $0.expected = nil; $0.covered = 0 }, "states passed but covered no inputs"),
        ("expected removed", { $0.expected = nil; $0.covered = 5 }, "states passed but lacks 'expected', which suite 'exhaustive-f32' always states"),
        ("coverage short", { $0.covered -= 1 }, "states passed but covered 2147483647 of 2147483648 expected inputs"),
    ]

    /// merge, report, compare and gate (all through `ResultsFile.load`) refuse a file whose
    /// stored verdict contradicts its counts: exit 2, one line naming the case.
    @Test func tamperedVerdictIsRefusedByEveryConsumer() throws {
        for (what, tamper, message) in Self.tamperings {
            let (s1, s2) = try shardFiles(tamper: tamper)
            let line = "quantcheck: error: results file 's1.json' is inconsistent: suites[0] 'exhaustive-f32 e2m1fn/sat/rne': \(message)\n"
            let merge = try CLI.run(["merge", "s1.json", "s2.json", "--json", "m.json"], cwd: dir)
            #expect(merge.status == 2, "\(what): merge exit \(merge.status)")
            #expect(merge.stderr == line, "\(what)")
            let report = try CLI.run(["report", "--input", "s1.json", "--output", "rep"], cwd: dir)
            #expect(report.status == 2, "\(what): report exit \(report.status)")
            #expect(report.stderr == line, "\(what)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/m.json"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/rep/summary.md"))
            _ = (s1, s2)
        }
    }

    /// The untampered pair still merges and passes (the checks above are not a blanket refusal).
    @Test func honestShardsMerge() throws {
        _ = try shardFiles { _ in }
        let r = try CLI.run(["merge", "s1.json", "s2.json", "--json", "m.json"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("merge: PASS (2 shards, 1 cases, 4294967296 inputs)"))
    }

    /// A stored `passed: false` is kept: only the direction that could hide a failure is refused.
    @Test func storedFailureStaysAFailure() throws {
        let r = SuiteResult(suite: "decode", caseName: "e4m3fn", passed: false, covered: 256, expected: 256, mismatches: 0)
        let data = ResultsFile(stamp: fixedStamp(), suites: [r]).encoded()
        let loaded = try ResultsFile.decode(data)
        #expect(!loaded.suites[0].verdictPassed)
    }

    /// compare (and report --baseline) against a baseline sharing no benchmark names is an error,
    /// not "No regression".
    @Test func compareWithNothingInCommonIsAnError() throws {
        let base = ResultsFile(stamp: fixedStamp(), benchmarks: [sampleBench("codec.encode/a", median: 1)])
        let head = ResultsFile(stamp: fixedStamp(), benchmarks: [sampleBench("codec.decode/b", median: 1)])
        FileManager.default.createFile(atPath: dir + "/base.json", contents: base.encoded())
        FileManager.default.createFile(atPath: dir + "/head.json", contents: head.encoded())
        let r = try CLI.run(["compare", "base.json", "head.json"], cwd: dir)
        #expect(r.status == 2)
        #expect(r.stderr == "quantcheck: error: 'head.json' and the baseline 'base.json' share no benchmark names; nothing was compared\n")
        let rep = try CLI.run(["report", "--input", "head.json", "--baseline", "base.json", "--output", "rep"], cwd: dir)
        #expect(rep.status == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/rep/summary.md"))
    }

    // MARK: - 2. Interrupted writes leave nothing behind

    /// Files in `dir` other than `keep`.
    func stray(_ keep: Set<String>) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { !keep.contains($0) }.sorted()
    }

    /// Starts `quantcheck args` in `dir` and returns the process (stdio to /dev/null).
    func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(CLI.binary))
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// SIGINT, SIGTERM and SIGKILL at several moments of a large `encode --output`: the output
    /// is absent or complete, and no `.NAME.tmp-*` file is ever left (the output streams into
    /// an unnamed O_TMPFILE, so even SIGKILL leaves nothing).
    @Test func interruptedEncodeLeavesNothing() throws {
        // 8 Mi Float32 (32 MiB): long enough in a debug build to be interrupted mid-write.
        let n = 8 << 20
        let xs = (0..<n).map { Float(bitPattern: UInt32(truncatingIfNeeded: $0 &* 2_654_435_761)) }
        try NPY.write(try NPYArray(.float32(xs)), to: dir + "/big.npy")
        let keep: Set = ["big.npy", "out.npy"]
        for sig in [SIGINT, SIGTERM, SIGKILL] {
            for delay in [0.05, 0.2, 0.5] {
                try? FileManager.default.removeItem(atPath: dir + "/out.npy")
                let p = try start(["encode", "--format", "e4m3fn", "--input", "big.npy", "--output", "out.npy"])
                usleep(UInt32(delay * 1e6))
                kill(p.processIdentifier, sig)
                p.waitUntilExit()
                #expect(try stray(keep) == [], "signal \(sig) after \(delay) s")
                if FileManager.default.fileExists(atPath: dir + "/out.npy") {
                    // Finished before the signal: then it is whole.
                    #expect(try NPY.read(path: dir + "/out.npy").count == n)
                }
            }
        }
    }

    /// The fallback path (named temporary file) is removed on SIGINT/SIGTERM by the handler.
    @Test func temporaryNamesAreRegisteredForCleanup() throws {
        let file = try PendingFile(path: dir + "/x.json")
        file.discard()
        #expect(try stray([]) == [])
        let slot = TemporaryFileCleanup.register(dir + "/.x.tmp-test")
        #expect(slot != nil)
        TemporaryFileCleanup.unregister(slot)
    }

    // MARK: - 3. report is all old or all new

    @Test func reportIsAllOldOrAllNew() throws {
        let first = ResultsFile(stamp: fixedStamp(), suites: [sampleSuite("decode", caseName: "first")])
        let second = ResultsFile(stamp: fixedStamp(), suites: [sampleSuite("decode", caseName: "second")])
        FileManager.default.createFile(atPath: dir + "/a.json", contents: first.encoded())
        FileManager.default.createFile(atPath: dir + "/b.json", contents: second.encoded())
        #expect(try CLI.run(["report", "--input", "a.json", "--output", "rep"], cwd: dir).status == 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: dir + "/rep").sorted()
        let conformance = try String(contentsOfFile: dir + "/rep/conformance.md", encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir + "/rep/summary.md")
        try FileManager.default.createDirectory(atPath: dir + "/rep/summary.md", withIntermediateDirectories: false)
        let r = try CLI.run(["report", "--input", "b.json", "--output", "rep"], cwd: dir)
        #expect(r.status == 2)
        #expect(r.stderr == "quantcheck: error: output path 'rep/summary.md' is a directory; give a file path\n")
        #expect(try String(contentsOfFile: dir + "/rep/conformance.md", encoding: .utf8) == conformance)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/rep").sorted() == before)
    }

    // MARK: - 4. Any shard count in O(1) memory

    @Test func shardRangeIsArithmetic() throws {
        let last = try InputRange.all32.part((1 << 32) - 1, of: 1 << 32)
        #expect(last == InputRange(lower: (1 << 32) - 1, upper: 1 << 32))
        #expect(try ShardSpec(index: 2, count: 1 << 32).range(of: .all32) == InputRange(lower: 1, upper: 2))
        for n in [1, 2, 3, 7, 1000] {
            let r = InputRange(lower: 10, upper: 10_017)
            #expect(try r.split(into: n) == (0..<n).map { try r.part($0, of: n) })
        }
    }

    @Test func hugeShardCountsRunInstantly() throws {
        let t0 = Date()
        let r = try CLI.run(["verify", "--suite", "exhaustive-f32", "--format", "e2m1fn", "--shard", "2/4294967296", "--quiet"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        var env = ProcessInfo.processInfo.environment
        env["QUANTCHECK_SHARD_INDEX"] = "4294967296"
        env["QUANTCHECK_SHARD_COUNT"] = "4294967296"
        let auto = try CLI.run(["verify", "--suite", "exhaustive-f32", "--format", "e2m1fn", "--shard", "auto", "--quiet"],
                               cwd: dir, environment: env)
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(Date().timeIntervalSince(t0) < 10)
    }

    // MARK: - 5, 9 (host). Closed or full standard streams

    /// Runs `quantcheck args` through `/bin/sh -c 'REDIRECTIONS; exec quantcheck …'`.
    func shell(_ redirections: String, _ args: [String]) throws -> Int32 {
        let binary = try #require(CLI.binary)
        let quoted = ([binary] + args).map { "'\($0)'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(redirections); exec \(quoted)"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    }

    @Test func closedStderrStillExitsTwo() throws {
        #expect(try shell("exec 2>&-", ["verify", "--format", "e9m9"]) == 2)
    }

    @Test func fullStderrStillWritesResults() throws {
        let status = try shell("exec 2>/dev/full", ["verify", "--suite", "decode", "--format", "e4m3fn", "--json", "r.json"])
        #expect(status == 0)
        #expect(try ResultsFile.load(from: dir + "/r.json").suites.count == 1)
    }

    @Test func allStandardDescriptorsClosed() throws {
        let status = try shell("exec 0<&- 1>&- 2>&-", ["verify", "--suite", "decode", "--format", "e4m3fn", "--json", "r.json"])
        #expect(status == 0)
        #expect(try ResultsFile.load(from: dir + "/r.json").suites.count == 1)
    }

    // MARK: - 6. Bounded memory, and no trap when memory runs out

    /// Decoding 64 Mi codes (256 MiB of Float32 out) under a 600 MB address-space limit: the
    /// whole-array decode needed the input twice and the output twice (≈ 700 MB); streaming
    /// needs a few 2 Mi-element buffers.
    ///
    /// Under AddressSanitizer or ThreadSanitizer (CI) the binary maps terabytes of shadow memory
    /// and cannot start under any address-space limit: there the decode runs without one.
    @Test func decodeStreamsUnderAMemoryLimit() throws {
        let n = 64 << 20
        try NPY.write(try NPYArray(.uint8([UInt8](repeating: 0x38, count: n))), to: dir + "/codes.npy")
        let limit = Self.sanitized ? "true" : "ulimit -v 600000"
        let status = try shell(limit, ["decode", "--format", "e4m3fn", "--input", "codes.npy", "--output", "out.npy"])
        #expect(status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/out.npy")
        #expect((attributes[.size] as? Int) == 128 + 4 * n)
    }

    /// An allocation the system refuses is a typed error with one line, not a trap.
    /// (Sanitizer allocators abort on such a request instead of returning NULL: skipped there.)
    @Test func refusedAllocationIsAnError() throws {
        if !Self.sanitized {
            #expect(throws: ScratchBufferError.self) { _ = try ScratchBuffer(byteCount: Int.max / 2) }
        }
        #expect(ScratchBufferError(byteCount: 12).description == "out of memory: cannot allocate 12 bytes")
    }

    /// Whether this test process (and so the `quantcheck` built beside it) runs under ASan or
    /// TSan: their runtimes define these entry points.
    static let sanitized: Bool = {
        let handle = dlopen(nil, RTLD_NOW)
        defer { if let handle { dlclose(handle) } }
        return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
    }()

    // MARK: - 11. No stray temporary directory per --json run

    @Test func jsonRunLeavesNoTemporaryDirectory() throws {
        let tmp = dir + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        var env = ProcessInfo.processInfo.environment
        env["TMPDIR"] = tmp
        let r = try CLI.run(["verify", "--suite", "decode", "--format", "e4m3fn", "--json", "r.json", "--quiet"], cwd: dir, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
    }

    // MARK: - 12. A device is not an empty array

    @Test func characterDeviceInputIsRefused() throws {
        let r = try CLI.run(["encode", "--format", "e4m3fn", "--dtype", "float32", "--input", "/dev/zero", "--output", "o.raw"], cwd: dir)
        #expect(r.status == 2)
        #expect(r.stderr == "quantcheck: error: '/dev/zero': cannot read: is a character device, not a regular file\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.raw"))
    }
}
