import Formats

/// Streaming, mergeable statistics of calibration data: count, min, max, mean, standard
/// deviation, max |x| and quantiles of |x| (p99 by default), plus suggested quantization scales.
///
/// One pass: `update(_:)` reads each batch once (in cache-sized chunks). Any split of the data
/// into batches, threads or shards gives the same statistics after `merge`:
///
/// - **Exact** (bit-identical for every split and merge order): `count`, `min`, `max`,
///   `absMax`, the quantile sketch and hence `quantileAbs(_:)` / `p99Abs`.
/// - **Compensated** (Float64): `mean` and `variance` use a two-pass mean and sum of squared
///   deviations per chunk of ≤ 4096 values, combined with Chan et al.'s pairwise update
///   (n = nₐ + n_b, δ = μ_b − μₐ, μ = μₐ + δ·n_b/n, M2 = M2ₐ + M2_b + δ²·nₐ·n_b/n). Different
///   splits agree to within a few ulps of Float64 (relative ≈ 1e-15 for ordinary data), not
///   bitwise. For a fixed sequence of batches and merges the result is deterministic.
///
/// **Quantile sketch and its error bound.** |x| is counted in 2^15 buckets keyed by the top 16
/// bits of its Float32 encoding (8 exponent bits + the 7 leading mantissa bits), so each bucket
/// spans a relative width of at most 2^−7 (absolute 2^−133 in the subnormal range). Counts are
/// exact integers. `quantileAbs(p)` finds the bucket holding the exact nearest-rank quantile
/// q* (the k-th smallest |x|, k = max(1, ⌈p·n⌉)) and returns r = min(bucket's largest Float32,
/// absMax). Guarantee:
///
///     q* ≤ r < q* · (1 + 2^−7)        when q* ≥ 2^−126 (normal),
///     q* ≤ r < q* + 2^−133            otherwise.
///
/// i.e. r never underestimates and overestimates by less than 0.79 %. p = 1 returns absMax
/// exactly.
///
/// Non-finite input throws `QuantError.nonFiniteInput` and leaves the statistics unchanged.
public struct CalibrationStatistics: Sendable, Equatable, Codable {
    public private(set) var count: Int = 0
    /// Smallest value seen (+∞ when empty).
    public private(set) var min: Float = .infinity
    /// Largest value seen (−∞ when empty).
    public private(set) var max: Float = -.infinity
    /// Running mean (Float64), 0 when empty.
    public private(set) var mean: Double = 0
    /// Sum of squared deviations from the mean (Float64).
    public private(set) var m2: Double = 0
    /// Bit pattern of max |x| (exact).
    private var absMaxBits: UInt32 = 0
    /// bucket → count for |x| (see the type's documentation). Sparse in the encoded form.
    private var buckets: [UInt64] = []

    public static let bucketCount = 1 << 15
    /// Largest element count a decoded state may claim (2^53).
    public static let maxCount = 1 << 53
    static let chunk = 4096

    public init() {}

    /// Statistics of one batch.
    public init(_ values: [Float]) throws {
        try update(values)
    }

    /// max |x| (0 when empty).
    public var absMax: Float { Float(bitPattern: absMaxBits) }
    /// Population variance M2/n (0 when empty).
    public var variance: Double { count > 0 ? m2 / Double(count) : 0 }
    /// Population standard deviation √(M2/n).
    public var standardDeviation: Double { variance.squareRoot() }
    /// Sample standard deviation √(M2/(n−1)) (0 for n < 2).
    public var sampleStandardDeviation: Double { count > 1 ? (m2 / Double(count - 1)).squareRoot() : 0 }
    /// The p = 0.99 quantile of |x| from the sketch (see the error bound above); 0 when empty.
    public var p99Abs: Float { count == 0 ? 0 : (try? quantileAbs(0.99)) ?? 0 }

    // MARK: - Update

    public mutating func update(_ values: [Float]) throws {
        try values.withUnsafeBufferPointer { try update($0) }
    }

    /// Adds one batch. Throws `nonFiniteInput` (statistics unchanged) on NaN/±∞.
    public mutating func update(_ values: UnsafeBufferPointer<Float>) throws {
        try requireFinite(values, what: "calibration batch")
        if values.isEmpty { return }
        if buckets.isEmpty { buckets = [UInt64](repeating: 0, count: Self.bucketCount) }
        var lo = 0
        while lo < values.count {
            let hi = Swift.min(lo + Self.chunk, values.count)
            absorbChunk(UnsafeBufferPointer(rebasing: values[lo..<hi]))
            lo = hi
        }
    }

    private mutating func absorbChunk(_ x: UnsafeBufferPointer<Float>) {
        // Pass 1 (fresh in cache): Neumaier-compensated sum, extrema, sketch.
        var sum = 0.0, comp = 0.0
        var mn = Float.infinity, mx = -Float.infinity
        var amax: UInt32 = 0
        buckets.withUnsafeMutableBufferPointer { b in
            for v in x {
                let d = Double(v)
                let t = sum + d
                comp += abs(sum) >= abs(d) ? (sum - t) + d : (d - t) + sum
                sum = t
                mn = Swift.min(mn, v)
                mx = Swift.max(mx, v)
                let bits = v.bitPattern & 0x7FFF_FFFF
                amax = Swift.max(amax, bits)
                b[Int(bits >> 16)] &+= 1
            }
        }
        let n = x.count
        let mu = (sum + comp) / Double(n)
        // Pass 2: squared deviations about the chunk mean.
        var ss = 0.0
        for v in x {
            let d = Double(v) - mu
            ss += d * d
        }
        mergeMoments(n: n, mean: mu, m2: ss)
        min = Swift.min(min, mn)
        max = Swift.max(max, mx)
        absMaxBits = Swift.max(absMaxBits, amax)
    }

    private mutating func mergeMoments(n nb: Int, mean mb: Double, m2 m2b: Double) {
        if count == 0 {
            count = nb
            mean = mb
            m2 = m2b
            return
        }
        let na = Double(count), nbd = Double(nb)
        let n = na + nbd
        let delta = mb - mean
        mean += delta * (nbd / n)
        m2 += m2b + delta * delta * (na * nbd / n)
        count += nb
    }

    // MARK: - Merge

    /// merge(a, b) = statistics of a ∪ b (exact for counts, extrema and the sketch; Chan's
    /// pairwise formula for mean and M2).
    public mutating func merge(_ other: CalibrationStatistics) {
        guard other.count > 0 else { return }
        if buckets.isEmpty { buckets = [UInt64](repeating: 0, count: Self.bucketCount) }
        for i in 0..<Self.bucketCount where other.buckets[i] != 0 { buckets[i] &+= other.buckets[i] }
        mergeMoments(n: other.count, mean: other.mean, m2: other.m2)
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        absMaxBits = Swift.max(absMaxBits, other.absMaxBits)
    }

    public func merged(with other: CalibrationStatistics) -> CalibrationStatistics {
        var s = self
        s.merge(other)
        return s
    }

    // MARK: - Queries

    /// Sketch estimate r of the nearest-rank p-quantile of |x|, p ∈ (0, 1]; see the bound in
    /// the type's documentation. Throws `invalidPercentile` or `emptyInput`.
    public func quantileAbs(_ p: Double) throws -> Float {
        try validatePercentile(p)
        guard count > 0 else { throw QuantError.emptyInput(what: "calibration statistics") }
        let k = UInt64(Swift.max(1, Int((p * Double(count)).rounded(.up))))
        var cumulative: UInt64 = 0
        for (i, c) in buckets.enumerated() where c != 0 {
            cumulative += c
            if cumulative >= k {
                let top = Float(bitPattern: (UInt32(i) << 16) | 0xFFFF)
                return Swift.min(top, absMax)
            }
        }
        return absMax
    }

    /// Suggested symmetric integer scale max(amax, 1e-5)/q_max (the `IntegerQuantizer` rule),
    /// with amax = absMax or the sketch quantile.
    public func suggestedIntegerScale(bits: IntegerBits = .int8, amax: AmaxMode = .maxAbs) throws -> Float {
        IntegerQuantizer.scale(amax: try amaxValue(amax), bits: bits)
    }

    /// Suggested FP scaling factor `format.max / amax` (the `FP8Scaling` rule, 1 when amax is 0),
    /// with amax = absMax or the sketch quantile.
    public func suggestedFloatScale(format: FloatFormat, amax: AmaxMode = .maxAbs) throws -> Float {
        FP8ScaleRule.scale(amax: try amaxValue(amax), formatMax: Float(format.maxFinite), margin: 0, rounding: .exact)
    }

    private func amaxValue(_ mode: AmaxMode) throws -> Float {
        guard count > 0 else { throw QuantError.emptyInput(what: "calibration statistics") }
        switch mode {
        case .maxAbs: return absMax
        case .percentile(let p): return try quantileAbs(p)
        }
    }

    // MARK: - Codable (sparse sketch)

    private enum CodingKeys: String, CodingKey {
        case count, min, max, mean, m2, absMax, bucketIndices, bucketCounts
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        mean = try c.decode(Double.self, forKey: .mean)
        m2 = try c.decode(Double.self, forKey: .m2)
        absMaxBits = try c.decode(UInt32.self, forKey: .absMax)
        let idx = try c.decode([Int].self, forKey: .bucketIndices)
        let cnt = try c.decode([UInt64].self, forKey: .bucketCounts)
        // ±∞ extrema of the empty state are stored as bit patterns (JSON has no infinity).
        min = Float(bitPattern: try c.decode(UInt32.self, forKey: .min))
        max = Float(bitPattern: try c.decode(UInt32.self, forKey: .max))
        // The bucket counts must add up to `count` without wrapping (a wrapped sum would pass
        // and later overflow a quantile's running sum), each bucket appear once, and `count`
        // stay within 2^53 (exact in the Float64 moments; no Int overflow in quantiles/merges).
        var total: UInt64 = 0, wrapped = false
        for n in cnt {
            let (t, o) = total.addingReportingOverflow(n)
            total = t
            wrapped = wrapped || o
        }
        guard idx.count == cnt.count, idx.allSatisfy({ (0..<Self.bucketCount).contains($0) }),
              Set(idx).count == idx.count, count >= 0, count <= Self.maxCount, !wrapped, total == UInt64(count)
        else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "inconsistent calibration sketch"))
        }
        if count > 0 {
            buckets = [UInt64](repeating: 0, count: Self.bucketCount)
            for (i, n) in zip(idx, cnt) { buckets[i] = n }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encode(min.bitPattern, forKey: .min)
        try c.encode(max.bitPattern, forKey: .max)
        try c.encode(mean, forKey: .mean)
        try c.encode(m2, forKey: .m2)
        try c.encode(absMaxBits, forKey: .absMax)
        let nz = buckets.indices.filter { buckets[$0] != 0 }
        try c.encode(nz, forKey: .bucketIndices)
        try c.encode(nz.map { buckets[$0] }, forKey: .bucketCounts)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.count == b.count && a.min == b.min && a.max == b.max && a.mean == b.mean && a.m2 == b.m2
            && a.absMaxBits == b.absMaxBits && a.sketchCounts == b.sketchCounts
    }

    private var sketchCounts: [UInt64] { buckets.isEmpty ? [UInt64](repeating: 0, count: Self.bucketCount) : buckets }
}
