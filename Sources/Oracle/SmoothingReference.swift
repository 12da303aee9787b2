import CMPFR

/// Reference model of the SmoothQuant smoothing factor (Xiao et al., ICML 2023, Eq. 4):
///
///     s_j = max( max|A_j|^α / max|W_j|^(1−α), ε ),   ε = 1e-5
///
/// with the documented cases max|A_j| = 0 → ε, max|W_j| = 0 → max|A_j|, and the binary32
/// overflow clamp (a value ≥ greatestFiniteMagnitude gives greatestFiniteMagnitude).
///
/// The exact factor v is computed by MPFR at 200 bits (`mpfr_pow` is correctly rounded; 1 − α
/// is exact at 200 bits for a binary64 α ∈ [0, 1]). A closed form (α = 0 or 1, or one of the
/// zero cases) must be RN₃₂(v) exactly; otherwise the implementation computes a power, which
/// is at best faithfully rounded, so both RD₃₂(v) and RU₃₂(v) are allowed. Each allowed value
/// is then floored at ε.
///
/// Holds MPFR registers: one instance per thread, and call `finish()` when done (the power
/// function caches constants per thread).
public final class SmoothingFactorReference {
    public let alpha: Double
    public let epsilon: Float
    private let v = MPFRNumber(precision: 200), t = MPFRNumber(precision: 200), al = MPFRNumber(precision: 200)
    private let f32 = MPFRNumber(precision: 24)

    public init(alpha: Double, epsilon: Float = 1e-5) {
        self.alpha = alpha
        self.epsilon = epsilon
    }

    /// Whether α has a closed form (α = 0 or 1).
    public var isClosedForm: Bool { alpha == 0 || alpha == 1 }

    /// The binary32 factors an implementation may return for channel maxima a = max|A_j|,
    /// w = max|W_j|. Afterwards `exactDecimal` describes the exact v.
    public func allowed(a: Float, w: Float) -> [Float] {
        let eps = epsilon
        if a == 0 {
            _ = v.set(Double(eps), rounding: .nearestEven)
        } else if w == 0 {
            _ = v.set(a, rounding: .nearestEven)
        } else {
            _ = al.set(alpha, rounding: .nearestEven)
            _ = v.set(a, rounding: .nearestEven)
            mpfr_pow(v.pointer, v.pointer, al.pointer, MPFR_RNDN)  // a^α
            _ = t.set(w, rounding: .nearestEven)
            mpfr_ui_sub(al.pointer, 1, al.pointer, MPFR_RNDN)      // 1 − α (exact at 200 bits)
            mpfr_pow(t.pointer, t.pointer, al.pointer, MPFR_RNDN)  // w^(1−α)
            mpfr_div(v.pointer, v.pointer, t.pointer, MPFR_RNDN)
        }
        if v.compare(to: Double(Float.greatestFiniteMagnitude)).map({ $0 >= 0 }) ?? false {
            return [.greatestFiniteMagnitude]
        }
        if v.compare(to: Double(eps)).map({ $0 <= 0 }) ?? false {
            return [eps]
        }
        // Within the Float32 range (checked above), so rounding at 24 bits is the Float32 rounding.
        _ = f32.set(v, rounding: .down)
        let down = f32.float(rounding: .down)
        _ = f32.set(v, rounding: .up)
        let up = f32.float(rounding: .up)
        _ = f32.set(v, rounding: .nearestEven)
        let nearest = f32.float(rounding: .nearestEven)
        let isExact = a == 0 || w == 0 || isClosedForm
        return isExact ? [max(nearest, eps)] : [max(down, eps), max(up, eps)]
    }

    /// The exact factor of the last `allowed` call, 12 significant digits.
    public var exactDecimal: String { v.decimalString(significantDigits: 12) }

    /// Frees MPFR's per-thread constant caches (filled by `mpfr_pow`) before the thread moves on.
    public func finish() { MPFRLibrary.freeThreadCaches() }
}
