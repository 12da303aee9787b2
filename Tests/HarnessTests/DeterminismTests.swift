import Conformance
import Formats
import Foundation
import Quant
import Testing
@testable import Harness

/// The determinism guarantee (README, "Reliability"): every result except timings
/// (`wallSeconds`, benchmark samples) and the run stamp is bit-identical across two runs,
/// across thread counts, and across a sharded run merged with `ShardMerger` versus an
/// unsharded one. Checked here on a reduced configuration: one format, a window of the
/// Float32 patterns, every registered default suite but the accuracy suites (so suites that land later are covered
/// too). These tests also drive the parallel sweep, bulk codec, benchmark and calibrator-merge
/// paths with two threads, which is what the ThreadSanitizer CI step runs.
@Suite("Determinism", .serialized)
struct DeterminismTests {
    static let window: Range<UInt64> = 0..<(1 << 18)
    static let format = FloatFormat.e4m3fn

    /// Suite results with timings removed, encoded as canonical JSON (bit patterns of every
    /// metric included; NaN-safe, unlike `==` on `Double`).
    static func identity(_ results: [SuiteResult]) -> Data {
        let file = ResultsFile(stamp: fixedStamp(), suites: results.map { var r = $0; r.wallSeconds = 0; return r })
        return file.encoded()
    }

    /// Every default suite except the accuracy suites: at their default sizes those cost about
    /// 30 s per run in a debug build, and this file runs the set six times (and again under
    /// ThreadSanitizer). Their thread-count independence is tested at fixture sizes in
    /// ConformanceTests/AccuracyTests.swift, and the CI determinism step runs the full default
    /// set (accuracy included) in release at --threads 1 and 2 and as two merged shards.
    static let suites: [String] = ConformanceRunner.suites
        .filter { $0.runsByDefault && !ConformanceRunner.accuracySuiteNames.contains($0.name) }.map(\.name)

    func run(threads: Int, patterns: Range<UInt64> = window) throws -> [SuiteResult] {
        try ConformanceRunner.run(VerifyOptions(suites: Self.suites, formats: [Self.format], threads: threads, patterns: patterns))
    }

    /// The unsharded two-thread run of the window, shared by the tests below.
    static let reference: [SuiteResult] = try! ConformanceRunner.run(
        VerifyOptions(suites: suites, formats: [format], threads: 2, patterns: window))

    /// Negative control: the identity sees a one-ulp change of a metric or a count, and
    /// ignores wall time.
    @Test func identityIgnoresOnlyTimings() {
        var r = sampleSuite()
        let base = Self.identity([r])
        r.wallSeconds = 99
        #expect(Self.identity([r]) == base)
        r.metrics[0].value = r.metrics[0].value.nextUp
        #expect(Self.identity([r]) != base)
        var q = sampleSuite()
        q.covered += 1
        #expect(Self.identity([q]) != base)
    }

    @Test func identicalAcrossRunsAndThreadCounts() throws {
        let a = try run(threads: 1)
        let b = try run(threads: 1)
        let c = Self.reference
        let d = try run(threads: 3)  // more workers than cores, uneven blocks
        #expect(!a.isEmpty && a.allSatisfy(\.passed))
        #expect(Self.identity(a) == Self.identity(b), "two runs differ")
        #expect(Self.identity(a) == Self.identity(c), "threads 1 and 2 differ")
        #expect(Self.identity(a) == Self.identity(d), "threads 1 and 3 differ")
    }

    /// The accuracy suites: the registry's default run for the ones that are quick in debug
    /// builds, and `mse-gain`/`alpha-sweep` (the only ones taking a thread count) on a reduced
    /// scenario, for 1, 2 and 3 threads and a repeat.
    @Test func accuracySuitesIdenticalAcrossRunsAndThreadCounts() throws {
        let heavy = [MSEGainSuite.name, AlphaSweepSuite.name]
        let light = ConformanceRunner.accuracySuiteNames.filter { !heavy.contains($0) }
        let scenario = MSEGainSuite.Scenario(
            id: "determinism", tokens: 48, inFeatures: 96, outFeatures: 8, calibrationTokens: nil, outlierChannels: 4,
            tail: .studentT(degreesOfFreedom: 4), modelSeed: 21, dataSeed: 22, calibrationSeed: 23, casePrefix: "",
            alphaSearchTokens: 24)
        func run(_ threads: Int) throws -> [SuiteResult] {
            try ConformanceRunner.run(VerifyOptions(suites: light, threads: threads))
                + MSEGainSuite.run(scenario: scenario, factors: [1, 50], threads: threads, golden: nil, implementation: .production)
                + AlphaSweepSuite.run(scenario: scenario, threads: threads, implementation: .production)
        }
        let one = try run(1)
        #expect(Set(one.map(\.suite)) == Set(ConformanceRunner.accuracySuiteNames))
        #expect(one.allSatisfy { $0.passed })
        let reference = Self.identity(one)
        let again = try run(1)
        #expect(Self.identity(again) == reference, "two runs differ")
        for t in [2, 3] {
            let other = try run(t)
            #expect(Self.identity(other) == reference, "threads 1 and \(t) differ")
        }
    }

    @Test(arguments: [2, 3])
    func shardedAndMergedEqualsUnsharded(shards: Int) throws {
        let domain = InputRange(lower: Self.window.lowerBound, upper: Self.window.upperBound)
        let unsharded = Self.reference
        var files: [(path: String, file: ResultsFile)] = []
        for (i, r) in try domain.split(into: shards).enumerated() {
            let results = try run(threads: 2, patterns: r.lower..<r.upper)
            files.append(("shard\(i + 1).json", ResultsFile(
                stamp: fixedStamp(), suites: results, shard: ShardInfo(index: i + 1, count: shards, domain: domain, range: r))))
        }
        // Shards in any argument order.
        let merged = try ShardMerger.merge(files.reversed())
        #expect(Self.identity(merged.suites) == Self.identity(unsharded))
        // The split suites really were split: a later shard covered only its part.
        #expect(files[1].file.suites.contains { $0.suite == "exhaustive-f32" })
        #expect(!files[1].file.suites.contains { $0.suite == "decode" })
    }

    /// Every result that draws random inputs records the seed it used, so the scenario can be
    /// replayed from the results file alone.
    @Test func randomScenariosRecordTheirSeed() throws {
        let results = Self.reference
        for r in results where ["float64", "stochastic"].contains(r.suite) {
            #expect(r.parameters["seed"].flatMap(UInt64.init) != nil, "\(r.suite) \(r.caseName): no seed")
        }
        // Replaying from the recorded seed reproduces the inputs.
        let seed = try #require(results.first { $0.suite == "float64" }?.parameters["seed"].flatMap(UInt64.init))
        let p1 = Float64Suite.probes(format: Self.format, randomCount: 1000, seed: seed)
        let p2 = Float64Suite.probes(format: Self.format, randomCount: 1000, seed: seed)
        #expect(p1.map(\.bitPattern) == p2.map(\.bitPattern))
        #expect(p1.map(\.bitPattern) != Float64Suite.probes(format: Self.format, randomCount: 1000, seed: seed &+ 1).map(\.bitPattern))
    }

    /// Bulk conversion, stochastic rounding included, does not depend on the thread count
    /// (element i draws from the seed and i only). Sizes are past the parallel threshold.
    @Test(arguments: [RoundingRule.toNearestOrEven, .stochastic])
    func bulkCodecIdenticalAcrossThreads(rounding: RoundingRule) throws {
        let xs = (0..<100_003).map { i in Float(bitPattern: UInt32(truncatingIfNeeded: SplitMix64.draw(seed: 7, index: UInt64(i)))) }
        for format in [FloatFormat.e4m3fn, .e2m1fn, .bfloat16] {
            let codec = NarrowFloatCodec(format: format, policy: ConversionPolicy(rounding: rounding))
            let one = try codec.encodeWide(xs, seed: 99, threads: 1)
            for t in [2, 3, 8] { #expect(try codec.encodeWide(xs, seed: 99, threads: t) == one, "\(format) threads \(t)") }
            let back = try codec.decode(one, threads: 1)
            #expect(try codec.decode(one, threads: 2).map(\.bitPattern) == back.map(\.bitPattern))
            if format.bitWidth <= 8 {
                let small = try codec.encode(xs, seed: 99, threads: 2)
                #expect(small.map(UInt16.init) == one)
            }
        }
    }

    /// Calibrating in parallel (one calibrator per thread, merged) gives exactly the state of a
    /// sequential pass, in any merge order.
    @Test func calibratorMergeFromConcurrentThreadsIsExact() throws {
        let features = 64, rowsPerBatch = 32, batches = 24
        let shape = try TensorShape([rowsPerBatch, features])
        let data: [[Float]] = (0..<batches).map { b in
            (0..<rowsPerBatch * features).map { i in
                Float(Int64(bitPattern: SplitMix64.draw(seed: UInt64(b), index: UInt64(i))) >> 40) / 4096
            }
        }
        var sequential = SmoothQuantCalibrator()
        var sequentialStats = CalibrationStatistics()
        for (b, batch) in data.enumerated() {
            try sequential.observe(layer: "layer\(b % 3)", activations: batch, shape: shape)
            try sequentialStats.update(batch)
        }
        let workers = 4
        let partial = UnsafeMutableBufferPointer<SmoothQuantCalibrator>.allocate(capacity: workers)
        let partialStats = UnsafeMutableBufferPointer<CalibrationStatistics>.allocate(capacity: workers)
        partial.initialize(repeating: SmoothQuantCalibrator())
        partialStats.initialize(repeating: CalibrationStatistics())
        defer {
            partial.deinitialize().deallocate()
            partialStats.deinitialize().deallocate()
        }
        nonisolated(unsafe) let p = partial, ps = partialStats
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for b in stride(from: w, to: batches, by: workers) {
                try! p[w].observe(layer: "layer\(b % 3)", activations: data[b], shape: shape)
                try! ps[w].update(data[b])
            }
        }
        for order in [Array(0..<workers), Array((0..<workers).reversed())] {
            var merged = SmoothQuantCalibrator()
            var stats = CalibrationStatistics()
            for w in order {
                try merged.merge(partial[w])
                stats.merge(partialStats[w])
            }
            #expect(merged == sequential)
            // Counts, extrema, max |x| and the quantile sketch are exact under any split; mean
            // and M2 use Chan's pairwise update (documented as not bit-exact across splits).
            #expect(stats.count == sequentialStats.count && stats.min == sequentialStats.min && stats.max == sequentialStats.max)
            #expect(stats.absMax == sequentialStats.absMax)
            #expect(try stats.quantileAbs(0.99) == sequentialStats.quantileAbs(0.99))
            #expect(abs(stats.mean - sequentialStats.mean) <= 1e-12 * max(1, abs(sequentialStats.mean)))
        }
    }

    /// Two-thread benchmark cases run their parallel bodies (exercised under TSan in CI);
    /// their outputs are the single-thread outputs.
    @Test func twoThreadBenchmarkCasesRun() throws {
        let cases = BenchRegistry.cases(BenchContext(sizes: [.cache], threadCounts: [2]))
        let selected = try BenchRunner.select(cases, filter: "^(memcpy|codec\\.(encode|decode)/(e4m3fn|e2m1fn|bfloat16))/cache/t2$")
        #expect(selected.count >= 3)
        let runner = BenchRunner(settings: BenchSettings(repetitions: 2, warmupSeconds: 0, targetRepetitionSeconds: 0))
        for c in selected {
            let r = runner.measure(c)
            #expect(r.threads == 2 && r.samples.count == 2, "\(c.name)")
        }
    }
}
