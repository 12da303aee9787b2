import Formats

/// Reference model of OCP Microscaling (MX v1.0) quantization: blocks of 32 elements share one
/// E8M0 scale X = 2^k, and each element is the element format's saturating round-to-nearest-even
/// of x / X (exact: a power-of-two scaling of a binary32 is a binary64).
///
/// Every constant is derived from the format descriptors, never tabulated:
/// - emax_elem, the exponent of the element format's largest normal binade (MX v1.0 §5.3), is
///   the binary exponent of its largest finite value: ⌊log₂ maxFinite⌋ (8 for E4M3, 15 for
///   E5M2, 4 for E3M2, 2 for E2M3 and E2M1);
/// - the scale exponent range is E8M0's: from its least value 2^−bias to its largest finite
///   value (the all-ones code is NaN), i.e. [−127, 127];
/// - the scale code of k is k + bias, and the NaN scale code is E8M0's NaN encoding.
///
/// The shared exponent (MX v1.0 §6.3, the reference conversion of microsoft/microxcaling):
/// - `.ocp`: k = ⌊log₂ amax⌋ − emax_elem; elements above the element maximum saturate;
/// - `.roundUp` (Transformer Engine MXFP8): the least k with amax ≤ elem_max · 2^k;
/// both clamped to the E8M0 range. A block holding a NaN or ±∞ gets the NaN scale; an all-zero
/// block the least scale 2^−127.
public struct MXReference {
    /// Elements per block sharing one scale (MX v1.0 §5.2, k = 32).
    public static let blockSize = 32
    /// The scale format.
    public static let scaleFormat = FloatFormat.e8m0fnu

    /// How the shared exponent is chosen from the block's amax.
    public enum Rule: Sendable, Hashable {
        case ocp
        case roundUp
    }

    public let element: FloatFormat
    public let rule: Rule
    private let oracle: RoundingOracle

    public init(element: FloatFormat, rule: Rule) throws(OracleError) {
        self.element = element
        self.rule = rule
        oracle = try RoundingOracle(format: element, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
    }

    /// emax_elem: the exponent of `format`'s largest normal binade, ⌊log₂ maxFinite⌋.
    public static func elementEmax(_ format: FloatFormat) -> Int { Int(format.maxFinite.exponent) }

    /// The exponents k of the finite E8M0 values 2^k: [−bias, ⌊log₂ maxFinite⌋] = [−127, 127].
    public static var scaleExponentRange: ClosedRange<Int> {
        scaleFormat.minNormalExponent...Int(scaleFormat.maxFinite.exponent)
    }

    /// E8M0's NaN code (0xFF).
    public static var nanScaleCode: UInt8 {
        UInt8((0..<scaleFormat.codeCount).first { scaleFormat.classify(UInt16($0)) == .nan }!)
    }

    /// The E8M0 code of 2^k for k in `scaleExponentRange` (k + bias), or the NaN code for nil.
    public static func scaleCode(exponent k: Int?) -> UInt8 {
        k.map { UInt8($0 + scaleFormat.bias) } ?? nanScaleCode
    }

    /// The shared exponent k of a block with amax `amax` (see the type documentation), or nil
    /// (the NaN scale) when the block holds a NaN or ±∞ — pass `ScalingReference.groupAmax`.
    public func scaleExponent(amax: Float) -> Int? {
        guard amax.isFinite else { return nil }
        let range = Self.scaleExponentRange
        guard amax != 0 else { return range.lowerBound }
        let v = MPFRNumber(precision: 64)
        _ = v.set(amax, rounding: .nearestEven)
        let k: Int
        switch rule {
        case .ocp:
            k = (v.exponent - 1) - Self.elementEmax(element)  // MPFR: amax ∈ [2^(e−1), 2^e)
        case .roundUp:
            // The least k with amax ≤ elem_max·2^k: start at a k that satisfies it, step down.
            let elementMax = element.maxFinite
            var kk = v.exponent - Int(elementMax.exponent) + 1
            let limit = MPFRNumber(precision: 64)
            func fits(_ k: Int) -> Bool {
                _ = limit.set(elementMax, rounding: .nearestEven)
                _ = limit.multiply(limit, byPowerOfTwo: k, rounding: .nearestEven)
                return MPFRNumber.compare(v, limit)! <= 0
            }
            while !fits(kk) { kk += 1 }
            while fits(kk - 1) { kk -= 1 }
            k = kk
        }
        return min(range.upperBound, max(range.lowerBound, k))
    }

    /// The element code of x in a block with shared exponent k: RN_sat(x · 2^−k), the product
    /// exact in binary64. A NaN-scaled block (k nil) encodes x unscaled.
    public func elementCode(_ x: Float, scaleExponent k: Int?) -> UInt16 {
        oracle.code(forFloat64: Double(x) * Double(sign: .plus, exponent: -(k ?? 0), significand: 1))
    }
}
