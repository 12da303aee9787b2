import Dispatch
import Foundation
import Formats

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How long and how often to measure.
public struct BenchSettings: Sendable, Hashable {
    /// Timed repetitions per case (samples).
    public var repetitions: Int
    /// Untimed warm-up before measuring; also used to size a repetition.
    public var warmupSeconds: Double
    /// Each repetition runs the body enough times to last about this long, so that clock
    /// resolution and call overhead stay below 0.1 % of a sample.
    public var targetRepetitionSeconds: Double

    public init(repetitions: Int = 10, warmupSeconds: Double = 0.05, targetRepetitionSeconds: Double = 0.05) {
        self.repetitions = repetitions
        self.warmupSeconds = warmupSeconds
        self.targetRepetitionSeconds = targetRepetitionSeconds
    }

    /// `--quick`: 3 repetitions of about 10 ms after a 10 ms warm-up.
    public static let quick = BenchSettings(repetitions: 3, warmupSeconds: 0.01, targetRepetitionSeconds: 0.01)
}

public enum BenchError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidFilter(String, reason: String)
    case noCaseMatches(String)
    case invalidRepetitions(Int)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .invalidFilter(let f, let r): return "invalid --filter regular expression '\(f)': \(r)"
        case .noCaseMatches(let f): return "no benchmark matches --filter '\(f)' (see `quantcheck bench --list`)"
        case .invalidRepetitions(let n): return "--repetitions must be at least 1 (got \(n))"
        }
    }
}

/// Runs benchmark cases: warm-up, N timed repetitions, statistics; then attaches each case's
/// roofline fraction against the memory-copy reference of the same size class and thread
/// count, measured in the same run.
public struct BenchRunner: Sendable {
    public var settings: BenchSettings
    public var clock: @Sendable () -> Double

    public init(settings: BenchSettings = BenchSettings(), clock: @escaping @Sendable () -> Double = ProgressReporter.monotonicSeconds) {
        self.settings = settings
        self.clock = clock
    }

    /// Selects the cases whose name matches `filter` (an ICU regular expression searched
    /// anywhere in the name; nil selects all).
    public static func select(_ cases: [BenchCase], filter: String?) throws(BenchError) -> [BenchCase] {
        guard let filter else { return cases }
        let regex: NSRegularExpression
        do { regex = try NSRegularExpression(pattern: filter) } catch {
            throw .invalidFilter(filter, reason: "not a valid regular expression")
        }
        let chosen = cases.filter { c in
            regex.firstMatch(in: c.name, range: NSRange(c.name.startIndex..., in: c.name)) != nil
        }
        guard !chosen.isEmpty else { throw .noCaseMatches(filter) }
        return chosen
    }

    /// Measures one case.
    public func measure(_ c: BenchCase) -> BenchResult {
        let body = c.prepare()
        // Warm-up: at least one call, until warmupSeconds have passed.
        var warmup = 0
        let warmStart = clock()
        var last = warmStart
        repeat {
            body()
            warmup += 1
            last = clock()
        } while last - warmStart < settings.warmupSeconds
        let perCall = max((last - warmStart) / Double(warmup), 1e-9)
        let iterations = max(1, Int((settings.targetRepetitionSeconds / perCall).rounded(.up)))
        var samples: [Double] = []
        samples.reserveCapacity(settings.repetitions)
        for _ in 0..<settings.repetitions {
            let t0 = clock()
            for _ in 0..<iterations { body() }
            let t1 = clock()
            samples.append(max(t1 - t0, 1e-12) / Double(iterations))
        }
        return BenchResult(
            name: c.name, group: c.group, parameters: c.parameters, sizeClass: c.sizeClass.rawValue,
            threads: c.threads, elements: c.elements, bytes: c.bytes, warmupIterations: warmup,
            iterationsPerRepetition: iterations, samples: samples)
    }

    /// Measures the memory-copy references the cases need, then the cases, in order. The
    /// references come first in the output.
    public func run(
        _ cases: [BenchCase], references: (SizeClass, Int) -> BenchCase?,
        progress: ProgressReporter? = nil
    ) -> [BenchResult] {
        let refCases = Self.referenceCases(for: cases, references: references)
        var results: [BenchResult] = []
        for c in refCases + cases {
            results.append(measure(c))
            progress?.advance(by: 1)
        }
        progress?.finish()
        return Self.attachRoofline(results)
    }

    /// The reference cases `cases` need: one per distinct (size class, thread count), unless
    /// already among the cases.
    public static func referenceCases(for cases: [BenchCase], references: (SizeClass, Int) -> BenchCase?) -> [BenchCase] {
        var needed: [(SizeClass, Int)] = []
        for c in cases where c.group != MemoryCopy.group && !needed.contains(where: { $0 == (c.sizeClass, c.threads) }) {
            needed.append((c.sizeClass, c.threads))
        }
        return needed.compactMap { references($0.0, $0.1) }.filter { r in !cases.contains { $0.name == r.name } }
    }

    /// Sets `rooflineReference`/`rooflineFraction` of every non-reference result from the
    /// `memcpy` result with the same size class and thread count.
    public static func attachRoofline(_ results: [BenchResult]) -> [BenchResult] {
        results.map { r in
            guard r.group != MemoryCopy.group,
                  let ref = results.first(where: { $0.group == MemoryCopy.group && $0.sizeClass == r.sizeClass && $0.threads == r.threads })
            else { return r }
            var out = r
            out.rooflineReference = ref.name
            out.rooflineFraction = r.bytesPerSecond / ref.bytesPerSecond
            return out
        }
    }
}

/// The memory-copy reference: `memcpy` between two buffers, split over threads like the bulk
/// kernels. A copy of n bytes counts 2n bytes moved (n read + n written).
public enum MemoryCopy {
    public static let group = "memcpy"

    /// Bytes copied per call for each size class: 64 KiB (source + destination stay in L2)
    /// and 64 MiB (source + destination far beyond the last-level cache).
    public static func bytes(for size: SizeClass) -> Int {
        switch size {
        case .cache: return 64 << 10
        case .dram: return 64 << 20
        }
    }

    public static func reference(size: SizeClass, threads: Int) -> BenchCase {
        let n = bytes(for: size)
        return BenchCase(
            name: BenchCase.standardName(group: group, variant: "", size: size, threads: threads),
            group: group, parameters: ["bytes": String(n)], sizeClass: size, threads: threads,
            elements: n, bytes: 2 * n,
            prepare: {
                let src = HeapBuffer<UInt8>(count: n) { UInt8(truncatingIfNeeded: $0 &* 31) }
                let dst = HeapBuffer<UInt8>(zeroedCount: n)
                return {
                    parallelChunks(count: n, threads: threads) { lo, hi in
                        _ = memcpy(dst.buffer.baseAddress! + lo, src.buffer.baseAddress! + lo, hi - lo)
                    }
                }
            })
    }
}

/// Splits [0, count) into `threads` contiguous chunks aligned to 64 elements and runs them
/// concurrently (the same split the bulk codec uses).
@inline(__always)
public func parallelChunks(count: Int, threads: Int, _ body: (Int, Int) -> Void) {
    let t = min(threads, max(1, count / 4096))
    if t <= 1 { if count > 0 { body(0, count) }; return }
    let per = ((count + t - 1) / t + 63) & ~63
    DispatchQueue.concurrentPerform(iterations: t) { j in
        let lo = j * per, hi = min(count, lo + per)
        if lo < hi { body(lo, hi) }
    }
}
