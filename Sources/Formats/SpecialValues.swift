/// The special-value rules of a conversion *into* a format: what NaN, ±∞, finite overflow and
/// values the format cannot sign or reach become. These are spec choices (OCP OFP8 rev 1.0
/// §5.2.1 Table 3, OCP MX v1.0 §5.3), held as data so that the production codec and the MPFR
/// oracle share the rules but compute every *finite rounding* independently.
extension FloatFormat {
    /// Output code for a NaN input with the given sign bit.
    ///
    /// - Formats with a NaN: `canonicalNaN(negative:)` in every profile (ml_dtypes 0.6 and 0.7 emit the
    ///   same codes: e4m3fn 0x7F/0xFF, e5m2 0x7E/0xFE, fnuz 0x80, e8m0fnu 0xFF).
    /// - Formats without NaN (E2M3FN, E3M2FN, E2M1FN): the profile's `nanWithoutEncoding` —
    ///   **documented choice** `.ocp`: a zero of the NaN's sign; the ml_dtypes profiles reproduce
    ///   ml_dtypes 0.6/0.7, which yield the zero of the *opposite* sign (+NaN → −0, −NaN → +0).
    public func codeForNaN(negative: Bool, profile: CompatibilityProfile) -> UInt16 {
        if let n = canonicalNaN(negative: negative) { return n }
        let zeroNegative = rules(for: profile).nanWithoutEncoding == .zeroOfOppositeSign ? !negative : negative
        return zeroCode(negative: zeroNegative)!
    }

    /// Output code for ±∞ input.
    ///
    /// OCP Table 3: SAT → ±max; NONSAT → ±∞ where the format has infinities, else NaN.
    /// Formats with neither always saturate. E8M0FNU is unsigned: −∞ is NaN.
    /// ml_dtypes profiles (`ProfileRules.saturationKeepsInfinity`): ml_dtypes' saturating conversion
    /// keeps ∞ → ∞ (or NaN), deviating from Table 3.
    public func codeForInfinity(negative: Bool, policy: ConversionPolicy) -> UInt16 {
        if negative && !isSigned { return canonicalNaN(negative: true)! }
        let saturate = policy.overflow == .saturating && !rules(for: policy.profile).saturationKeepsInfinity
        if saturate || (infinity == .none && nan == .none) { return maxFiniteCode(negative: negative) }
        if let inf = infinityCode(negative: negative) { return inf }
        return canonicalNaN(negative: negative)!
    }

    /// Output code when the input, rounded to the format's precision (unbounded exponent), has a
    /// magnitude above max finite. `roundedAway` tells whether the *rounding rule* carries
    /// overflows of this sign away from zero (IEEE 754 §7.4): true for `.toNearestOrEven` and
    /// `.stochastic` (always), for `.up` on positive and `.down` on negative values; false for
    /// `.towardZero` and for a directed rule pointing back to zero, which yield ±max, not ∞.
    /// Use `RoundingRule.carriesOverflowAway(negative:)`.
    public func codeForOverflow(negative: Bool, roundedAway: Bool, policy: ConversionPolicy) -> UInt16 {
        if negative && !isSigned { return canonicalNaN(negative: true)! }
        if policy.overflow == .saturating || !roundedAway || (infinity == .none && nan == .none) {
            return maxFiniteCode(negative: negative)
        }
        return infinityCode(negative: negative) ?? canonicalNaN(negative: negative)!
    }

    /// Output code for an exact zero input or a value that rounds to zero.
    /// Unsigned E8M0FNU has no zero: ±0 and every negative input give NaN, while positive values
    /// below 2^−127 give 2^−127 (the nearest, and only, candidate) in every rounding direction.
    /// fnuz formats have no −0: negative values rounding to zero give +0.
    public func codeForZero(negative: Bool) -> UInt16 {
        if let z = zeroCode(negative: negative) { return z }
        return canonicalNaN(negative: negative)!
    }

    /// ±max finite.
    public func maxFiniteCode(negative: Bool) -> UInt16 {
        (negative && isSigned ? signMask : 0) | maxFiniteMagnitudeCode
    }
}
