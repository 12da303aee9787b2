import ArgumentParser
import Foundation
import Harness

/// `quantcheck compare BASE HEAD`: benchmark deltas with a noise band; exit 1 on regression.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two benchmark results files (exit 1 when a case regresses beyond the threshold and the noise band).",
        discussion: """
            change = Hodges–Lehmann shift of the wall-time samples (median of head/base over all pairs − 1), \
            with its 95 % confidence interval; p = two-sided Mann–Whitney U test. Noise band = k × 1.4826 × \
            MAD/median (the larger of the two runs; k = --noise-sigmas). A case is slower when p < 0.002 and \
            its change exceeds both the threshold and the band; with fewer than 7 repetitions per run no \
            verdict is possible and the row says so. Prints a Markdown table; warns on stderr when the runs come from different \
            machines or build configurations.
            """)

    @Argument(help: "Baseline results JSON (from `quantcheck bench --json`).")
    var base: String

    @Argument(help: "Results JSON to check against the baseline.")
    var head: String

    @Option(help: "Regression threshold on the median: a percentage (5%) or a fraction (0.05).")
    var threshold = "5%"

    @Option(name: .customLong("noise-sigmas"), help: "Noise band half-width in robust standard deviations.")
    var noiseSigmas = 3.0

    @Option(help: "Also write the Markdown table to this file.")
    var output: String?

    func run() throws {
        let t = try BenchComparison.parseThreshold(threshold)
        guard noiseSigmas.isFinite, noiseSigmas >= 0 else {
            throw CLIUsageError("--noise-sigmas must be a non-negative number (got \(noiseSigmas))")
        }
        if let output { try CLIPaths.checkOutputFile(output) }
        let b = try ResultsFile.load(from: base)
        let h = try ResultsFile.load(from: head)
        guard !b.benchmarks.isEmpty else { throw CompareError.noBenchmarks(base) }
        guard !h.benchmarks.isEmpty else { throw CompareError.noBenchmarks(head) }
        let c = BenchComparison(base: b, head: h, threshold: t, noiseSigmas: noiseSigmas)
        try c.requireOverlap(base: base, head: head)
        for d in c.environmentDifferences { CLI.warn("warning: \(d); timings may not be comparable") }
        for d in c.noiseWarnings { CLI.warn("warning: \(d)") }
        let md = c.markdown()
        print(md, terminator: "")
        if let output { try AtomicFile.write(md, to: output) }
        if !c.regressions.isEmpty { throw ExitCode(1) }
    }
}
