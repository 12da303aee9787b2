import Conformance
import Foundation
import Testing
@testable import Harness

/// Runs the built `quantcheck` binary (HarnessTests depends on the executable target, so
/// `swift test` builds it next to the test bundle).
struct CLIRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    static let binary: String? = {
        let fm = FileManager.default
        var candidates: [URL] = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        candidates += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for dir in candidates {
            let p = dir.appendingPathComponent("quantcheck").path
            if fm.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }()

    static func run(_ args: [String], cwd: String? = nil, environment: [String: String]? = nil) throws -> CLIRun {
        guard let binary else {
            Issue.record("quantcheck binary not found next to the test bundle")
            return CLIRun(status: -1, stdout: "", stderr: "")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var env = environment ?? ProcessInfo.processInfo.environment
        env["TERM"] = "dumb"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read both pipes concurrently so neither can fill up and block the child.
        // The group's wait orders the reader's write before the read below (ThreadSanitizer
        // flagged the former polling of Thread.isFinished as a data race).
        nonisolated(unsafe) var errData = Data()
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        reading.wait()
        return CLIRun(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// Exit 2 with exactly one line on stderr containing `message`.
func expectUsageError(_ r: CLIRun, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == 2, "status \(r.status), stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderr.contains(message), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
}

@Suite("quantcheck CLI: exit codes and error paths", .serialized)
struct CLITests {
    let dir = makeTempDirectory("cli")

    func write(_ f: ResultsFile, _ name: String) throws -> String {
        let p = dir + "/" + name
        try f.write(to: p)
        return p
    }

    @Test func usageErrorsExitTwo() throws {
        expectUsageError(try CLI.run(["bogus"]), "bogus")
        expectUsageError(try CLI.run(["compare"]), "Missing expected argument")
        expectUsageError(try CLI.run(["bench", "--repetitions", "0"]), "--repetitions must be at least 1 (got 0)")
        expectUsageError(try CLI.run(["bench", "--repetitions", "many"]), "many")
        expectUsageError(try CLI.run(["bench", "--filter", "(["]), "invalid --filter regular expression")
        expectUsageError(try CLI.run(["bench", "--filter", "no-such-case"]), "no benchmark matches --filter 'no-such-case'")
        expectUsageError(try CLI.run(["report"]), "report needs at least one --input")
        expectUsageError(try CLI.run(["merge", "--json", dir + "/m.json"]), "Missing expected argument '<shards> ...'")
        let help = try CLI.run(["compare", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: quantcheck compare"))
    }

    @Test func compareFlagsAnInjectedSlowdownAndPassesARerun() throws {
        let base = try write(ResultsFile(stamp: fixedStamp(), benchmarks: [noisyBench("codec.encode/e4m3fn/dram/t1", median: 1e-3, noise: 0.02, seed: 1)]), "base.json")
        let slow = try write(ResultsFile(stamp: fixedStamp(), benchmarks: [noisyBench("codec.encode/e4m3fn/dram/t1", median: 2e-3, noise: 0.02, seed: 2)]), "slow.json")
        let same = try write(ResultsFile(stamp: fixedStamp(), benchmarks: [noisyBench("codec.encode/e4m3fn/dram/t1", median: 1e-3, noise: 0.02, seed: 3)]), "same.json")
        let r1 = try CLI.run(["compare", base, slow, "--threshold", "5%"])
        #expect(r1.status == 1 && r1.stdout.contains("🔴 slower") && r1.stderr.isEmpty)
        #expect(markdownTableProblems(r1.stdout).isEmpty)
        let r2 = try CLI.run(["compare", base, same])
        #expect(r2.status == 0 && r2.stdout.contains("**No regression**"))
        let r3 = try CLI.run(["compare", base, base])
        #expect(r3.status == 0)
        // Different machine: still compared, with a warning on stderr.
        let other = try write(ResultsFile(stamp: fixedStamp(machine: "laptop"), benchmarks: [noisyBench("codec.encode/e4m3fn/dram/t1", median: 1e-3, noise: 0.02, seed: 4)]), "other.json")
        let r4 = try CLI.run(["compare", base, other])
        #expect(r4.status == 0 && r4.stderr.contains("warning: machines differ"))
        // Markdown copy to a file.
        let r5 = try CLI.run(["compare", base, slow, "--output", dir + "/delta.md"])
        let delta = try String(contentsOfFile: dir + "/delta.md", encoding: .utf8)
        #expect(r5.status == 1 && delta == r5.stdout)
    }

    @Test func compareInputErrors() throws {
        let base = try write(ResultsFile(stamp: fixedStamp(), benchmarks: [sampleBench("a/x", median: 1e-3)]), "b.json")
        let verify = try write(ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()]), "v.json")
        expectUsageError(try CLI.run(["compare", base, base, "--threshold", "5"]), "invalid threshold '5'")
        expectUsageError(try CLI.run(["compare", base, base, "--noise-sigmas=-1"]), "--noise-sigmas must be a non-negative number")
        expectUsageError(try CLI.run(["compare", dir + "/missing.json", base]), "cannot read results file '\(dir)/missing.json': no such file")
        expectUsageError(try CLI.run(["compare", base, verify]), "'\(verify)' has no benchmarks to compare")
        let data = try Data(contentsOf: URL(fileURLWithPath: base))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.json"))
        expectUsageError(try CLI.run(["compare", base, dir + "/cut.json"]), "is truncated")
        try Data("{\"format\": \"quantcheck-results\", \"schemaVersion\": 7}".utf8).write(to: URL(fileURLWithPath: dir + "/v7.json"))
        expectUsageError(try CLI.run(["compare", base, dir + "/v7.json"]), "has schema version 7; this quantcheck reads version 1")
        expectUsageError(try CLI.run(["compare", base, base, "--output", dir]), "is a directory")
    }

    @Test func mergeShards() throws {
        let paths = try shardFiles(count: 3).map { try write($0.file, $0.path) }
        let out = dir + "/merged.json"
        let r = try CLI.run(["merge"] + paths.reversed() + ["--json", out])
        // The miniature suite has deliberate mismatches: merged verdict FAIL, exit 1, file written.
        #expect(r.status == 1 && r.stdout.hasPrefix("merge: FAIL"))
        let merged = try ResultsFile.load(from: out)
        let domain = InputRange(lower: 0, upper: 5000)
        #expect(sameOutcome(merged.suites, miniVerify(range: domain, domain: domain)))
        expectUsageError(try CLI.run(["merge", paths[0], paths[2], "--json", out]), "missing shard 2 of 3")
        expectUsageError(try CLI.run(["merge", paths[0], paths[1], paths[1], "--json", out]), "shard 2 given twice")
        var overlapping = try shardFiles(count: 3)[1].file
        overlapping.shard!.range.lower -= 1
        let o = try write(overlapping, "overlap.json")
        expectUsageError(try CLI.run(["merge", paths[0], o, paths[2], "--json", out]), "overlaps the previous shard")
        let b = try shardFiles(count: 3, commit: "beef")[1]
        let other = try write(b.file, "othercommit.json")
        expectUsageError(try CLI.run(["merge", paths[0], other, paths[2], "--json", out]), "it was built from commit beef")
        expectUsageError(try CLI.run(["merge", paths[0], "--json", dir + "/no/such/dir/m.json"]), "output directory '\(dir)/no/such/dir' does not exist")
    }

    @Test func mergePassingShardsExitsZero() throws {
        let domain = InputRange(lower: 0, upper: 100)
        let paths = try (1...2).map { k -> String in
            let info = try ShardInfo(spec: ShardSpec(index: k, count: 2), domain: domain)
            let suite = SuiteResult(suite: "exhaustive-f32", caseName: "e4m3fn/sat/rne", passed: true, covered: info.range.count,
                                    expected: info.range.count, mismatches: 0,
                                    parameters: ["patterns": "\(info.range.lower)..<\(info.range.upper)"])
            return try write(ResultsFile(stamp: fixedStamp(), suites: [suite], shard: info), "ok\(k).json")
        }
        let r = try CLI.run(["merge"] + paths + ["--json", dir + "/ok.json"])
        #expect(r.status == 0 && r.stdout.hasPrefix("merge: PASS"))
        let merged = try ResultsFile.load(from: dir + "/ok.json")
        #expect(merged.suites[0].covered == 100 && merged.suites[0].parameters["patterns"] == "0..<100")
    }

    @Test func reportWritesFilesAndRefusesBadOutput() throws {
        let v = try write(ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()]), "verify.json")
        let b = try write(ResultsFile(stamp: fixedStamp(), benchmarks: BenchRunner.attachRoofline([
            sampleBench("memcpy/dram/t1", median: 1e-3), sampleBench("codec.encode/e4m3fn/dram/t1", median: 2e-3),
        ])), "bench.json")
        let out = dir + "/report"
        let r = try CLI.run(["report", "--input", v, b, "--output", out])
        #expect(r.status == 0, "\(r.stderr)")
        for f in ["summary.md", "conformance.md", "accuracy.md", "throughput.md"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + f))
        }
        // GitHub step summary: appended, not replaced.
        let stepSummary = dir + "/step.md"
        try Data("earlier step\n".utf8).write(to: URL(fileURLWithPath: stepSummary))
        var env = ProcessInfo.processInfo.environment
        env["GITHUB_STEP_SUMMARY"] = stepSummary
        let g = try CLI.run(["report", "--input", v, "--output", out, "--github-step-summary"], environment: env)
        #expect(g.status == 0)
        let text = try String(contentsOfFile: stepSummary, encoding: .utf8)
        #expect(text.hasPrefix("earlier step\n# QuantCheck report"))
        env.removeValue(forKey: "GITHUB_STEP_SUMMARY")
        expectUsageError(try CLI.run(["report", "--input", v, "--github-step-summary"], environment: env), "GITHUB_STEP_SUMMARY is not set")
        let file = dir + "/afile"
        try Data().write(to: URL(fileURLWithPath: file))
        expectUsageError(try CLI.run(["report", "--input", v, "--output", file]), "'\(file)' is a file, not a directory")
        expectUsageError(try CLI.run(["report", "--input", v, v, "--output", out]), "appears in both")
        expectUsageError(try CLI.run(["report", "--input", dir + "/nope.json"]), "no such file")
    }

    @Test func benchRunsWritesAndRecords() throws {
        let json = dir + "/bench.json"
        let history = dir + "/history"
        let r = try CLI.run(["bench", "--quick", "--repetitions", "2", "--filter", "^memcpy/cache/t1$", "--json", json,
                             "--record", "--history-dir", history, "--quiet"],
                            cwd: repositoryRoot)
        #expect(r.status == 0, "\(r.stderr)")
        let f = try ResultsFile.load(from: json)
        #expect(f.benchmarks.map(\.name) == ["memcpy/cache/t1"] && f.benchmarks[0].samples.count == 2)
        #expect(markdownTableProblems(r.stdout).isEmpty)
        #expect(BenchHistory.load(directory: history).entries.count == (f.stamp.gitCommit == "unknown" ? 0 : 1))
        let list = try CLI.run(["bench", "--list"])
        #expect(list.status == 0 && list.stdout.contains("codec.encode/e4m3fn/dram/t1\n"))
        // Output checks happen before measuring.
        let file = dir + "/plain"
        try Data().write(to: URL(fileURLWithPath: file))
        expectUsageError(try CLI.run(["bench", "--filter", "^memcpy/cache/t1$", "--json", file + "/x.json"]), "'\(file)' is a file, not a directory")
        expectUsageError(try CLI.run(["bench", "--filter", "^memcpy/cache/t1$", "--json", dir]), "is a directory")
        expectUsageError(try CLI.run(["bench", "--filter", "^memcpy/cache/t1$", "--record", "--history-dir", file + "/h"], cwd: repositoryRoot),
                         "'\(file)' is a file, not a directory")
    }

    @Test func gateConfigurationErrorsExitTwo() throws {
        expectUsageError(try CLI.run(["gate", "--config", dir + "/none.json"]), "cannot read gate configuration")
        try Data(#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"treshold": 1}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/typo.json"))
        expectUsageError(try CLI.run(["gate", "--config", dir + "/typo.json"]), "unknown key 'verify.treshold'")
        try Data(#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"formats": ["e9m9"]}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/fmt.json"))
        expectUsageError(try CLI.run(["gate", "--config", dir + "/fmt.json"]), "unknown format 'e9m9'")
        try Data(#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"suites": ["nope"]}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/suite.json"))
        expectUsageError(try CLI.run(["gate", "--config", dir + "/suite.json"]), "unknown suite 'nope'")
        let verifyOnly = try write(ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()]), "vonly.json")
        try Data(#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"enabled": false}, "golden": {"enabled": false}}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/off.json"))
        expectUsageError(try CLI.run(["gate", "--config", dir + "/off.json", "--baseline", verifyOnly, "--output", dir + "/g"]), "has no benchmarks to compare")
    }

    @Test func gateRunsAndDecides() throws {
        // A fast gate: one cheap suite, no golden, no bench.
        let cfg = dir + "/fast.json"
        try Data(#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"suites": ["decode"], "formats": ["e4m3fn"]}, "golden": {"enabled": false}}"#.utf8)
            .write(to: URL(fileURLWithPath: cfg))
        let out = dir + "/gate"
        let r = try CLI.run(["gate", "--config", cfg, "--output", out, "--quiet"], cwd: repositoryRoot)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.hasPrefix("gate: PASS"))
        let results = try ResultsFile.load(from: out + "/results.json")
        #expect(!results.suites.isEmpty && results.suites.allSatisfy { $0.suite == "decode" })
        #expect(try String(contentsOfFile: out + "/summary.md", encoding: .utf8).contains("## ✅ PASS"))
        // A golden directory with nothing in it: every table is missing → FAIL, exit 1.
        let cfg2 = dir + "/golden.json"
        try AtomicFile.ensureDirectory(dir + "/emptygolden")
        try Data(#"{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"enabled": false}, "golden": {"directory": "EMPTY"}}"#
            .replacingOccurrences(of: "EMPTY", with: dir + "/emptygolden").utf8).write(to: URL(fileURLWithPath: cfg2))
        let f = try CLI.run(["gate", "--config", cfg2, "--output", dir + "/gate2", "--quiet"], cwd: repositoryRoot)
        #expect(f.status == 1 && f.stdout.hasPrefix("gate: FAIL"), "\(f.stdout) \(f.stderr)")
        #expect(try String(contentsOfFile: dir + "/gate2/summary.md", encoding: .utf8).contains("## ❌ FAIL"))
    }
}
