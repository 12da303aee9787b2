import Foundation

/// The measured outcome of one benchmark case.
///
/// Times are seconds per *iteration* (one call of the kernel over `elements` elements). Each of
/// the `samples` is one repetition: the kernel is run `iterationsPerRepetition` times back to
/// back and the elapsed time divided by that count. Statistics are over the samples:
///
///     median = middle sample (mean of the two middle ones for an even count)
///     MAD    = median_i |sample_i − median|          (unscaled median absolute deviation)
///     elements/s = elements / median,  bytes/s = bytes / median
///
/// `bytes` counts bytes read plus bytes written by one iteration, the same convention as the
/// memory-copy reference (a copy of n bytes moves 2n), so `rooflineFraction` = bytes/s of the
/// kernel ÷ bytes/s of the copy of the same size class measured in the same run.
public struct BenchResult: Codable, Sendable, Hashable {
    /// Unique key, e.g. `codec.encode/e4m3fn/dram/t1`.
    public var name: String
    /// The family, e.g. `codec.encode`: charts and tables group by it.
    public var group: String
    /// Everything needed to reproduce the case (format, policy, shape, seed…).
    public var parameters: [String: String]
    /// `cache`, `dram` or `n/a`: which memory level the working set lives in.
    public var sizeClass: String
    public var threads: Int
    /// Elements processed per iteration.
    public var elements: Int
    /// Bytes read plus written per iteration.
    public var bytes: Int
    public var warmupIterations: Int
    public var iterationsPerRepetition: Int
    /// Seconds per iteration, one per repetition, in measurement order.
    public var samples: [Double]
    public var medianSeconds: Double
    public var minSeconds: Double
    public var maxSeconds: Double
    public var madSeconds: Double
    public var elementsPerSecond: Double
    public var bytesPerSecond: Double
    /// Name of the memory-copy case this one is compared with, when any.
    public var rooflineReference: String?
    /// bytesPerSecond ÷ the reference's bytesPerSecond.
    public var rooflineFraction: Double?
    /// Instructions executed by one iteration under Callgrind (`bench --instructions`), the
    /// deterministic metric: identical across reruns of the same build on the same input.
    /// nil when not measured (no `--instructions`, or a multi-threaded case).
    public var instructions: UInt64?

    public init(
        name: String, group: String, parameters: [String: String] = [:], sizeClass: String,
        threads: Int, elements: Int, bytes: Int, warmupIterations: Int,
        iterationsPerRepetition: Int, samples: [Double],
        rooflineReference: String? = nil, rooflineFraction: Double? = nil, instructions: UInt64? = nil
    ) {
        precondition(!samples.isEmpty, "a benchmark needs at least one sample")
        self.name = name
        self.group = group
        self.parameters = parameters
        self.sizeClass = sizeClass
        self.threads = threads
        self.elements = elements
        self.bytes = bytes
        self.warmupIterations = warmupIterations
        self.iterationsPerRepetition = iterationsPerRepetition
        self.samples = samples
        let s = SampleStatistics(samples)
        self.medianSeconds = s.median
        self.minSeconds = s.min
        self.maxSeconds = s.max
        self.madSeconds = s.mad
        self.elementsPerSecond = Double(elements) / s.median
        self.bytesPerSecond = Double(bytes) / s.median
        self.rooflineReference = rooflineReference
        self.rooflineFraction = rooflineFraction
        self.instructions = instructions
    }

    /// MAD relative to the median: the run's own noise level.
    public var relativeMAD: Double { medianSeconds > 0 ? madSeconds / medianSeconds : 0 }
}

/// Order statistics of a sample: median, min, max and the median absolute deviation.
public struct SampleStatistics: Sendable, Hashable {
    public var median: Double
    public var min: Double
    public var max: Double
    public var mad: Double

    public init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "statistics of an empty sample")
        let sorted = samples.sorted()
        median = Self.median(ofSorted: sorted)
        min = sorted.first!
        max = sorted.last!
        let m = median
        mad = Self.median(ofSorted: samples.map { abs($0 - m) }.sorted())
    }

    /// Middle element, or the mean of the two middle elements.
    public static func median(ofSorted s: [Double]) -> Double {
        let n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }
}
