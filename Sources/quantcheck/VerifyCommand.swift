import ArgumentParser
import Conformance
import Formats
import Foundation
import Harness

/// `quantcheck verify`: runs the conformance and accuracy suites against the MPFR oracle.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run the conformance suites against the MPFR oracle (exit 0 pass, 1 fail, 2 usage error).",
        discussion: "Suites: " + ConformanceRunner.suites.map { "\($0.name) — \($0.summary)" }.joined(separator: "; "))

    @Option(name: .customLong("suite"), help: "Suite to run (repeatable). Default: every default suite.")
    var suites: [String] = []

    @Option(name: .customLong("format"), help: "Format to check (repeatable, e.g. e4m3fn or float8_e4m3fn). Default: all.")
    var formats: [String] = []

    @Flag(help: "Full sizes and every rounding direction instead of the quick defaults.")
    var exhaustive = false

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Write the results JSON here (atomically).")
    var json: String?

    @Option(help: "Run shard K/N of the exhaustive Float32 sweeps (1-based), or 'auto' (Slurm, Kubernetes, CI matrix).")
    var shard: String?

    @Option(name: .customLong("shard-count"), help: "Shard count for --shard auto with JOB_COMPLETION_INDEX.")
    var shardCount: Int?

    @Flag(help: "No progress lines.")
    var quiet = false

    func run() throws {
        let formatList = try formats.map { name throws(FormatError) in try FloatFormat(named: name) }
        var shardInfo: ShardInfo?
        var patterns = ExhaustiveSweep.allPatterns
        if let shard {
            let spec = try ShardSpec(parsing: shard, shardCount: shardCount)
            let info = try ShardInfo(spec: spec, domain: .all32)
            shardInfo = info
            patterns = info.range.lower..<info.range.upper
        }
        var options = VerifyOptions(
            suites: suites, formats: formatList, exhaustive: exhaustive, threads: threads, patterns: patterns)
        let selected = try ConformanceRunner.selected(options)
        if let json { try OutputPath.checkWritable(json) }  // before a long run, not after
        let sweeps = selected.contains { $0.splitsByPattern }
        let progress: ProgressReporter? = quiet || !sweeps ? nil : ProgressReporter(
            label: "exhaustive-f32",
            total: UInt64(patterns.count) * UInt64(options.effectiveFormats.count) * UInt64(exhaustive ? 8 : 2))
        if let progress { options.progress = { progress.advance(by: $0) } }
        let t0 = Date()
        let results = try ConformanceRunner.run(options)
        progress?.finish()
        let wall = Date().timeIntervalSince(t0)
        print(VerifySummary.text(results, wallSeconds: wall))
        if let json {
            let file = ResultsFile(stamp: .current(), suites: results, shard: shardInfo)
            try file.write(to: json)
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}

/// The readable summary printed by verify: one line per suite, then the failing cases with
/// their first counterexample.
enum VerifySummary {
    static func text(_ results: [SuiteResult], wallSeconds: Double) -> String {
        var lines: [String] = []
        var order: [String] = []
        var bySuite: [String: [SuiteResult]] = [:]
        for r in results {
            if bySuite[r.suite] == nil { order.append(r.suite) }
            bySuite[r.suite, default: []].append(r)
        }
        for name in order {
            let rs = bySuite[name]!
            let failed = rs.filter { !$0.passed }
            let covered = rs.reduce(UInt64(0)) { $0 &+ $1.covered }
            let mism = rs.reduce(UInt64(0)) { $0 &+ $1.mismatches }
            let secs = rs.reduce(0.0) { $0 + $1.wallSeconds }
            let verdict = failed.isEmpty ? "PASS" : "FAIL"
            lines.append(
                "\(verdict)  \(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(rs.count) cases, "
                    + "\(covered) inputs, \(mism) mismatches, \(String(format: "%.2f", secs)) s")
            for f in failed.prefix(20) {
                var line = "      ✗ \(f.caseName): \(f.mismatches) mismatches, covered \(f.covered)"
                if let e = f.expected, e != f.covered { line += " of \(e) expected" }
                if let c = f.counterexamples.first {
                    line += "; first: input \(c.inputBits) = \(c.inputValue) expected \(c.expectedCode) (\(c.expectedValue)) got \(c.gotCode) (\(c.gotValue))"
                }
                if let err = f.parameters["error"] { line += "; error: \(err)" }
                lines.append(line)
            }
        }
        let failedCount = results.filter { !$0.passed }.count
        lines.append(
            failedCount == 0
                ? "verify: PASS (\(results.count) cases in \(String(format: "%.1f", wallSeconds)) s)"
                : "verify: FAIL (\(failedCount) of \(results.count) cases failed, \(String(format: "%.1f", wallSeconds)) s)")
        return lines.joined(separator: "\n")
    }
}

/// Pre-flight check of an output path, so a long run does not end with its results lost.
enum OutputPath {
    struct NotWritable: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { DiagnosticText.oneLine("cannot write '\(path)': \(reason)") }
    }

    static func checkWritable(_ path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw NotWritable(path: path, reason: "it is a directory")
        }
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        guard fm.fileExists(atPath: dir, isDirectory: &isDir) else { throw NotWritable(path: path, reason: "directory '\(dir)' does not exist") }
        guard isDir.boolValue else { throw NotWritable(path: path, reason: "'\(dir)' is not a directory") }
        guard fm.isWritableFile(atPath: dir) else { throw NotWritable(path: path, reason: "directory '\(dir)' is not writable") }
    }
}
