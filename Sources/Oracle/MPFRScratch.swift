import CMPFR
import Formats

/// MPFR registers reused across elements (no allocation per element), with the few exact
/// operations the scaling and integer references need.
///
/// Not thread-safe: one scratch per thread (each suite case makes its own).
public final class MPFRScratch {
    let a = MPFRNumber(precision: 256), b = MPFRNumber(precision: 256), c = MPFRNumber(precision: 256)

    public init() {}

    /// RN₃₂(x / y) of binary64 values, with binary32's overflow and subnormals: the quotient at
    /// 256 bits, then `mpfr_get_flt` (round to nearest even into binary32, subnormals and ±∞
    /// included). The 256-bit step cannot create a false tie: a quotient of two binary64 values
    /// that is not itself a binary32 midpoint lies more than about 2^−80 (relative) from every one.
    public func divide32(_ x: Double, by y: Double) -> Float {
        mpfr_set_d(a.pointer, x, MPFR_RNDN)
        mpfr_set_d(b.pointer, y, MPFR_RNDN)
        mpfr_div(c.pointer, a.pointer, b.pointer, MPFR_RNDN)
        return mpfr_get_flt(c.pointer, MPFR_RNDN)
    }

    /// Round to the nearest integer, ties to even (`mpfr_rint`, RNDN).
    public func roundToIntegerEven(_ x: Double) -> Int {
        mpfr_set_d(a.pointer, x, MPFR_RNDN)
        mpfr_rint(a.pointer, a.pointer, MPFR_RNDN)
        return Int(mpfr_get_si(a.pointer, MPFR_RNDN))
    }

    /// e = |x − q·s| and the bound s/2 + 2^−24·|x|, both exact at 256 bits (q·s has at most
    /// 31 + 24 bits, x − q·s is then exact); `beyondHalf` is e > s/2, `withinBound` is
    /// e ≤ s/2 + 2^−24·|x|. The returned doubles are e rounded up and the bound rounded down.
    public func errorVersusBounds(x: Float, q: Int, scale s: Float) -> (error: Double, bound: Double, withinBound: Bool, beyondHalf: Bool) {
        mpfr_set_d(a.pointer, Double(q), MPFR_RNDN)
        mpfr_mul_d(a.pointer, a.pointer, Double(s), MPFR_RNDN)     // q·s
        mpfr_d_sub(a.pointer, Double(x), a.pointer, MPFR_RNDN)     // x − q·s
        mpfr_abs(a.pointer, a.pointer, MPFR_RNDN)
        mpfr_set_d(b.pointer, Double(s), MPFR_RNDN)
        mpfr_mul_2si(b.pointer, b.pointer, -1, MPFR_RNDN)          // s/2
        let beyond = mpfr_cmp(a.pointer, b.pointer) > 0
        mpfr_set_d(c.pointer, Double(abs(x)), MPFR_RNDN)
        mpfr_mul_2si(c.pointer, c.pointer, -24, MPFR_RNDN)         // u·|x|
        mpfr_add(b.pointer, b.pointer, c.pointer, MPFR_RNDN)
        let within = mpfr_cmp(a.pointer, b.pointer) <= 0
        return (mpfr_get_d(a.pointer, MPFR_RNDU), mpfr_get_d(b.pointer, MPFR_RNDD), within, beyond)
    }

    /// RU₁₆(1/s), clamped to binary16's finite positive range [minPositive, maxFinite]
    /// (= [2^−24, 65504]): the binary16 decode multiplier of a scale stored in binary16. The
    /// reciprocal is rounded up at binary16's precision (p = mantissa bits + 1 = 11), and below
    /// binary16's least normal (2^−14, where the spacing becomes the least positive value
    /// 2^−24) up to a multiple of the least positive value. Every limit is read from the
    /// binary16 descriptor (IEEE 754-2019 §3.6: p = 11, emax = 15).
    public func reciprocalUpBinary16(_ s: Double) -> Float {
        let half = FloatFormat.binary16
        let f = MPFRNumber(precision: half.mantissaBits + 1)
        mpfr_set_d(a.pointer, s, MPFR_RNDN)
        mpfr_ui_div(f.pointer, 1, a.pointer, MPFR_RNDU)
        let r = f.double(rounding: .up)
        let minPositive = half.minPositive
        if !(r < half.maxFinite) { return Float(half.maxFinite) }
        if r <= minPositive { return Float(minPositive) }
        if r < half.minNormal { return Float((r / minPositive).rounded(.up) * minPositive) }
        return Float(r)
    }
}
