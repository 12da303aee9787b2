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

    @Flag(help: "Also count instructions per iteration of each single-threaded case under Valgrind's Callgrind (deterministic; needs valgrind on PATH).")
    var instructions = false

    /// The Callgrind worker: runs the cases named in FILE (one per line), each prepared,
    /// warmed up and called once inside the counted region. Started by `--instructions`.
    @Option(name: .customLong("instructions-worker"), help: .hidden)
    var instructionsWorker: String?

    @Flag(help: "List the names of the cases (those --filter selects) and exit.")
    var list = false

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    /// Options that would be silently ignored: refused (exit 2, one line).
    func refuseOptionsThatDoNotApply() throws {
        if historyDir != nil, !record { throw CLIUsageError("--history-dir applies only with --record") }
        if list {
            let measuring = [("--json", json != nil), ("--record", record), ("--repetitions", repetitions != nil), ("--quick", quick), ("--quiet", quiet), ("--instructions", instructions)]
            if let (name, _) = measuring.first(where: { $0.1 }) {
                throw CLIUsageError("\(name) does not apply with --list (which measures nothing)")
            }
        }
    }

    func run() throws {
        try refuseOptionsThatDoNotApply()
        if let r = repetitions, r < 1 { throw BenchError.invalidRepetitions(r) }
        let all = BenchRegistry.cases()
        if let instructionsWorker {
            try InstructionWorkerInput.run(namesFile: instructionsWorker, cases: all)
            return
        }
        let selected = try BenchRunner.select(all, filter: filter)
        if list {
            for c in selected { print(c.name) }
            return
        }
        let historyDir = self.historyDir ?? BenchHistory.defaultDirectory
        if instructions && !selected.contains(where: InstructionCount.isCountable) {
            throw InstructionCountError.noCountableCase
        }
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
        var results = BenchRunner(settings: settings).run(selected, references: MemoryCopy.reference, progress: progress)
        if instructions {
            results = try InstructionWorkerInput.attachCounts(to: results, cases: all, quiet: quiet)
        }
        print(ReportWriter.throughputTable(results), terminator: "")
        let file = ResultsFile(stamp: stamp, benchmarks: results)
        if let json { try file.write(to: json) }
        if record {
            let path = try BenchHistory.record(file, directory: historyDir)
            if !quiet { CLI.warn("recorded \(path)") }
        }
    }
}

/// The two halves of `bench --instructions`: the parent's call into Callgrind and the worker
/// it starts (see `InstructionCount`).
enum InstructionWorkerInput {
    /// Worker side: the named cases, in the file's order; an unknown name is a usage error.
    static func run(namesFile: String, cases: [BenchCase]) throws {
        guard let text = try? String(contentsOfFile: namesFile, encoding: .utf8) else {
            throw CLIUsageError("--instructions-worker: cannot read '\(namesFile)'")
        }
        let byName = Dictionary(cases.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var chosen: [BenchCase] = []
        for name in text.split(separator: "\n").map(String.init) where !name.isEmpty {
            guard let c = byName[name], InstructionCount.isCountable(c) else {
                throw CLIUsageError("--instructions-worker: '\(name)' is not a single-threaded benchmark case")
            }
            chosen.append(c)
        }
        InstructionCount.runWorker(chosen)
    }

    /// Parent side: counts every countable result's case (references included) in one
    /// Callgrind run of this executable, and stores the counts in the results.
    static func attachCounts(to results: [BenchResult], cases: [BenchCase], quiet: Bool) throws -> [BenchResult] {
        let all = cases + BenchRunner.referenceCases(for: cases, references: MemoryCopy.reference)
        let byName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let countable = results.compactMap { byName[$0.name] }.filter(InstructionCount.isCountable)
        if !quiet { CLI.warn("bench: counting instructions of \(countable.count) single-threaded cases under Callgrind") }
        let start = ProgressReporter.monotonicSeconds()
        let counts = try InstructionCount.measure(countable, executable: executablePath())
        if !quiet { CLI.warn("bench: instruction counts done in \(Fmt.sig(ProgressReporter.monotonicSeconds() - start)) s") }
        let byCase = Dictionary(uniqueKeysWithValues: zip(countable.map(\.name), counts))
        return results.map { r in
            var out = r
            out.instructions = byCase[r.name]
            return out
        }
    }

    /// This process's executable (`/proc/self/exe` on Linux), so the worker is the same build.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
