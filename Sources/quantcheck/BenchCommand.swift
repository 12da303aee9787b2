import ArgumentParser
import Foundation
import Harness

/// `quantcheck bench`: measures the kernels against a memory-copy reference.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the codec and quantization kernels (median, min, max, MAD; roofline against memcpy).",
        discussion: """
            Each case is warmed up, then timed over N repetitions of about 50 ms (10 ms with --quick); \
            the table reports the median time per call, min–max, MAD, elements/s, bytes/s (read + written) \
            and the fraction of memcpy bandwidth measured in the same run for the same size class and \
            thread count. Build with `swift build -c release` for meaningful numbers.
            """)

    @Option(help: "Regular expression selecting cases by name (e.g. 'encode/e4m3fn', 'dram/t1$').")
    var filter: String?

    @Option(help: "Timed repetitions per case (default 10, or 3 with --quick).")
    var repetitions: Int?

    @Flag(help: "Short run: 3 repetitions of about 10 ms.")
    var quick = false

    @Option(help: "Write the results JSON here (atomically).")
    var json: String?

    @Flag(help: "Also store the results in the history directory, keyed by commit and machine.")
    var record = false

    @Option(name: .customLong("history-dir"), help: "History directory for --record (default: \(BenchHistory.defaultDirectory)).")
    var historyDir: String?

    @Flag(help: "List the names of the cases (those --filter selects) and exit.")
    var list = false

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    /// Options that would be silently ignored: refused (exit 2, one line).
    func refuseOptionsThatDoNotApply() throws {
        if historyDir != nil, !record { throw CLIUsageError("--history-dir applies only with --record") }
        if list {
            let measuring = [("--json", json != nil), ("--record", record), ("--repetitions", repetitions != nil), ("--quick", quick), ("--quiet", quiet)]
            if let (name, _) = measuring.first(where: { $0.1 }) {
                throw CLIUsageError("\(name) does not apply with --list (which measures nothing)")
            }
        }
    }

    func run() throws {
        try refuseOptionsThatDoNotApply()
        if let r = repetitions, r < 1 { throw BenchError.invalidRepetitions(r) }
        let all = BenchRegistry.cases()
        let selected = try BenchRunner.select(all, filter: filter)
        if list {
            for c in selected { print(c.name) }
            return
        }
        let historyDir = self.historyDir ?? BenchHistory.defaultDirectory
        // Check every output before measuring, so a long run never ends with its results lost.
        let stamp = RunStamp.current()
        if let json { try CLIPaths.checkOutputFile(json) }
        if record {
            guard stamp.gitCommit != "unknown" else { throw HistoryError.unknownCommit }
            try AtomicFile.ensureDirectory(historyDir)
        }
        if stamp.buildConfiguration == "debug" {
            CLI.warn("debug build: timings are not representative; build with `swift build -c release`")
        }
        var settings = quick ? BenchSettings.quick : BenchSettings()
        if let repetitions { settings.repetitions = repetitions }
        let refs = BenchRunner.referenceCases(for: selected, references: MemoryCopy.reference)
        let progress = quiet ? nil : ProgressReporter(label: "bench", total: UInt64(refs.count + selected.count))
        let results = BenchRunner(settings: settings).run(selected, references: MemoryCopy.reference, progress: progress)
        print(ReportWriter.throughputTable(results), terminator: "")
        let file = ResultsFile(stamp: stamp, benchmarks: results)
        if let json { try file.write(to: json) }
        if record {
            let path = try BenchHistory.record(file, directory: historyDir)
            if !quiet { CLI.warn("recorded \(path)") }
        }
    }
}
