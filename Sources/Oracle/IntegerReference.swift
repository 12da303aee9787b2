import CMPFR

/// Reference model of symmetric integer fake quantization (SmoothQuant `fake_quant.py`,
/// `IntegerQuantizer`), every rounding done by MPFR:
///
///     q_max = 2^(b−1) − 1
///     scale = RN₃₂( max(amax, 1e-5) / q_max )
///     q     = clamp( RNE_int( RN₃₂(x / scale) ), −q_max, q_max )
///     x̂     = RN₃₂( q · scale )
public enum IntegerReference {
    /// The amax floor of the scale formula.
    public static let amaxFloor: Float = 1e-5

    /// q_max = 2^(b−1) − 1 for b-bit signed codes (the range is symmetric; −2^(b−1) is unused).
    public static func qMax(bits: Int) -> Int { (1 << (bits - 1)) - 1 }

    /// scale = RN₃₂(max(amax, 1e-5) / q_max).
    public static func scale(amax: Float, qMax: Int, m: MPFRScratch) -> Float {
        m.divide32(Double(max(amax, amaxFloor)), by: Double(qMax))
    }

    /// The binary32 quotient RN₃₂(x / scale) and the code clamp(RNE_int(quotient), ±q_max).
    public static func code(_ x: Float, scale s: Float, qMax: Int, m: MPFRScratch) -> (quotient: Float, code: Int) {
        let quotient = m.divide32(Double(x), by: Double(s))
        let q = m.roundToIntegerEven(Double(quotient))
        return (quotient, min(max(q, -qMax), qMax))
    }

    /// One group (a row) quantized: amax = max |x| over the group, then the rules above.
    public static func quantizeGroup(_ x: ArraySlice<Float>, qMax: Int, m: MPFRScratch) -> (codes: [Int], scale: Float) {
        let amax = x.reduce(0) { max($0, abs($1)) }
        let s = scale(amax: amax, qMax: qMax, m: m)
        return (x.map { code($0, scale: s, qMax: qMax, m: m).code }, s)
    }
}

/// The exactly dequantized integer product e = acc · s_x · s_w of a W8A8 output (acc an exact
/// integer dot product of codes, s_x, s_w binary32 scales): exact at 128 bits (|acc| < 2^31, so
/// at most 31 + 24 + 24 bits), its binary32 rounding, and the error of a computed output in
/// units of the last place of RN₃₂(e).
public final class ScaledIntegerProduct {
    private let exact = MPFRNumber(precision: 128), difference = MPFRNumber(precision: 128)

    public init() {}

    /// Sets e = acc · s_x · s_w exactly and returns RN₃₂(e).
    public func set(accumulator acc: Int, scales sx: Float, _ sw: Float) -> Float {
        _ = exact.set(acc, rounding: .nearestEven)
        mpfr_mul_d(exact.pointer, exact.pointer, Double(sx), MPFR_RNDN)
        mpfr_mul_d(exact.pointer, exact.pointer, Double(sw), MPFR_RNDN)
        return mpfr_get_flt(exact.pointer, MPFR_RNDN)
    }

    /// |y − e| (rounded up) divided by the binary32 ulp of |e|, or nil when e is zero or not
    /// finite in binary64.
    public func errorInUlps(of y: Float) -> Double? {
        _ = difference.set(y, rounding: .nearestEven)
        mpfr_sub(difference.pointer, difference.pointer, exact.pointer, MPFR_RNDN)  // exact at 128 bits
        let err = abs(difference.double(rounding: .up))
        let e = abs(exact.double(rounding: .nearestEven))
        guard e > 0 && e.isFinite else { return nil }
        return err / Double(Float(e).ulp)
    }
}
