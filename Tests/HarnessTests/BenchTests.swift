import Support
import Foundation
import Testing
@testable import Harness

@Suite("Benchmark runner")
struct BenchTests {
    /// A clock that advances by a fixed step per reading, so statistics are exact.
    final class StepClock: Sendable {
        let t = Locked<Double>(0)
        let step: Double
        init(step: Double) { self.step = step }
        var now: @Sendable () -> Double { { self.t.withLock { $0 += self.step; return $0 } } }
    }

    final class Counter: Sendable {
        let calls = Locked(0)
        var value: Int { calls.withLock { $0 } }
    }

    func countingCase(_ name: String, size: SizeClass = .cache, threads: Int = 1, counter: Counter? = nil) -> BenchCase {
        BenchCase(name: name, group: String(name.split(separator: "/")[0]), sizeClass: size, threads: threads,
                  elements: 1000, bytes: 8000, prepare: { { counter?.calls.withLock { $0 += 1 } } })
    }

    @Test func warmupRepetitionsAndStatistics() {
        let clock = StepClock(step: 0.001)
        let runner = BenchRunner(settings: BenchSettings(repetitions: 5, warmupSeconds: 0.0045, targetRepetitionSeconds: 0.004), clock: clock.now)
        let calls = Counter()
        let r = runner.measure(countingCase("k/x", counter: calls))
        // Each clock read advances 1 ms: warm-up reads once per call until ≥ 4.5 ms → 5 calls.
        #expect(r.warmupIterations == 5)
        #expect(r.samples.count == 5)
        #expect(calls.value == r.warmupIterations + 5 * r.iterationsPerRepetition)
        #expect(r.samples.allSatisfy { $0 > 0 })
        #expect(r.medianSeconds == SampleStatistics(r.samples).median)
        #expect(r.elementsPerSecond == 1000 / r.medianSeconds && r.bytesPerSecond == 8000 / r.medianSeconds)
    }

    @Test func statistics() {
        let s = SampleStatistics([5, 1, 4, 2, 3])
        #expect(s.median == 3 && s.min == 1 && s.max == 5 && s.mad == 1)
        let e = SampleStatistics([1, 2, 3, 10])
        #expect(e.median == 2.5 && e.mad == 1)  // deviations 1.5, 0.5, 0.5, 7.5 → median 1
    }

    @Test func referencesAreMeasuredAndRooflineAttached() {
        let runner = BenchRunner(settings: BenchSettings(repetitions: 2, warmupSeconds: 0, targetRepetitionSeconds: 0), clock: StepClock(step: 0.001).now)
        let cases: [BenchCase] = [countingCase("k/a/cache/t1"), countingCase("k/b/dram/t2", size: SizeClass.dram, threads: 2), countingCase("k/c/cache/t1")]
        let make = self.countingCase
        let progress = ProgressProbe()
        let reporter = ProgressReporter(label: "bench", total: 5, mode: .plain, sink: progress.sink, now: progress.now)
        let results = runner.run(cases, references: { s, t in make("memcpy/\(s.rawValue)/t\(t)", s, t, nil) }, progress: reporter)
        #expect(results.map { $0.name } == ["memcpy/cache/t1", "memcpy/dram/t2", "k/a/cache/t1", "k/b/dram/t2", "k/c/cache/t1"])
        #expect(results[2].rooflineReference == "memcpy/cache/t1" && results[3].rooflineReference == "memcpy/dram/t2")
        #expect(results[2].rooflineFraction! == results[2].bytesPerSecond / results[0].bytesPerSecond)
        #expect(results[0].rooflineFraction == nil)
        #expect(progress.text.hasSuffix("bench: 5 done in 0:00\n"))
    }

    @Test func registryNamesAreUniqueAndFollowTheLayout() {
        let cases = BenchRegistry.cases(BenchContext(threadCounts: [1, 2]))
        let names = cases.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(cases.allSatisfy { $0.name.hasPrefix($0.group + "/") && $0.name.hasSuffix("/t\($0.threads)") })
        for group in ["codec.encode", "codec.decode"] {
            for size in SizeClass.allCases {
                for t in [1, 2] {
                    #expect(cases.filter { $0.group == group && $0.sizeClass == size && $0.threads == t }.count == 13, "\(group) \(size) t\(t)")
                }
            }
        }
        #expect(cases.contains { $0.name == "codec.encode.scalar/e4m3fn/cache/t1" })
        #expect(cases.first { $0.name == "codec.encode/e4m3fn/dram/t1" }!.bytes == (16 << 20) * 5)
        #expect(cases.first { $0.name == "codec.encode/binary16/cache/t1" }!.bytes == (16 << 10) * 6)
    }

    @Test func codecCaseRunsOnTheSharedInputs() {
        // A real case, in cache: one call encodes the shared input buffer.
        let c = BenchRegistry.cases(BenchContext(sizes: [.cache], threadCounts: [1])).first { $0.name == "codec.encode/e4m3fn/cache/t1" }!
        let body = c.prepare()
        body()
        let r = BenchRunner(settings: BenchSettings(repetitions: 1, warmupSeconds: 0, targetRepetitionSeconds: 0)).measure(c)
        #expect(r.samples.count == 1 && r.elements == 16 << 10)
        let inputs = BenchInputs.floats(16 << 10)
        let finite = (0..<(16 << 10)).map { inputs.buffer[$0] }
        #expect(finite.allSatisfy { $0.isFinite && abs($0) >= 0x1p-20 && abs($0) < 0x1p20 })
        #expect(finite.contains { $0 < 0 } && finite.contains { $0 > 0 })
    }

    @Test func everyAlgorithmCaseRunsInCache() {
        let cases = BenchRegistry.cases(BenchContext(sizes: [.cache], threadCounts: [1]))
            .filter { !$0.group.hasPrefix("codec") && $0.group != MemoryCopy.group }
        #expect(Set(cases.map(\.group)).isSuperset(of: [
            "int8.quantize.per-token", "fp8.quantize.blockwise128", "mx.quantize", "nvfp4.quantize",
            "gemv.w8a8", "gemv.fp8-e4m3fn", "gemv.f32", "smoothquant.factors",
        ]))
        for c in cases {
            #expect(c.elements > 0 && c.bytes > 0 && c.sizeClass == .cache, "\(c.name)")
            c.prepare()()  // traps (try!) if an API rejects the benchmark's own inputs
        }
    }

    @Test func filterSelection() throws {
        let cases = [countingCase("codec.encode/e4m3fn/cache/t1"), countingCase("codec.decode/e5m2/dram/t1")]
        #expect(try BenchRunner.select(cases, filter: "e4m3").map(\.name) == ["codec.encode/e4m3fn/cache/t1"])
        #expect(try BenchRunner.select(cases, filter: nil).count == 2)
        #expect(try BenchRunner.select(cases, filter: "^codec\\.(en|de)code/").count == 2)
        #expect(throws: BenchError.noCaseMatches("int4")) { try BenchRunner.select(cases, filter: "int4") }
        #expect(throws: BenchError.invalidFilter("([", reason: "not a valid regular expression")) { try BenchRunner.select(cases, filter: "([") }
    }

    @Test func memcpyReferenceCopies() {
        let ref = MemoryCopy.reference(size: .cache, threads: 2)
        #expect(ref.name == "memcpy/cache/t2" && ref.bytes == 2 * (64 << 10))
        ref.prepare()()
    }
}
