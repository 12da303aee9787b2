/// Exact first and second moments of binary32 data.
public enum ExactMoments {
    /// Mean, population variance and root mean square of `x`, each one rounding of the exact
    /// value: Σx and Σx² from the exact accumulators (squares of binary32 values are exact
    /// products), M2 = Σx² − (Σx)²/n in MPFR at 2048 bits (far beyond the cancellation the
    /// exact sums can carry), variance = M2/n, rms = √(Σx²/n) (the square root in binary64).
    public static func of(_ x: [Float]) throws(OracleError) -> (mean: Double, variance: Double, rms: Double) {
        let s1 = ExactLinearAlgebra.sum(x).exact(), s2 = try ExactLinearAlgebra.dot(x, x).exact()
        let t = MPFRNumber(precision: 2048)
        let n = UInt(x.count)
        _ = t.square(s1, rounding: .nearestEven)
        _ = t.divide(t, by: n, rounding: .nearestEven)
        _ = t.subtract(s2, t, rounding: .nearestEven)                 // M2
        let variance = t.double() / Double(x.count)
        _ = t.divide(s1, by: n, rounding: .nearestEven)
        let mean = t.double()
        _ = t.divide(s2, by: n, rounding: .nearestEven)
        return (mean, variance, t.double().squareRoot())
    }
}
