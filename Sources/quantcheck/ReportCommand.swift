import ArgumentParser
import Foundation
import Harness

/// `quantcheck report`: Markdown + SVG from results files.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render results files as Markdown (summary, conformance, accuracy, throughput) with SVG charts.",
        discussion: """
            Writes summary.md (verdict first, one line per suite), conformance.md, accuracy.md, \
            throughput.md and charts/*.svg into the output directory. With --github-step-summary the \
            summary is also appended to $GITHUB_STEP_SUMMARY. Exits 0 once the report is written, \
            whatever the verdict (use `quantcheck gate` to decide).
            """)

    @Option(name: .customLong("input"), parsing: .upToNextOption, help: "Results JSON files (verify, merge, bench).")
    var inputs: [String] = []

    @Option(help: "Output directory (created if missing).")
    var output = "Reports"

    @Option(help: "Benchmark history for trend charts (default: <output>/history when it exists).")
    var history: String?

    @Option(help: "Baseline benchmark results to compare the inputs' benchmarks against.")
    var baseline: String?

    @Option(help: "Regression threshold for --baseline (default 5%).")
    var threshold: String?

    @Flag(name: .customLong("github-step-summary"), help: "Append summary.md to the file named by $GITHUB_STEP_SUMMARY.")
    var githubStepSummary = false

    func run() throws {
        guard !inputs.isEmpty else { throw ReportError.noInputs }
        if threshold != nil, baseline == nil { throw CLIUsageError("--threshold applies only with --baseline") }
        let t = try BenchComparison.parseThreshold(threshold ?? "5%")
        var stepSummary: String?
        if githubStepSummary {
            guard let p = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !p.isEmpty else {
                throw CLIUsageError("--github-step-summary: GITHUB_STEP_SUMMARY is not set")
            }
            stepSummary = p
        }
        var files: [(path: String, file: ResultsFile)] = []
        for p in inputs { files.append((p, try ResultsFile.load(from: p))) }
        var input = ReportInput(files: files)
        try input.validate()
        if let baseline {
            let base = try ResultsFile.load(from: baseline)
            guard !base.benchmarks.isEmpty else { throw CompareError.noBenchmarks(baseline) }
            let head = ResultsFile(stamp: files.first { !$0.file.benchmarks.isEmpty }?.file.stamp ?? files[0].file.stamp,
                                   benchmarks: input.benchmarks)
            let comparison = BenchComparison(base: base, head: head, threshold: t)
            try comparison.requireOverlap(base: baseline, head: inputs.joined(separator: ", "))
            input.comparison = comparison
        }
        let historyDir = history ?? (output as NSString).appendingPathComponent("history")
        let h = BenchHistory.load(directory: historyDir)
        input.history = h.entries
        input.historyWarnings = h.warnings
        for w in h.warnings { CLI.warn("warning: \(w)") }
        let written = try ReportWriter(input).write(to: output)
        if let stepSummary, let summary = written.last {
            try CLIPaths.append(contentsOf: summary, to: stepSummary)
        }
        print("report: wrote \(written.count) files to \(output); start with \(written.last!)")
    }
}
