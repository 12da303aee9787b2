import Conformance
import Foundation
import Testing
@testable import Harness

/// The repository's default configuration, found from this file's location.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

struct StepFailure: Error, CustomStringConvertible {
    var description: String { "oracle table missing" }
}

@Suite("Gate")
struct GateTests {
    func config(_ dir: String, bench: Bool = false, baseline: String? = nil) -> GateConfig {
        var c = GateConfig()
        c.report.output = dir + "/Reports"
        c.report.history = dir + "/Reports/history"
        c.bench.enabled = bench
        c.bench.baseline = baseline
        return c
    }

    func steps(verify: [SuiteResult] = [sampleSuite()], golden: [SuiteResult] = [sampleSuite("golden", caseName: "e4m3fn")],
               bench: [BenchResult] = [], verifyThrows: Bool = false) -> GateSteps {
        GateSteps(
            verify: { _ in if verifyThrows { throw StepFailure() }; return verify },
            golden: { _ in golden },
            bench: { _ in bench })
    }

    @Test func defaultConfigurationParsesAndDocumentsEveryThreshold() throws {
        let path = repositoryRoot + "/Golden/gate.json"
        let c = try GateConfig.load(from: path)
        #expect(c == GateConfig())  // the file states the built-in defaults
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        for section in ["verify", "golden", "bench", "report"] {
            let s = root[section] as! [String: Any]
            let doc = s["_doc"] as! [String: String]
            #expect(Set(doc.keys) == Set(s.keys).subtracting(["_doc"]), "section \(section)")
        }
    }

    @Test func passingRunWritesResultsAndReport() throws {
        let dir = makeTempDirectory()
        let outcome = try Gate.run(config(dir), steps: steps(), stamp: fixedStamp())
        #expect(outcome.exitCode == 0 && outcome.verdict.failures.isEmpty)
        #expect(try ResultsFile.load(from: dir + "/Reports/results.json").suites.count == 2)
        let summary = try String(contentsOfFile: dir + "/Reports/summary.md", encoding: .utf8)
        #expect(summary.split(separator: "\n")[1] == "## ✅ PASS")
    }

    @Test func failingSuiteFailsTheGate() throws {
        let dir = makeTempDirectory()
        let outcome = try Gate.run(config(dir), steps: steps(verify: [sampleSuite(mismatches: 4, counterexamples: 1)]), stamp: fixedStamp())
        #expect(outcome.exitCode == 1)
        #expect(outcome.verdict.failures == ["encode e4m3fn/sat/rne: 4 mismatches; first: 0x00000000 expected 0x00 got 0x01"])
        #expect(try String(contentsOfFile: dir + "/Reports/summary.md", encoding: .utf8).contains("## ❌ FAIL"))
    }

    @Test func incompleteCoverageFailsEvenIfReportedPassed() throws {
        let dir = makeTempDirectory()
        var r = sampleSuite()
        r.covered = 90
        #expect(r.passed)
        let outcome = try Gate.run(config(dir), steps: steps(verify: [r]), stamp: fixedStamp())
        #expect(outcome.verdict.failures == ["encode e4m3fn/sat/rne: covered 90 of 100 inputs"])
        var lax = config(dir)
        lax.verify.requireComplete = false
        #expect(try Gate.run(lax, steps: steps(verify: [r]), stamp: fixedStamp()).exitCode == 0)
    }

    /// The verdict comes from the evidence: a case that states it passed but counts mismatches
    /// fails the gate, whatever the mismatch budget and in lax mode too (issue 15, item 1).
    @Test func passedWithMismatchesFailsWhateverTheBudget() throws {
        let dir = makeTempDirectory()
        var r = sampleSuite(mismatches: 2)
        r.passed = true
        var c = config(dir)
        #expect(try Gate.run(c, steps: steps(verify: [r]), stamp: fixedStamp()).verdict.failures == ["encode e4m3fn/sat/rne: 2 mismatches"])
        c.verify.maxMismatches = 2
        #expect(try Gate.run(c, steps: steps(verify: [r]), stamp: fixedStamp()).exitCode == 1)
        c.verify.requireComplete = false
        #expect(try Gate.run(c, steps: steps(verify: [r]), stamp: fixedStamp()).exitCode == 1)
    }

    @Test func stepThatThrowsIsAFailureNotACrash() throws {
        let dir = makeTempDirectory()
        let outcome = try Gate.run(config(dir), steps: steps(verifyThrows: true), stamp: fixedStamp())
        #expect(outcome.exitCode == 1)
        #expect(outcome.verdict.failures == ["verify could not run: oracle table missing"])
        #expect(FileManager.default.fileExists(atPath: dir + "/Reports/summary.md"))
    }

    @Test func benchRegressionAgainstBaselineFailsTheGate() throws {
        let dir = makeTempDirectory()
        let baseline = dir + "/base.json"
        try ResultsFile(stamp: fixedStamp(), benchmarks: [sampleBench("codec.encode/e4m3fn/dram/t1", median: 1e-3)]).write(to: baseline)
        let slow = try Gate.run(config(dir, bench: true, baseline: baseline),
                                steps: steps(bench: [sampleBench("codec.encode/e4m3fn/dram/t1", median: 2e-3)]), stamp: fixedStamp())
        #expect(slow.exitCode == 1)
        #expect(slow.verdict.failures.count == 1 && slow.verdict.failures[0].hasPrefix("regression: codec.encode/e4m3fn/dram/t1 +100% slower"))
        #expect(try String(contentsOfFile: dir + "/Reports/throughput.md", encoding: .utf8).contains("🔴 slower"))
        let same = try Gate.run(config(dir, bench: true, baseline: baseline),
                                steps: steps(bench: [sampleBench("codec.encode/e4m3fn/dram/t1", median: 1e-3)]), stamp: fixedStamp())
        #expect(same.exitCode == 0)
    }

    @Test func differentMachineWarnsOrFails() throws {
        let dir = makeTempDirectory()
        let baseline = dir + "/base.json"
        try ResultsFile(stamp: fixedStamp(machine: "laptop"), benchmarks: [sampleBench("a/x", median: 1e-3)]).write(to: baseline)
        var c = config(dir, bench: true, baseline: baseline)
        let warn = try Gate.run(c, steps: steps(bench: [sampleBench("a/x", median: 1e-3)]), stamp: fixedStamp())
        #expect(warn.exitCode == 0 && warn.verdict.notes.contains { $0.contains("machines differ") })
        c.bench.requireSameMachine = true
        #expect(try Gate.run(c, steps: steps(bench: [sampleBench("a/x", median: 1e-3)]), stamp: fixedStamp()).exitCode == 1)
    }

    @Test func inputErrorsAreThrownBeforeRunning() throws {
        let dir = makeTempDirectory()
        #expect(throws: ResultsError.unreadable(dir + "/none.json", reason: "no such file")) {
            try Gate.run(config(dir, bench: true, baseline: dir + "/none.json"), steps: steps(), stamp: fixedStamp())
        }
        let verifyOnly = dir + "/verify.json"
        try ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()]).write(to: verifyOnly)
        #expect(throws: CompareError.noBenchmarks(verifyOnly)) {
            try Gate.run(config(dir, bench: true, baseline: verifyOnly), steps: steps(), stamp: fixedStamp())
        }
        let file = dir + "/plain"
        try Data().write(to: URL(fileURLWithPath: file))
        var c = config(dir)
        c.report.output = file
        #expect(throws: OutputError.notADirectory(file)) { try Gate.run(c, steps: steps(), stamp: fixedStamp()) }
        c = config(dir)
        c.report.results = dir + "/missing/results.json"
        #expect(throws: OutputError.directoryMissing(dir + "/missing")) { try Gate.run(c, steps: steps(), stamp: fixedStamp()) }
    }

    @Test(arguments: [
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"maxMismatchs": 0}}"#, "unknown key 'verify.maxMismatchs' (known: enabled, exhaustive, formats, maxMismatches, requireComplete, suites, threads)"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "extra": 1}"#, "unknown key 'extra' (known: bench, format, golden, report, schemaVersion, verify)"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 2}"#, "schemaVersion must be 1"),
        (#"{"format": "quantcheck-results", "schemaVersion": 1}"#, "not a gate configuration (no \"format\": \"quantcheck-gate\")"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"enabled": 1}}"#, "'verify.enabled' must be true or false"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"threads": -1}}"#, "'verify.threads' must be an integer ≥ 0"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"threads": 1.5}}"#, "'verify.threads' must be an integer ≥ 0"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"maxMismatches": true}}"#, "'verify.maxMismatches' must be an integer ≥ 0"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"suites": "all"}}"#, "'verify.suites' must be a list of strings"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": []}"#, "'verify' must be an object"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "bench": {"regressionThreshold": 0.05}}"#, "bench.regressionThreshold must be a string like \"5%\""),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "bench": {"regressionThreshold": "5"}}"#, "bench.regressionThreshold: invalid threshold '5': give a percentage like 5% or a fraction like 0.05"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "bench": {"noiseSigmas": -1}}"#, "bench.noiseSigmas must be ≥ 0"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "bench": {"repetitions": 0}}"#, "'bench.repetitions' must be an integer ≥ 1"),
        (#"{"format": "quantcheck-gate", "schemaVersion": 1, "report": {"output": ""}}"#, "'report.output' must be a non-empty string"),
        (#"{"format": "quantcheck-gate", "#, "the JSON is truncated"),
        (#"{"format": quantcheck}"#, "not valid JSON"),
    ])
    func configErrors(json: String, message: String) {
        #expect {
            try GateConfig.parse(Data(json.utf8), path: "gate.json")
        } throws: { error in
            guard case .invalid("gate.json", let why) = error as? GateConfigError else { return false }
            return why.hasPrefix(message) && !(error as! GateConfigError).description.contains("\n")
        }
    }

    /// Found by the gate fuzzer: a key with a line feed broke the one-line message.
    @Test func keyWithLineFeedGivesOneLineError() {
        let json = #"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"a\nb": 0}}"#
        #expect {
            try GateConfig.parse(Data(json.utf8), path: "gate.json")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(#"gate configuration 'gate.json': unknown key 'verify.a\nb' (known:"#) && !text.contains("\n")
        }
    }

    @Test func configValuesAreRead() throws {
        let json = #"""
        {"format": "quantcheck-gate", "schemaVersion": 1,
         "verify": {"suites": ["decode"], "formats": ["e4m3fn"], "threads": 2, "exhaustive": true, "_doc": {"x": "y"}},
         "bench": {"enabled": true, "filter": "e4m3", "regressionThreshold": "2.5%", "noiseSigmas": 2, "repetitions": 4, "baseline": "b.json"},
         "report": {"output": "out", "results": "r.json"}}
        """#
        let c = try GateConfig.parse(Data(json.utf8))
        #expect(c.verify.suites == ["decode"] && c.verify.formats == ["e4m3fn"] && c.verify.threads == 2 && c.verify.exhaustive)
        #expect(c.bench.enabled && c.bench.filter == "e4m3" && c.bench.regressionThreshold == 0.025 && c.bench.noiseSigmas == 2)
        #expect(c.bench.repetitions == 4 && c.bench.baseline == "b.json")
        #expect(c.report.output == "out" && c.report.results == "r.json")
        #expect(throws: GateConfigError.unreadable("/nonexistent/gate.json")) { try GateConfig.load(from: "/nonexistent/gate.json") }
    }
}
