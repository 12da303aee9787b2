import Foundation
import Testing
@testable import Harness

/// Samples around `median` with seeded multiplicative noise of relative size `noise`.
func noisyBench(_ name: String, median: Double, noise: Double, seed: UInt64, count: Int = 10) -> BenchResult {
    var state = seed
    let samples = (0..<count).map { _ -> Double in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let u = Double(state >> 11) / Double(1 << 53) * 2 - 1
        return median * (1 + noise * u)
    }
    return BenchResult(name: name, group: "g", sizeClass: "dram", threads: 1, elements: 1000, bytes: 5000,
                       warmupIterations: 1, iterationsPerRepetition: 1, samples: samples)
}

@Suite("Benchmark comparison")
struct CompareTests {
    func run(_ benches: [BenchResult], machine: String = "amd-epyc-2c") -> ResultsFile {
        ResultsFile(stamp: fixedStamp(machine: machine), benchmarks: benches)
    }

    @Test func injectedTwofoldSlowdownIsFlagged() {
        let base = run([noisyBench("encode", median: 1e-3, noise: 0.03, seed: 1), noisyBench("decode", median: 2e-3, noise: 0.03, seed: 2)])
        let head = run([noisyBench("encode", median: 2e-3, noise: 0.03, seed: 3), noisyBench("decode", median: 2e-3, noise: 0.03, seed: 4)])
        let c = BenchComparison(base: base, head: head, threshold: 0.05)
        #expect(c.regressions.map(\.name) == ["encode"])
        #expect(c.rows[0].verdict == .slower && abs(c.rows[0].change! - 1) < 0.1)
        #expect(c.rows[1].verdict == .withinNoise)
        let md = c.markdown()
        #expect(md.contains("**1 regression**") && md.contains("🔴 slower"))
        #expect(markdownTableProblems(md).isEmpty)
    }

    @Test func identicalRerunPasses() {
        let base = run([noisyBench("encode", median: 1e-3, noise: 0.03, seed: 1)])
        let rerun = run([noisyBench("encode", median: 1e-3, noise: 0.03, seed: 9)])
        for head in [base, rerun] {
            let c = BenchComparison(base: base, head: head)
            #expect(c.regressions.isEmpty)
            #expect(c.rows.allSatisfy { $0.verdict == .withinNoise })
        }
    }

    @Test func changeInsideTheNoiseBandIsNotARegression() {
        // 10 % slower, but each run's samples spread ±40 %: not distinguishable.
        let base = run([noisyBench("x", median: 1e-3, noise: 0.4, seed: 1)])
        let head = run([noisyBench("x", median: 1.1e-3, noise: 0.4, seed: 2)])
        let c = BenchComparison(base: base, head: head, threshold: 0.05)
        #expect(c.rows[0].noiseBand! > 0.1)
        #expect(c.rows[0].verdict == .withinNoise)
    }

    @Test func belowThresholdIsNotARegressionEvenIfOutsideNoise() {
        let base = run([sampleBench("x", median: 1e-3, spread: 0.001)])
        let head = run([sampleBench("x", median: 1.03e-3, spread: 0.001)])
        #expect(BenchComparison(base: base, head: head, threshold: 0.05).regressions.isEmpty)
        #expect(BenchComparison(base: base, head: head, threshold: 0.02).regressions.count == 1)
    }

    @Test func oneFastOutlierDoesNotHideAnEstablishedSlowdown() {
        // Median +30 % with a tight MAD; one head repetition as fast as the base. The rank test
        // still finds 8 of 9 head samples above every base sample (p ≪ 0.002): slower.
        var head = sampleBench("x", median: 1.3e-3, spread: 0.001)
        head.samples[0] = 1.0e-3
        head = BenchResult(name: head.name, group: head.group, sizeClass: head.sizeClass, threads: 1, elements: head.elements,
                           bytes: head.bytes, warmupIterations: 1, iterationsPerRepetition: 1, samples: head.samples)
        let c = BenchComparison(base: run([sampleBench("x", median: 1e-3, spread: 0.001)]), head: run([head]))
        #expect(c.rows[0].change! > 0.25 && c.rows[0].rank!.pValue < 0.002)
        #expect(c.rows[0].verdict == .slower)
        #expect(c.rows[0].reason.contains("< 0.00200"))
    }

    @Test func tooFewRepetitionsGiveNoVerdictAndSaySo() {
        // A 2× slowdown measured with 3 repetitions each: p cannot go below 0.1.
        let base = run([noisyBench("x", median: 1e-3, noise: 0.01, seed: 1, count: 3)])
        let head = run([noisyBench("x", median: 2e-3, noise: 0.01, seed: 2, count: 3)])
        let c = BenchComparison(base: base, head: head)
        #expect(c.rows[0].verdict == .tooFewRepetitions && c.regressions.isEmpty)
        #expect(c.markdown().contains("⚠️ too few repetitions") && c.markdown().contains("smallest possible p 0.100"))
    }

    @Test func twentyRerunsOfOneDistributionFlagNothing() {
        // Negative control of the test's false-positive rate: 20 base/head pairs drawn from the
        // same ±20 % noise, 10 repetitions each.
        for seed in UInt64(1)...20 {
            let base = run([noisyBench("x", median: 1e-3, noise: 0.2, seed: seed)])
            let head = run([noisyBench("x", median: 1e-3, noise: 0.2, seed: seed + 100)])
            #expect(BenchComparison(base: base, head: head).regressions.isEmpty, "seed \(seed)")
        }
    }

    @Test func noiseWarnings() {
        var loaded = fixedStamp()
        loaded.loadAverage = 9.5
        let base = ResultsFile(stamp: loaded, benchmarks: [noisyBench("a", median: 1e-3, noise: 0.01, seed: 1, count: 3)])
        let c = BenchComparison(base: base, head: run([noisyBench("a", median: 1e-3, noise: 0.01, seed: 2, count: 3)]))
        #expect(c.environmentDifferences.isEmpty)
        #expect(c.noiseWarnings == [
            "the base run started with load average 9.50 on 2 cores (other processes competed for the CPU)",
            "some cases have only 3 repetitions; the rank test needs 7 or more per run to reach p < 0.00200 (use --repetitions)",
        ])
        #expect(c.markdown().contains("> ⚠️ some cases have only 3 repetitions"))
    }

    @Test func fasterNewAndMissing() {
        let base = run([sampleBench("a", median: 2e-3), sampleBench("gone", median: 1e-3)])
        let head = run([sampleBench("a", median: 1e-3), sampleBench("added", median: 1e-3)])
        let c = BenchComparison(base: base, head: head)
        #expect(c.rows.map(\.verdict) == [.faster, .missing, .new])
        #expect(c.regressions.isEmpty)
    }

    @Test func differentMachinesAreReported() {
        let c = BenchComparison(base: run([sampleBench("a", median: 1)]), head: run([sampleBench("a", median: 1)], machine: "other"))
        #expect(c.environmentDifferences.count == 1 && c.environmentDifferences[0].hasPrefix("machines differ"))
        #expect(c.markdown().contains("⚠️ machines differ"))
    }

    @Test func thresholdParsing() throws {
        #expect(try BenchComparison.parseThreshold("5%") == 0.05)
        #expect(try BenchComparison.parseThreshold("0.05") == 0.05)
        #expect(try BenchComparison.parseThreshold("12.5%") == 0.125)
        #expect(try BenchComparison.parseThreshold("0") == 0)
        for bad in ["5", "abc", "-1%", "%", "", "inf%", "nan"] {
            #expect(throws: CompareError.invalidThreshold(bad)) { try BenchComparison.parseThreshold(bad) }
        }
    }
}
