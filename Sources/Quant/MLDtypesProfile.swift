import Formats

/// The production codec's implementation of the ml_dtypes profiles' rules. The rules
/// themselves are data, `FloatFormat.rules(for:)` (`ProfileRules`), shared with the oracle and
/// the profile suite; this file only computes the codes the codec needs for them. Evidence:
/// `Golden/mldtypes/README.md`.
public enum MLDtypesProfile {
    /// `SmallValueRule.aboveSmallestRoundsUp` for a positive, non-zero Float32 magnitude `a`
    /// (bit pattern): code 0 for x ≤ s, code 1 for s < x < 2s, nil from 2s on (the ordinary
    /// rounding), with s = 2^minNormalExponent. ml_dtypes reaches it through its subnormal
    /// path, whose inputs are the Float32 subnormals: for E8M0FNU 2s = 2^−126 is exactly the
    /// smallest Float32 normal, so x ≤ 2^−127 (fraction ≤ 0x400000) → 0x00, above → 0x01.
    @inline(__always)
    static func smallValueCode(magnitudeBits a: UInt32, bounds: SmallValueBounds) -> UInt16? {
        guard a < bounds.twiceSmallest else { return nil }
        return a <= bounds.smallest ? 0 : 1
    }

    /// The Float32 bit patterns of s and 2s for `smallValueCode`.
    @usableFromInline
    struct SmallValueBounds: Sendable {
        let smallest: UInt32
        let twiceSmallest: UInt32

        /// s = 2^minNormalExponent; nil when s or 2s is not a normal or subnormal Float32 (the
        /// rule then has no Float32 input to act on).
        init?(_ format: FloatFormat) {
            let s = format.minNormal
            guard s >= Double(Float.leastNonzeroMagnitude), 2 * s <= Double(Float.greatestFiniteMagnitude) else { return nil }
            smallest = Float(s).bitPattern
            twiceSmallest = Float(2 * s).bitPattern
        }
    }

    /// `NaNPayload.keptFromFloat32AndFloat64` (numpy float16, `npy_floatbits_to_halfbits`):
    /// s | exponent all-ones | (fraction ≫ (fractionBits − mantissaBits)), made …01 if the
    /// payload shifted out entirely (so that it stays a NaN, unquieted).
    static func nanKeepingPayload(
        _ format: FloatFormat, negative: Bool, fraction: UInt64, fractionBits: Int
    ) -> UInt16 {
        let exponentAllOnes = UInt16(format.maxExponentField) << UInt16(format.mantissaBits)
        var h = exponentAllOnes | (UInt16(truncatingIfNeeded: fraction >> UInt64(fractionBits - format.mantissaBits)) & format.mantissaMask)
        if h == exponentAllOnes { h |= 1 }
        return h | (negative ? format.signMask : 0)
    }

    /// Whether the vectorised kernels model `rules`: they implement the rounding steps, the
    /// special codes and ties on the significand, not the small-value rule or NaN payloads
    /// (those formats use the scalar steps in bulk calls).
    static func kernelsModel(_ rules: ProfileRules) -> Bool {
        rules.smallValueRule == .grid && rules.nanPayload == .canonical
    }
}
