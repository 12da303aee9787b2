import Foundation
import Testing
import Formats
import Conformance
@testable import PluginHost

#if canImport(Glibc)
import Glibc
#endif

/// C plugins built from `Tests/PluginFixtures/ocp_fp8.c` at test time with the system compiler,
/// hosted by the `quantcheck` binary of this build (its hidden `plugin-worker` subcommand).
enum PluginFixture {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let source = packageRoot.appendingPathComponent("Tests/PluginFixtures/ocp_fp8.c").path
    static let include = packageRoot.appendingPathComponent("Sources/QuantCheckPlugin/include").path

    /// Libraries already compiled, by source and flags; held for the whole compile so that
    /// parallel tests asking for the same library build it once.
    private static let built = Locked<[String: String]>([:])
    static let directory: String = {
        let d = NSTemporaryDirectory() + "quantcheck-plugin-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    struct CompileError: Error, CustomStringConvertible {
        let description: String
    }

    /// Compiles a C file into a shared library (cached per flag set).
    static func library(_ defines: [String], source: String = PluginFixture.source, name: String? = nil) throws -> String {
        let key = ([source] + defines).joined(separator: " ")
        return try built.withLock { built in
            if let path = built[key] { return path }
            let tag = name ?? defines.map { $0.replacingOccurrences(of: "-D", with: "") }.joined(separator: "_")
                .replacingOccurrences(of: "=", with: "-").replacingOccurrences(of: ".", with: "p")
            let out = "\(directory)/lib\(tag.isEmpty ? "plain" : tag).so"
            try run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-O2", "-Wall", "-I", include] + defines + ["-o", out, source, "-lm"])
            built[key] = out
            return out
        }
    }

    static func run(_ exe: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CompileError(description: "\(args.joined(separator: " ")): \(String(decoding: data, as: UTF8.self))")
        }
    }

    /// The `quantcheck` executable next to the test bundle (SwiftPM builds every product for
    /// `swift test`).
    static func quantcheck() throws -> String {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let candidate = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("quantcheck").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw CompileError(description: "quantcheck executable not found at \(candidate): run `swift build` first")
        }
        return candidate
    }

    /// Small requests and chunks so that windows span several requests and calls and a fault
    /// is isolated in a dozen probes.
    static func configuration(
        _ library: String, format: FloatFormat = .e4m3fn, overflow: OverflowPolicy = .saturating,
        symbols: [String] = [], timeout: Double = 20, maxIsolatedFaults: Int = SuiteResult.counterexampleLimit,
        nanMatching: NaNMatching = .canonical
    ) throws -> PluginConfiguration {
        PluginConfiguration(
            library: library, format: format, policy: ConversionPolicy(overflow: overflow),
            symbols: try PluginSymbols(format: format, overrides: symbols),
            launch: PluginWorkerLaunch(executable: try quantcheck()), timeout: timeout, threads: 2,
            batch: 1 << 15, chunk: 4093, minimumProbeTimeout: 0.25, maxIsolatedFaults: maxIsolatedFaults,
            nanMatching: nanMatching)
    }

    static func bits(_ x: Float) -> UInt64 { UInt64(x.bitPattern) }

    /// `radius` patterns on each side of `x`'s bit pattern.
    static func window(around x: Float, radius: UInt64) -> Range<UInt64> {
        (bits(x) - radius)..<(bits(x) + radius)
    }

    /// True when no process with this id exists any more (reaped; a zombie would still exist).
    static func reaped(_ pid: pid_t) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }
}

/// Runs the sweep over `window` and returns the one exhaustive-f32 result.
private func sweep(_ session: PluginSession, _ window: Range<UInt64>) throws -> SuiteResult {
    let results = session.run(suites: [.exhaustiveFloat32], patterns: window)
    try #require(results.count == 1)
    return results[0]
}

@Suite struct PluginCorrectKernelTests {
    /// Windows where encoders usually go wrong: zeros and the smallest subnormals, the subnormal
    /// range, a carry into the next binade, the overflow threshold, ±inf and NaN, and the sign flip.
    static let windows: [(String, Range<UInt64>)] = [
        ("zero and tiny", 0..<(1 << 16)),
        ("subnormals", PluginFixture.bits(0x1p-9)..<(PluginFixture.bits(0x1p-9) + (1 << 18))),
        ("carry at 15.5", PluginFixture.window(around: 15.5, radius: 1 << 15)),
        ("overflow 448…480", PluginFixture.bits(448)..<PluginFixture.bits(481)),
        ("inf and NaN", 0x7F7F_0000..<0x7F81_0000),
        ("negative zero, tiny negatives", 0x8000_0000..<0x8001_0000),
        ("negative overflow and -inf", PluginFixture.bits(-460)..<PluginFixture.bits(-460) + (1 << 17)),
        ("top of the range", 0xFFFF_0000..<0x1_0000_0000),
    ]

    @Test(arguments: [OverflowPolicy.saturating, .nonSaturating])
    func correctE4M3FNPassesEverySuite(overflow: OverflowPolicy) throws {
        let lib = try PluginFixture.library(["-DSATURATE=\(overflow == .saturating ? 1 : 0)"])
        let session = try PluginSession(try PluginFixture.configuration(lib, overflow: overflow))
        defer { session.close() }
        #expect(session.hello.found == Set(PluginEntryPoint.allCases))
        #expect(session.hello.info == "ocp_fp8 test fixture: e4m3fn, \(overflow.rawValue)")
        let plan = try session.plan([])
        #expect(plan == ConversionSuite.allCases.filter { $0 != .givenInputs })
        #expect(try session.plan([], givenInputs: true) == ConversionSuite.allCases)
        // Inputs the user supplies go through the library too.
        let given = session.run(suites: [.givenInputs], givenInputs: .float64([1, -431.99999999999994, 464, 500, .nan]))
        #expect(given.count == 1 && given[0].passed && given[0].covered == 5)
        let lists = session.run(suites: plan.filter { $0 != .exhaustiveFloat32 }, float64RandomCount: 4000)
        #expect(lists.map(\.suite) == ["decode", "roundtrip", "roundtrip", "exhaustive-f16", "exhaustive-f16", "float64"])
        for r in lists {
            #expect(r.passed, "\(r.suite) \(r.caseName): \(r.counterexamples.first.map { "\($0)" } ?? r.parameters["error"] ?? "")")
            #expect(r.covered == r.expected)
        }
        #expect(lists[0].covered == 256)
        #expect(lists[3].covered == 65536 && lists[4].covered == 65536)
        for (name, w) in Self.windows {
            let r = try sweep(session, w)
            #expect(r.passed, "\(name): \(r.counterexamples.first.map { "\($0)" } ?? "")")
            #expect(r.covered == UInt64(w.count) && r.expected == UInt64(w.count))
        }
    }

    @Test func correctE5M2PassesItsSuites() throws {
        let lib = try PluginFixture.library(["-DFORMAT_E5M2", "-DSATURATE=0"])
        let session = try PluginSession(try PluginFixture.configuration(lib, format: .e5m2, overflow: .nonSaturating))
        defer { session.close() }
        for r in session.run(suites: [.decode, .roundtrip, .exhaustiveHalf, .float64], float64RandomCount: 2000) {
            #expect(r.passed, "\(r.suite) \(r.caseName): \(r.counterexamples.first.map { "\($0)" } ?? "")")
        }
        // 61440 is the tie between max (57344) and 2^16: it overflows to +inf under nonsat.
        let r = try sweep(session, PluginFixture.window(around: 61440, radius: 1 << 16))
        #expect(r.passed && r.covered == 1 << 17)
    }

    /// The README's example kernel (Tests/PluginFixtures/e4m3fn_example.c) stays correct.
    @Test func readmeExampleKernelPasses() throws {
        let example = PluginFixture.packageRoot.appendingPathComponent("Tests/PluginFixtures/e4m3fn_example.c").path
        let lib = try PluginFixture.library([], source: example, name: "e4m3fn_example")
        let session = try PluginSession(try PluginFixture.configuration(lib))
        defer { session.close() }
        #expect(session.hello.found == [.float32, .decode])
        #expect(try session.plan([]) == [.decode, .roundtrip, .exhaustiveFloat32])
        for r in session.run(suites: [.decode, .roundtrip]) { #expect(r.passed, "\(r.suite)") }
        for (name, w) in Self.windows {
            let r = try sweep(session, w)
            #expect(r.passed, "\(name): \(r.counterexamples.first.map { "\($0)" } ?? "")")
        }
    }

    /// The same kernel claimed under the wrong mode must fail: the check is of the claim.
    @Test func claimingTheWrongModeFails() throws {
        let lib = try PluginFixture.library(["-DSATURATE=1"])
        let session = try PluginSession(try PluginFixture.configuration(lib, overflow: .nonSaturating))
        defer { session.close() }
        let r = try sweep(session, PluginFixture.bits(464)..<PluginFixture.bits(464) + 16)
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x43e80001" && c.expectedCode == "0x7f" && c.gotCode == "0x7e")
    }

    /// Thread count and request size do not change what is found, nor the order it is listed in.
    @Test func resultsAreIndependentOfThreadsAndBatches() throws {
        let lib = try PluginFixture.library(["-DSATURATE=1", "-DBUG_TIES_AWAY"])
        let window = PluginFixture.bits(1)..<PluginFixture.bits(2)
        var seen: [[Counterexample]] = []
        for (threads, batch) in [(1, 1 << 20), (2, 1 << 15), (2, 12_345)] {
            var c = try PluginFixture.configuration(lib)
            c.threads = threads
            c.batch = batch
            let session = try PluginSession(c)
            defer { session.close() }
            let r = try sweep(session, window)
            #expect(r.mismatches == 4 && r.covered == UInt64(window.count))  // ties above 1, 1.25, 1.5, 1.75
            seen.append(r.counterexamples)
        }
        #expect(seen[0] == seen[1] && seen[1] == seen[2])
    }
}

/// Each deliberately wrong kernel must fail with a counterexample that names its bug.
@Suite struct PluginNegativeControlTests {
    @Test func subnormalFlushIsCaught() throws {
        let session = try PluginSession(try PluginFixture.configuration(try PluginFixture.library(["-DBUG_FLUSH_SUBNORMALS"])))
        defer { session.close() }
        let r = try sweep(session, PluginFixture.bits(0x1p-9)..<PluginFixture.bits(0x1p-9) + (1 << 18))
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        // 2^-9, the smallest subnormal, came out as +0.
        #expect(c.inputBits == "0x3b000000" && c.expectedCode == "0x01" && c.gotCode == "0x00")
        // Also through the Float16 entry point.
        let half = session.run(suites: [.exhaustiveHalf])
        #expect(half.allSatisfy { !$0.passed })
    }

    @Test func droppedMantissaCarryIsCaught() throws {
        let session = try PluginSession(try PluginFixture.configuration(try PluginFixture.library(["-DBUG_DROP_CARRY"])))
        defer { session.close() }
        let r = try sweep(session, PluginFixture.window(around: 15.5, radius: 1 << 16))
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        // 15.5 ties to 16 (0x58); the carry is lost and the code wraps to 8 (0x50).
        #expect(c.inputBits == "0x41780000" && c.expectedCode == "0x58" && c.gotCode == "0x50")
        #expect(c.gotValue == "8")
    }

    @Test func nanOnFiniteOverflowUnderSatIsCaught() throws {
        let session = try PluginSession(try PluginFixture.configuration(try PluginFixture.library(["-DBUG_NAN_ON_OVERFLOW"])))
        defer { session.close() }
        let r = try sweep(session, PluginFixture.bits(460)..<PluginFixture.bits(470))
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        // Just above the 464 tie: must saturate to 448 (0x7e), the kernel gives NaN (0x7f).
        #expect(c.inputBits == "0x43e80001" && c.expectedCode == "0x7e" && c.gotCode == "0x7f")
        // ±inf inputs are handled right by this kernel: the bug is in finite overflow only.
        let inf = try sweep(session, 0x7F80_0000..<0x7F80_0001)
        #expect(inf.passed)
    }

    /// E5M2 has three NaN codes per sign; a kernel answering 0x7F/0xFF (onnxruntime's choice)
    /// where the oracle's canonical NaN is 0x7E/0xFE is right under `class` and `sign` and
    /// wrong only when the claim is bit parity.
    @Test(arguments: [(NaNMatching.anyNaN, true), (.sign, true), (.canonical, false)])
    func anotherNaNCodeCountsOnlyUnderCanonical(_ rule: NaNMatching, passes: Bool) throws {
        let lib = try PluginFixture.library(["-DFORMAT_E5M2", "-DBUG_NAN_ALL_ONES"])
        let session = try PluginSession(try PluginFixture.configuration(lib, format: .e5m2, nanMatching: rule))
        defer { session.close() }
        let positive = try sweep(session, 0x7FBF_F000..<0x7FC0_1000)
        let negative = try sweep(session, 0xFFBF_F000..<0xFFC0_1000)
        #expect(positive.passed == passes && negative.passed == passes)
        #expect(positive.parameters["nan"] == rule.rawValue)
        if !passes {
            let c = try #require(positive.counterexamples.first)
            #expect(c.expectedCode == "0x7e" && c.gotCode == "0x7f")
            #expect(positive.mismatches == 0x2000 && negative.mismatches == 0x2000)
        }
        // The Float16 inputs take the same rule.
        let half = session.run(suites: [.exhaustiveHalf])
        #expect(half.allSatisfy { $0.passed == passes })
    }

    /// A kernel that drops the sign of a NaN passes only the `class` claim.
    @Test(arguments: [(NaNMatching.anyNaN, true), (.sign, false), (.canonical, false)])
    func aDroppedNaNSignCountsUnderSignAndCanonical(_ rule: NaNMatching, passes: Bool) throws {
        let lib = try PluginFixture.library(["-DBUG_NAN_SIGN_DROPPED"])
        let session = try PluginSession(try PluginFixture.configuration(lib, nanMatching: rule))
        defer { session.close() }
        let r = try sweep(session, 0xFFBF_F000..<0xFFC0_1000)
        #expect(r.passed == passes)
        if !passes {
            let c = try #require(r.counterexamples.first)
            #expect(c.expectedCode == "0xff" && c.gotCode == "0x7f")
        }
        // Positive NaNs are right under every rule.
        #expect(try sweep(session, 0x7FBF_F000..<0x7FC0_1000).passed)
    }

    /// The lenient NaN path still fails a number where the answer is a NaN: a saturating kernel
    /// claimed as non-saturating E4M3FN (where overflow is NaN) fails under `class`.
    @Test func aNumberWhereTheAnswerIsNaNFailsUnderClass() throws {
        let lib = try PluginFixture.library(["-DSATURATE=1"])
        let session = try PluginSession(try PluginFixture.configuration(lib, overflow: .nonSaturating, nanMatching: .anyNaN))
        defer { session.close() }
        let r = try sweep(session, PluginFixture.bits(460)..<PluginFixture.bits(500))
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x43e80001" && c.expectedCode == "0x7f" && c.gotCode == "0x7e")
    }

    @Test func tiesAwayFromZeroIsCaught() throws {
        let session = try PluginSession(try PluginFixture.configuration(try PluginFixture.library(["-DBUG_TIES_AWAY"])))
        defer { session.close() }
        let r = try sweep(session, PluginFixture.window(around: 1.0625, radius: 1 << 12))
        #expect(!r.passed && r.mismatches == 1)
        let c = try #require(r.counterexamples.first)
        // 1.0625 is the tie between 1 (0x38, even) and 1.125 (0x39).
        #expect(c.inputBits == "0x3f880000" && c.expectedCode == "0x38" && c.gotCode == "0x39")
        // Float64 midpoints catch it too.
        let f64 = session.run(suites: [.float64], float64RandomCount: 0)
        #expect(f64.count == 1 && !f64[0].passed)
    }

    @Test func crashOnOneInputIsIsolatedAndTheRestIsChecked() throws {
        let lib = try PluginFixture.library(["-DBUG_CRASH_AT=300.0f"])
        let session = try PluginSession(try PluginFixture.configuration(lib))
        let window = PluginFixture.window(around: 300, radius: 1 << 14)
        let r = try sweep(session, window)
        #expect(!r.passed)
        #expect(r.mismatches == 1)
        #expect(r.covered == UInt64(window.count) - 1, "every input but the crashing one is still checked")
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x43960000" && c.gotCode == "crash")
        #expect(c.gotValue.contains("SIGSEGV"))
        #expect(c.expectedCode == "0x79")  // 288: 300 lies between 288 and 320, nearer 288
        #expect(c.note.contains("bisection"))
        // The other suites still run (the crash is only in the Float32 entry point).
        let decode = session.run(suites: [.decode])
        #expect(decode.count == 1 && decode[0].passed)
        let pids = session.workerPIDs
        #expect(pids.count > 5)
        session.close()
        #expect(pids.allSatisfy(PluginFixture.reaped), "no zombie workers")
    }

    /// A crash after thousands of wrong codes still appears among the counterexamples.
    @Test func aCrashIsReportedEvenAfterManyWrongCodes() throws {
        let lib = try PluginFixture.library(["-DBUG_FLUSH_SUBNORMALS", "-DBUG_CRASH_AT=0x1.04p-9f"])
        let session = try PluginSession(try PluginFixture.configuration(lib))
        defer { session.close() }
        let r = try sweep(session, PluginFixture.bits(0x1p-9)..<PluginFixture.bits(0x1p-9) + (1 << 18))
        #expect(r.mismatches == 1 << 18)  // every input: 2^18 − 1 flushed to zero, one crash
        #expect(r.counterexamples.count == SuiteResult.counterexampleLimit)
        let crash = try #require(r.counterexamples.first { $0.gotCode == "crash" })
        #expect(crash.inputBits == "0x3b020000")
        #expect(r.counterexamples.first?.gotCode == "0x00")
    }

    @Test func hangOnOneInputIsIsolated() throws {
        let lib = try PluginFixture.library(["-DBUG_HANG_AT=-2.5f"])
        let session = try PluginSession(try PluginFixture.configuration(lib, timeout: 2))
        let window = PluginFixture.window(around: -2.5, radius: 1 << 11)
        let r = try sweep(session, window)
        #expect(!r.passed && r.mismatches == 1 && r.covered == UInt64(window.count) - 1)
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0xc0200000" && c.gotCode == "hang")
        #expect(c.gotValue.contains("no result within 2 s"))
        let pids = session.workerPIDs
        session.close()
        #expect(pids.allSatisfy(PluginFixture.reaped), "no zombie workers")
    }

    @Test func writePastTheEndIsCaughtByTheGuardPage() throws {
        let lib = try PluginFixture.library(["-DBUG_OOB_TAIL"])
        let session = try PluginSession(try PluginFixture.configuration(lib, maxIsolatedFaults: 2))
        defer { session.close() }
        let r = try sweep(session, 0..<30_000)  // one request: the first fault is in its first call
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        #expect(c.gotCode == "out-of-bounds")
        #expect(c.gotValue == "out-of-bounds write: wrote out[n] (past the end)")
        // First seen in the window's first call (4,093 inputs: not a multiple of 8).
        #expect(c.note.hasPrefix("f32_to_e4m3fn call on inputs 0x00000000…0x00000ffc (n = 4093)"))
        #expect(r.parameters["stopped"] != nil)
    }

    @Test func writeBeforeTheStartIsCaughtByTheCanary() throws {
        let lib = try PluginFixture.library(["-DBUG_WRITE_BEFORE"])
        let session = try PluginSession(try PluginFixture.configuration(lib, maxIsolatedFaults: 1))
        defer { session.close() }
        let r = try sweep(session, 0..<10_000)
        let c = try #require(r.counterexamples.first)
        #expect(!r.passed && c.gotCode == "out-of-bounds")
        #expect(c.gotValue == "out-of-bounds write: out[-1] (before the output)")
    }
}

/// Typed, one-line errors for everything that stops a check before it starts.
@Suite struct PluginErrorTests {
    @Test func libraryNotFound() throws {
        let c = try PluginFixture.configuration("/nonexistent/libnothing.so")
        #expect(throws: PluginError.libraryNotFound("/nonexistent/libnothing.so")) { try PluginSession(c) }
    }

    @Test func notASharedLibrary() throws {
        let text = PluginFixture.directory + "/not-a-library.so"
        try "hello\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: PluginError.notSharedLibrary(text, reason: "not an ELF file")) {
            try PluginSession(try PluginFixture.configuration(text))
        }
        #expect(throws: PluginError.notSharedLibrary(PluginFixture.directory, reason: "it is a directory")) {
            try PluginSession(try PluginFixture.configuration(PluginFixture.directory))
        }
        // An object file is ELF but not a shared object.
        let object = PluginFixture.directory + "/fixture.o"
        try PluginFixture.run("/usr/bin/env", ["cc", "-c", "-I", PluginFixture.include, "-o", object, PluginFixture.source])
        #expect(throws: PluginError.notSharedLibrary(object, reason: "ELF type 1 (build with -shared -fPIC)")) {
            try PluginSession(try PluginFixture.configuration(object))
        }
    }

    @Test func libraryThatCrashesWhileLoading() throws {
        let lib = try PluginFixture.library(["-DBUG_CTOR_CRASH"])
        do {
            _ = try PluginSession(try PluginFixture.configuration(lib))
            Issue.record("expected a load failure")
        } catch let e as PluginError {
            guard case .loadFailed(_, let reason) = e else { Issue.record("got \(e)"); return }
            #expect(reason.contains("SIGSEGV"))
            #expect(!e.description.contains("\n"))
        }
    }

    @Test func missingSymbols() throws {
        let lib = try PluginFixture.library(["-DSATURATE=1"])
        #expect(throws: PluginError.missingSymbol("my_encoder", entry: .float32, library: lib)) {
            try PluginSession(try PluginFixture.configuration(lib, symbols: ["my_encoder"]))
        }
        #expect(throws: PluginError.missingSymbol("dec", entry: .decode, library: lib)) {
            try PluginSession(try PluginFixture.configuration(lib, symbols: ["decode=dec"]))
        }
        // The e4m3fn kernel checked as e5m2: none of the default names exist.
        do {
            _ = try PluginSession(try PluginFixture.configuration(lib, format: .e5m2))
            Issue.record("expected noEntryPoints")
        } catch let e as PluginError {
            guard case .noEntryPoints(_, let names) = e else { Issue.record("got \(e)"); return }
            #expect(names == ["f32_to_e5m2", "f64_to_e5m2", "f16_to_e5m2", "bf16_to_e5m2", "e5m2_to_f32"])
        }
    }

    @Test func symbolOverridesAndSuitePlanning() throws {
        let lib = try PluginFixture.library(["-DSATURATE=1"])
        // Renaming: the e4m3fn kernel's f32 entry point under an explicit name.
        let session = try PluginSession(try PluginFixture.configuration(lib, symbols: ["f32_to_e4m3fn", "f64=f64_to_e4m3fn"]))
        defer { session.close() }
        #expect(try session.plan(["exhaustive-f32", "decode"]) == [.decode, .exhaustiveFloat32])
        #expect(throws: PluginError.unknownSuite("stochastic", known: ConversionSuite.allCases.map(\.rawValue))) {
            try session.plan(["stochastic"])
        }
        // Only the decoder under its default name, the encoders renamed to something absent.
        let onlyDecode = PluginFixture.directory + "/only-decode.c"
        try """
            #include <stdint.h>
            #include <stddef.h>
            void e4m3fn_to_f32(const uint8_t *in, float *out, size_t n) { for (size_t i = 0; i < n; i++) out[i] = 0; }
            """.write(toFile: onlyDecode, atomically: true, encoding: .utf8)
        let decodeLib = try PluginFixture.library([], source: onlyDecode, name: "only-decode")
        let s2 = try PluginSession(try PluginFixture.configuration(decodeLib))
        defer { s2.close() }
        #expect(try s2.plan([]) == [.decode])
        #expect(throws: PluginError.suiteNeedsEntryPoint(suite: "float64", needs: ["f64_to_e4m3fn"])) { try s2.plan(["float64"]) }
        // A decoder returning 0 for everything fails on the first non-zero code.
        let r = s2.run(suites: [.decode])
        #expect(r.count == 1 && !r[0].passed && r[0].counterexamples.first?.inputBits == "0x01")
    }

    @Test func badSymbolArguments() {
        #expect(throws: PluginError.unknownSymbolKey("f8")) { try PluginSymbols(format: .e4m3fn, overrides: ["f8=x"]) }
        #expect(throws: PluginError.invalidSymbol("1abc")) { try PluginSymbols(format: .e4m3fn, overrides: ["1abc"]) }
        #expect(throws: PluginError.invalidSymbol("f64=")) { try PluginSymbols(format: .e4m3fn, overrides: ["f64="]) }
        #expect(throws: PluginError.duplicateSymbol(.float32)) { try PluginSymbols(format: .e4m3fn, overrides: ["a", "f32=b"]) }
        let s = try? PluginSymbols(format: .bfloat16, overrides: ["decode=my_dec"])
        #expect(s?[.float32] == "f32_to_bfloat16" && s?[.decode] == "my_dec" && s?.explicit == [.decode])
    }

    @Test func badNumbers() throws {
        var c = try PluginFixture.configuration(try PluginFixture.library(["-DSATURATE=1"]))
        c.timeout = 0
        #expect(throws: PluginError.invalidTimeout(0)) { try PluginSession(c) }
        c.timeout = 1
        c.threads = 0
        #expect(throws: PluginError.invalidThreadCount(0)) { try PluginSession(c) }
    }
}

/// The CLI end to end: exit codes 0 / 1 / 2 and one-line errors.
@Suite struct ConformCommandTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func conform(_ args: [String]) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try PluginFixture.quantcheck())
        p.arguments = ["conform"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently-enough: outputs are small.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func passFailAndUsageErrors() throws {
        let ok = try PluginFixture.library(["-DSATURATE=1"])
        let quick = ["--suite", "decode", "--suite", "roundtrip", "--suite", "exhaustive-f16", "--quiet"]
        let pass = try Self.conform(["--library", ok, "--format", "e4m3fn", "--mode", "sat"] + quick)
        #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
        #expect(pass.stdout.contains("conform: PASS (5 cases"))

        let json = PluginFixture.directory + "/conform.json"
        let bad = try PluginFixture.library(["-DBUG_FLUSH_SUBNORMALS"])
        let fail = try Self.conform(["--library", bad, "--format", "e4m3fn", "--mode", "sat", "--json", json] + quick)
        #expect(fail.status == 1)
        #expect(fail.stdout.contains("FAIL  exhaustive-f16"))
        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(object?["format"] as? String == "quantcheck-results")

        for (args, message) in [
            (["--library", ok, "--format", "e4m3fn", "--mode", "saturate"], "--mode 'saturate' is not one of: sat, nonsat"),
            (["--library", ok, "--format", "e9m9", "--mode", "sat"], "unknown format 'e9m9'"),
            (["--library", "/no/such.so", "--format", "e4m3fn", "--mode", "sat"], "library '/no/such.so' not found"),
            (["--library", ok, "--format", "e4m3fn", "--mode", "sat", "--symbol", "nope"], "symbol 'nope' (f32 entry point) not found"),
            (["--library", ok, "--format", "e4m3fn", "--mode", "sat", "--rounding", "stochastic"], "--rounding 'stochastic' is not one of"),
            (["--library", ok, "--format", "e4m3fn", "--mode", "sat", "--timeout", "0"], "--timeout must be a positive"),
        ] {
            let r = try Self.conform(args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.hasPrefix("quantcheck: error: "), "\(r.stderr)")
            #expect(r.stderr.contains(message), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
    }
}
