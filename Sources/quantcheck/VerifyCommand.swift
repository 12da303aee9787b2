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
        if shardCount != nil, shard == nil {
            throw CLIUsageError("--shard-count applies only with --shard (e.g. --shard auto)")
        }
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
        print(SuiteSummary.text(results, wallSeconds: wall, command: "verify"))
        if let json {
            let file = ResultsFile(stamp: .current(), suites: results, shard: shardInfo)
            try file.write(to: json)
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
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
        // A symlink is checked at its target, the file that will be replaced; a stream
        // (`-`, `/dev/stdout`, a device, a FIFO) is written in place and needs no directory.
        let target: OutputTarget
        do { target = try OutputTarget.resolve(path) } catch .pathIsDirectory {
            throw NotWritable(path: path, reason: "it is a directory")
        }
        guard case .replace(let path) = target else { return }
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
