import Formats
import QuantKernels

/// Storage precision of a scaling factor.
public enum ScaleStorage: String, Hashable, Sendable, Codable, CaseIterable {
    /// Float32 scale (TE, DeepSeek-style block FP8).
    case float32
    /// Float16 scale: the dequantization multiplier 1/scale is rounded **up** (toward +∞) to
    /// binary16 and clamped to [2^−24, 65504]; the encode multiplier becomes 1/that (Float32).
    /// Rounding up means the scaled amax never exceeds the format max because of the storage;
    /// a clamp at 65504 (amax > 65504·format max) can saturate elements, which the overflow
    /// counters report.
    case float16
}

/// A tensor quantized to an ≤8-bit float format with one scale per group.
///
/// Convention (Transformer Engine): `scales[g]` is the **encode** multiplier and
/// `scaleInverses[g]` the **decode** multiplier,
///
///     code = encode_fmt(x · scale)        x · scale exact in Float64, then one rounding (RNE)
///     x̂    = decode_fmt(code) · scaleInverse     (Float32 multiplication)
///
/// with scaleInverse = 1/scale in Float32 (`.float32` storage) or the binary16 value described
/// on `ScaleStorage.float16`.
public struct FP8Tensor: Hashable, Sendable {
    public let format: FloatFormat
    public let shape: TensorShape
    public let granularity: ScaleGranularity
    public let codes: [UInt8]
    public let scales: [Float]
    public let scaleInverses: [Float]
    /// Per group: finite elements whose scaled magnitude rounded above the format max
    /// (saturated to ±max, or NaN/∞ under a non-saturating policy).
    public let overflowCounts: [Int]
    /// Per group: finite non-zero elements that encoded to ±0.
    public let underflowCounts: [Int]

    /// x̂ in row-major order.
    public func dequantized() -> [Float] {
        let codec = NarrowFloatCodec(format: format)
        let layout = try! GroupLayout(shape: shape, granularity: granularity)  // validated at creation
        var out = [Float](repeating: 0, count: codes.count)
        for g in 0..<layout.groupCount {
            let inv = scaleInverses[g]
            for i in layout.range(of: g) { out[i] = codec.decodeFloat(UInt16(codes[i])) * inv }
        }
        return out
    }

    public var totalOverflows: Int { overflowCounts.reduce(0, +) }
    public var totalUnderflows: Int { underflowCounts.reduce(0, +) }
}

/// FP8 (any ≤8-bit signed `FloatFormat`) scaling with per-tensor, per-channel, per-token and
/// block-wise scales ("current scaling", TE `Float8CurrentScaling`; blocks of 32 with Float32
/// or Float16 scales are the "block FP8" of DeepSeek-V3 style recipes).
///
///     amax_g  = max |x| over group g (NaN if the group holds a NaN, else ∞ if it holds an ∞)
///     scale_g = FP8ScaleRule.scale(amax_g, format.max, margin, rounding)
///
/// so amax 0, NaN or ∞ gives scale 1, a tiny amax gives `Float.greatestFiniteMagnitude`, and
/// `.powerOfTwo` rounds the scale down to a power of two. Elements are encoded with
/// round-to-nearest-even and the given overflow policy (default saturating, as TE's casts);
/// NaN/∞ elements follow the codec's special-value rules (OCP OFP8 Table 3).
public enum FP8Scaling {
    /// Throws `unsupportedFormat` for formats wider than 8 bits or unsigned (E8M0), shape and
    /// group errors as `GroupLayout`, `invalidArgument` for a negative margin.
    public static func quantize(
        _ values: [Float], shape: TensorShape, format: FloatFormat,
        granularity: ScaleGranularity = .perTensor, rounding: ScaleRounding = .exact,
        storage: ScaleStorage = .float32, overflow: OverflowPolicy = .saturating, margin: Int = 0
    ) throws -> FP8Tensor {
        try validate(format)
        guard margin >= 0 else { throw QuantError.invalidArgument(name: "margin", value: "\(margin)", reason: "must be >= 0") }
        try shape.validate(count: values.count, what: "values")
        let layout = try GroupLayout(shape: shape, granularity: granularity)
        let fmax = Float(format.maxFinite)
        let scales: [Float] = values.withUnsafeBufferPointer { x in
            (0..<layout.groupCount).map { g in
                let r = layout.range(of: g)
                let amax = Float(bitPattern: alg_absmax_bits_f32(x.baseAddress! + r.lowerBound, r.count))
                return FP8ScaleRule.scale(amax: amax, formatMax: fmax, margin: margin, rounding: rounding)
            }
        }
        return try encode(values, shape: shape, format: format, layout: layout, granularity: granularity,
                          scales: scales, storage: storage, overflow: overflow)
    }

    /// Quantizes with caller-given encode scales (one per group; finite and > 0), e.g. the
    /// delayed scales of `DelayedScalingState`.
    public static func quantize(
        _ values: [Float], shape: TensorShape, format: FloatFormat, granularity: ScaleGranularity = .perTensor,
        scales: [Float], storage: ScaleStorage = .float32, overflow: OverflowPolicy = .saturating
    ) throws -> FP8Tensor {
        try validate(format)
        try shape.validate(count: values.count, what: "values")
        let layout = try GroupLayout(shape: shape, granularity: granularity)
        guard scales.count == layout.groupCount else {
            throw QuantError.lengthMismatch(what: "scales", expected: layout.groupCount, actual: scales.count)
        }
        for (i, s) in scales.enumerated() {
            guard s.isFinite else { throw QuantError.nonFiniteInput(what: "scales", index: i, value: Double(s)) }
            guard s > 0 else { throw QuantError.valueOutOfRange(what: "scales", index: i, value: Double(s), allowed: "(0, +inf)") }
        }
        return try encode(values, shape: shape, format: format, layout: layout, granularity: granularity,
                          scales: scales, storage: storage, overflow: overflow)
    }

    static func validate(_ format: FloatFormat) throws {
        guard format.bitWidth <= 8 else {
            throw QuantError.unsupportedFormat(format: format.name, reason: "scaled tensors hold codes of at most 8 bits")
        }
        guard format.isSigned && format.hasZero else {
            throw QuantError.unsupportedFormat(format: format.name, reason: "element formats must be signed with a zero")
        }
    }

    /// The positive binary16 range [min subnormal, max finite] = [2^−24, 65504], from the
    /// `binary16` descriptor (exact in Float32).
    static let float16StorageRange = Float(FloatFormat.binary16.minPositive)...Float(FloatFormat.binary16.maxFinite)

    /// RU₁₆(1/scale): the least binary16 value ≥ the exact reciprocal of the positive Float32
    /// encode multiplier `scale`, clamped to [2^−24, 65504].
    ///
    /// Rounding the Float32 quotient `1/scale` up is not enough: when that quotient was itself
    /// rounded down onto a binary16 value, the result would sit one binary16 ulp below the exact
    /// reciprocal and amax·(1/result) could exceed the format max. So the candidate is checked
    /// exactly: r ≥ 1/scale ⇔ r·scale ≥ 1, and r·scale is exact in Float64 (11 × 24 bits).
    static func float16DecodeMultiplier(encodeScale scale: Float) -> Float {
        let minHalf = float16StorageRange.lowerBound, maxHalf = float16StorageRange.upperBound
        let covers = { (r: Float) -> Bool in Double(r) * Double(scale) >= 1 }
        if !covers(maxHalf) { return maxHalf }
        if covers(minHalf) { return minHalf }
        // Nearest binary16 to the nearest Float32 reciprocal is within one binary16 ulp of the
        // answer; step to the least candidate that covers the exact reciprocal.
        var h = Float16(1 / scale)
        while !covers(Float(h)) { h = h.nextUp }
        while h > Float16(minHalf) && covers(Float(h.nextDown)) { h = h.nextDown }
        return Float(h)
    }

    /// Overflow test for a product p rounded RNE: |p| above max + ulp/2, or exactly on it when
    /// the tie goes up (max's code is odd, e.g. E5M2 61440 → overflow; E4M3FN 464 → 448).
    struct OverflowTest {
        let threshold: Double
        let tieOverflows: Bool
        init(_ f: FloatFormat) {
            let m = f.maxFinite
            threshold = m + Double(sign: .plus, exponent: m.exponent - f.mantissaBits - 1, significand: 1)
            tieOverflows = f.maxFiniteMagnitudeCode & 1 == 1
        }
        @inline(__always) func overflows(_ p: Double) -> Bool {
            let a = abs(p)
            return a > threshold || (a == threshold && tieOverflows)
        }
    }

    static func encode(
        _ values: [Float], shape: TensorShape, format: FloatFormat, layout: GroupLayout, granularity: ScaleGranularity,
        scales rawScales: [Float], storage: ScaleStorage, overflow: OverflowPolicy
    ) throws -> FP8Tensor {
        let codec = NarrowFloatCodec(format: format, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: overflow))
        let test = OverflowTest(format)
        var scales = rawScales
        var inverses = [Float](repeating: 0, count: scales.count)
        for g in scales.indices {
            switch storage {
            case .float32:
                inverses[g] = 1 / scales[g]
            case .float16:
                inverses[g] = float16DecodeMultiplier(encodeScale: scales[g])
                scales[g] = 1 / inverses[g]
            }
        }
        var codes = [UInt8](repeating: 0, count: values.count)
        var over = [Int](repeating: 0, count: scales.count)
        var under = [Int](repeating: 0, count: scales.count)
        let magMask = format.magnitudeMask
        // The product x·s is exact in Float64 (24 × 24 significand bits) and rounded once. The
        // vectorised path hands RO₂₄(x·s) (round to odd at Float32 precision, `alg_scale_to_odd_f32`)
        // to the Float32 kernel, which gives the same code as rounding x·s directly (see
        // `NarrowFloatCodec.float64TakesFloat32Kernel`); the scalar codec is the fallback.
        var prm = codec.kernelParameters
        let vectorised = codec.float64TakesFloat32Kernel
        let block = 4096
        let mask = UInt8(truncatingIfNeeded: magMask)
        values.withUnsafeBufferPointer { xs in
            codes.withUnsafeMutableBufferPointer { cs in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { tmp in
                    for g in 0..<layout.groupCount {
                        let s = Double(scales[g])
                        var o = 0, u = 0
                        let r = layout.range(of: g)
                        var i = r.lowerBound
                        while i < r.upperBound {
                            let n = min(block, r.upperBound - i)
                            let x = xs.baseAddress! + i, c = cs.baseAddress! + i
                            if vectorised {
                                o += alg_scale_to_odd_f32(x, n, s, test.threshold, test.tieOverflows ? 1 : 0, tmp.baseAddress!)
                                qk_encode_f32_u8(tmp.baseAddress!, c, n, &prm)
                            } else {
                                for k in 0..<n {
                                    let p = Double(x[k]) * s
                                    c[k] = UInt8(truncatingIfNeeded: codec.encode(p))
                                    if x[k].isFinite && test.overflows(p) { o += 1 }
                                }
                            }
                            u += alg_count_underflows_u8(x, c, n, mask)
                            i += n
                        }
                        over[g] = o
                        under[g] = u
                    }
                }
            }
        }
        return FP8Tensor(format: format, shape: shape, granularity: granularity, codes: codes, scales: scales,
                         scaleInverses: inverses, overflowCounts: over, underflowCounts: under)
    }
}

// MARK: - Delayed scaling

/// How `DelayedScalingState` reduces the amax history to one amax (TE `amax_compute_algo`).
public enum AmaxComputeAlgorithm: String, Hashable, Sendable, Codable, CaseIterable {
    /// Max over the whole history window (NaN entries are ignored, as `fmaxf` in TE).
    case max
    /// The amax of the current step only.
    case mostRecent = "most_recent"
}

/// Transformer Engine `DelayedScaling` recipe: margin 0, history 1024, algorithm `max` by
/// default; `updateInterval` steps between scale updates (TE's former `interval`).
public struct DelayedScalingRecipe: Hashable, Sendable, Codable {
    public let margin: Int
    public let historyLength: Int
    public let algorithm: AmaxComputeAlgorithm
    public let updateInterval: Int
    public let rounding: ScaleRounding

    /// Throws `invalidArgument` for margin < 0, historyLength < 1 or updateInterval < 1.
    public init(margin: Int = 0, historyLength: Int = 1024, algorithm: AmaxComputeAlgorithm = .max,
                updateInterval: Int = 1, rounding: ScaleRounding = .exact) throws {
        guard margin >= 0 else { throw QuantError.invalidArgument(name: "margin", value: "\(margin)", reason: "must be >= 0") }
        guard historyLength >= 1 else {
            throw QuantError.invalidArgument(name: "historyLength", value: "\(historyLength)", reason: "must be >= 1")
        }
        guard updateInterval >= 1 else {
            throw QuantError.invalidArgument(name: "updateInterval", value: "\(updateInterval)", reason: "must be >= 1")
        }
        self.margin = margin
        self.historyLength = historyLength
        self.algorithm = algorithm
        self.updateInterval = updateInterval
        self.rounding = rounding
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(margin: c.decode(Int.self, forKey: .margin), historyLength: c.decode(Int.self, forKey: .historyLength),
                      algorithm: c.decode(AmaxComputeAlgorithm.self, forKey: .algorithm),
                      updateInterval: c.decode(Int.self, forKey: .updateInterval),
                      rounding: c.decode(ScaleRounding.self, forKey: .rounding))
    }
}

/// The explicit, `Codable` state of one delayed-scaling tensor (TE semantics).
///
/// Layout of `amaxHistory` (TE's): slot 0 collects the current step's amax; at each update the
/// window is reduced (`max` over all slots, or slot 0 for `mostRecent`) and then rolled — slot 0
/// moves to the end, everything else shifts down one, slot 0 becomes 0.
///
/// Each `quantize` call (one step) uses the **current** scale (from earlier steps), records the
/// tensor's amax into slot 0 (max with anything recorded since the last update; NaN sticks),
/// and every `updateInterval` steps runs `updateScale()`:
///
///     scale ← (fp8_max / amax) / 2^margin    if amax is finite and > 0, else the previous scale
///     scale ← Float.greatestFiniteMagnitude   if that is +∞
///     scaleInverse ← 1 / scale
///
/// Overflow/underflow counts of every step are accumulated (TE does not count; these are for
/// monitoring — delayed scales lag the data, so overflow is possible and saturates by default).
public struct DelayedScalingState: Hashable, Sendable, Codable {
    public let recipe: DelayedScalingRecipe
    /// Registry name of the element format (decoding looks it up with `FloatFormat(named:)`).
    public let formatName: String
    public private(set) var amaxHistory: [Float]
    public private(set) var scale: Float = 1
    public private(set) var scaleInverse: Float = 1
    public private(set) var step: Int = 0
    public private(set) var overflowCount: Int = 0
    public private(set) var underflowCount: Int = 0

    public init(format: FloatFormat, recipe: DelayedScalingRecipe = try! DelayedScalingRecipe()) throws {
        try FP8Scaling.validate(format)
        self.recipe = recipe
        self.formatName = format.name
        self.amaxHistory = [Float](repeating: 0, count: recipe.historyLength)
    }

    public var format: FloatFormat { (try? FloatFormat(named: formatName)) ?? .e4m3fn }

    /// One step: quantize with the current scale (per-tensor), record amax, maybe update.
    public mutating func quantize(_ values: [Float], shape: TensorShape, overflow: OverflowPolicy = .saturating) throws -> FP8Tensor {
        let t = try FP8Scaling.quantize(values, shape: shape, format: format, granularity: .perTensor, scales: [scale], overflow: overflow)
        let amax = values.withUnsafeBufferPointer { Float(bitPattern: alg_absmax_bits_f32($0.baseAddress, $0.count)) }
        overflowCount += t.totalOverflows
        underflowCount += t.totalUnderflows
        record(amax: amax)
        return t
    }

    /// Records an amax computed elsewhere and advances one step (updating every
    /// `updateInterval` steps).
    public mutating func record(amax: Float) {
        let a = abs(amax)
        let old = amaxHistory[0]
        amaxHistory[0] = (a.isNaN || old.isNaN) ? .nan : Swift.max(old, a)
        step += 1
        if step % recipe.updateInterval == 0 { updateScale() }
    }

    /// TE `amax_and_scale_update`: reduce the window, compute the scale, roll the history.
    public mutating func updateScale() {
        let last = amaxHistory[0]
        var windowMax: Float = 0
        for a in amaxHistory where !a.isNaN { windowMax = Swift.max(windowMax, a) }  // fmaxf
        let amax = recipe.algorithm == .max ? windowMax : last
        let fmax = Float(format.maxFinite)
        if amax.isFinite && amax > 0 {
            var s = (fmax / amax) * Float(sign: .plus, exponent: -recipe.margin, significand: 1)
            if s == .infinity { s = .greatestFiniteMagnitude }
            if recipe.rounding == .powerOfTwo { s = FP8ScaleRule.roundDownToPowerOfTwo(s) }
            scale = s
        }
        scaleInverse = 1 / scale
        // roll: slot 0 → end, others shift down, slot 0 cleared
        let n = amaxHistory.count
        if n > 1 {
            var rolled = Array(amaxHistory[1...])
            rolled.append(last)
            rolled[0] = 0
            amaxHistory = rolled
        } else {
            amaxHistory[0] = 0
        }
    }

    private enum CodingKeys: String, CodingKey {
        case recipe, formatName, amaxHistory, scale, scaleInverse, step, overflowCount, underflowCount
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        recipe = try c.decode(DelayedScalingRecipe.self, forKey: .recipe)
        formatName = try c.decode(String.self, forKey: .formatName)
        // NaN amaxes are stored as bit patterns (JSON has no NaN).
        amaxHistory = try c.decode([UInt32].self, forKey: .amaxHistory).map(Float.init(bitPattern:))
        scale = try c.decode(Float.self, forKey: .scale)
        scaleInverse = try c.decode(Float.self, forKey: .scaleInverse)
        step = try c.decode(Int.self, forKey: .step)
        overflowCount = try c.decode(Int.self, forKey: .overflowCount)
        underflowCount = try c.decode(Int.self, forKey: .underflowCount)
        let fmt = try FloatFormat(named: formatName)
        try FP8Scaling.validate(fmt)
        // Counters within 0…2^53, so that stepping a decoded state cannot overflow `Int`.
        let counters = 0...(1 << 53)
        guard amaxHistory.count == recipe.historyLength, scale.isFinite, scale > 0, counters.contains(step),
              counters.contains(overflowCount), counters.contains(underflowCount) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "inconsistent delayed-scaling state"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(recipe, forKey: .recipe)
        try c.encode(formatName, forKey: .formatName)
        try c.encode(amaxHistory.map(\.bitPattern), forKey: .amaxHistory)
        try c.encode(scale, forKey: .scale)
        try c.encode(scaleInverse, forKey: .scaleInverse)
        try c.encode(step, forKey: .step)
        try c.encode(overflowCount, forKey: .overflowCount)
        try c.encode(underflowCount, forKey: .underflowCount)
    }
}
