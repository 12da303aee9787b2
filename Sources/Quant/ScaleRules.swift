/// How a floating-point scaling factor is rounded after it is computed.
public enum ScaleRounding: String, Hashable, Sendable, Codable, CaseIterable {
    /// The Float32 quotient as computed.
    case exact
    /// Rounded **down** to a power of two by masking off the Float32 mantissa bits
    /// (`bits & 0xFF80_0000`), as Transformer Engine's `force_pow_2_scales`. Scaling and
    /// unscaling by a power of two are then exact.
    case powerOfTwo = "power_of_two"
}

/// The FP8 scaling-factor rule of Transformer Engine's `Float8CurrentScaling` (and of each
/// `DelayedScaling` update):
///
///     scale = (format_max / amax) / 2^margin           (Float32 arithmetic)
///
/// The stored value is the **scale**, the multiplier applied before encoding
/// (code = encode(x · scale)); its inverse `scaleInverse = 1 / scale` (Float32) is the
/// dequantization multiplier (x̂ = decode(code) · scaleInverse), as TE's `scale_inv`.
///
/// Edge cases (TE semantics): amax = 0, NaN or ±∞ → scale 1 (never a NaN/∞ scale); a quotient
/// that overflows to +∞ (tiny amax) → `Float.greatestFiniteMagnitude`. With `.powerOfTwo` the
/// result is then rounded down to a power of two (never below 2^−126).
public enum FP8ScaleRule {
    public static func scale(amax: Float, formatMax: Float, margin: Int = 0, rounding: ScaleRounding = .exact) -> Float {
        guard amax.isFinite && amax > 0 else { return 1 }
        // (max / amax) / 2^margin: the division by 2^margin is exact unless it under/overflows.
        var s = (formatMax / amax) * Float(sign: .plus, exponent: -margin, significand: 1)
        if s == .infinity { s = .greatestFiniteMagnitude }
        if rounding == .powerOfTwo { s = roundDownToPowerOfTwo(s) }
        return s
    }

    /// Masks off the mantissa of a positive finite Float32 (subnormals go to 2^−126).
    static func roundDownToPowerOfTwo(_ s: Float) -> Float {
        let masked = Float(bitPattern: s.bitPattern & 0xFF80_0000)
        return masked == 0 ? .leastNormalMagnitude : masked
    }
}
