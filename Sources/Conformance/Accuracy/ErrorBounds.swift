import Foundation

/// Rigorous forward-error constants (Higham, *Accuracy and Stability of Numerical
/// Algorithms*, 2nd ed., §2.2 and §3.1), evaluated so that the computed value is never below
/// the true one.
///
/// Standard model of binary floating-point arithmetic with unit roundoff u (2^−24 for Float32,
/// 2^−53 for Float64, round to nearest) and gradual underflow:
///
///     fl(x op y) = (x op y)(1 + δ) + ε,   |δ| ≤ u,  |ε| ≤ η,  δ·ε = 0,
///
/// with η = half the smallest subnormal (2^−150, 2^−1075) and ε = 0 for + and −.
/// Products of k such factors: ∏(1 + δ_i)^±1 = 1 + θ_k, |θ_k| ≤ γ_k = k·u / (1 − k·u) (Lemma 3.1).
public enum ForwardError {
    public enum Precision: String, Sendable, Hashable, Codable {
        case float32, float64

        /// Unit roundoff u.
        public var unitRoundoff: Double { self == .float32 ? 0x1p-24 : 0x1p-53 }
        /// Half the smallest subnormal: the largest absolute error of an underflowing result.
        public var underflowUnit: Double { self == .float32 ? 0x1p-150 : Double.leastNonzeroMagnitude }
    }

    /// γ_k = k·u / (1 − k·u), rounded up (the quotient is inflated by 2 ulps of binary64, more
    /// than the two roundings of its evaluation). Requires k·u < 1.
    public static func gamma(_ k: Int, _ p: Precision) -> Double {
        let ku = Double(k) * p.unitRoundoff  // exact: k < 2^53, u a power of two
        precondition(ku < 0.5, "γ_\(k) undefined for \(p)")
        return (ku / (1 - ku)).nextUp.nextUp
    }

    /// An upper bound of a sum of non-negative binary64 terms: the recursive sum inflated by
    /// (1 + γ_{n−1}(binary64)) · (1 + 2^−52) (the computed sum of non-negatives is at least the
    /// true sum times 1 − γ_{n−1}).
    public static func upperSum<S: Sequence>(_ terms: S) -> Double where S.Element == Double {
        var s = 0.0, n = 0
        for t in terms {
            precondition(t >= 0, "upperSum of a negative term")
            s += t
            n += 1
        }
        return s * (1 + gamma(max(n, 1), .float64) + 0x1p-50)
    }

    /// Multiplies two non-negative bounds, rounding the product up.
    @inline(__always)
    public static func upperProduct(_ a: Double, _ b: Double) -> Double { (a * b).nextUp }
}
