import ArgumentParser
import Conformance
import Formats
import Foundation
import Harness

/// `quantcheck gate`: verify + golden + (optional) bench against a baseline, reports, one
/// exit code.
struct GateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Run verify, the golden check and optionally bench; write results and reports; exit 0 pass, 1 fail, 2 input error.",
        discussion: """
            Thresholds and steps come from the configuration file (default Golden/gate.json, every \
            threshold documented in its _doc fields). Writes <output>/results.json and the Markdown \
            report (summary.md first); prints the verdict and its reasons.
            """)

    @Option(help: "Gate configuration JSON.")
    var config = GateConfig.defaultPath

    @Option(help: "Report directory (overrides report.output).")
    var output: String?

    @Flag(help: "Run the benchmarks even if the configuration disables them.")
    var bench = false

    @Option(help: "Baseline results to compare benchmarks against (implies --bench; overrides bench.baseline).")
    var baseline: String?

    @Flag(help: "No progress lines.")
    var quiet = false

    func run() throws {
        var cfg = try GateConfig.load(from: config)
        if let output {
            cfg.report.output = output
            if cfg.report.results == nil { cfg.report.results = (output as NSString).appendingPathComponent("results.json") }
        }
        if bench || baseline != nil { cfg.bench.enabled = true }
        if let baseline { cfg.bench.baseline = baseline }

        // Validate every input before any long step (exit 2, nothing run).
        let formats = try cfg.verify.formats.map { name throws(FormatError) in try FloatFormat(named: name) }
        let threads = cfg.verify.threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : cfg.verify.threads
        let options = VerifyOptions(suites: cfg.verify.suites, formats: formats, exhaustive: cfg.verify.exhaustive, threads: threads)
        let selectedSuites = cfg.verify.enabled ? try ConformanceRunner.selected(options) : []
        let benchCases = cfg.bench.enabled ? try BenchRunner.select(BenchRegistry.cases(), filter: cfg.bench.filter) : []

        let quiet = self.quiet
        let steps = GateSteps(
            verify: { _ in
                var o = options
                let sweeps = selectedSuites.contains { $0.splitsByPattern }
                let progress: ProgressReporter? = quiet || !sweeps ? nil : ProgressReporter(
                    label: "verify",
                    total: UInt64(o.patterns.count) * UInt64(o.effectiveFormats.count) * UInt64(o.exhaustive ? 8 : 2))
                if let progress { o.progress = { progress.advance(by: $0) } }
                defer { progress?.finish() }
                return try ConformanceRunner.run(o)
            },
            golden: { g in try GoldenFiles.check(directory: g.directory) },
            bench: { b in
                var settings = b.quick ? BenchSettings.quick : BenchSettings()
                if let r = b.repetitions { settings.repetitions = r }
                let refs = BenchRunner.referenceCases(for: benchCases, references: MemoryCopy.reference)
                let progress = quiet ? nil : ProgressReporter(label: "bench", total: UInt64(refs.count + benchCases.count))
                return BenchRunner(settings: settings).run(benchCases, references: MemoryCopy.reference, progress: progress)
            })
        let outcome = try Gate.run(cfg, steps: steps, stamp: .current())
        print("gate: \(outcome.verdict.passed ? "PASS" : "FAIL")")
        for f in outcome.verdict.failures { print("  ✗ \(f)") }
        for n in outcome.verdict.notes { print("  · \(n)") }
        print("  results: \(outcome.resultsPath); report: \(outcome.reportFiles.last ?? cfg.report.output)")
        if !outcome.verdict.passed { throw ExitCode(1) }
    }
}
