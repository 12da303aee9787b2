import Foundation

/// The Mann–Whitney U test of two samples and the Hodges–Lehmann estimate of the shift between
/// them, with its distribution-free confidence interval: the wall-time comparison of
/// `BenchComparison`.
///
/// For a base sample x (m values) and a head sample y (n values):
///
///     U = #{(i, j): y_j > x_i} + ½ · #{(i, j): y_j = x_i}          (0 ≤ U ≤ m·n)
///
/// Under H0 (both samples from one distribution) every ordering of the m + n values is equally
/// likely. Two-sided p-value, as `scipy.stats.mannwhitneyu(y, x, alternative="two-sided")`:
///
/// - **exact** (no ties, m·n ≤ 400): p = 2 · P(U' ≥ max(U, m·n − U)) from the exact null
///   distribution, counted by the recurrence f(m, n, u) = f(m − 1, n, u − n) + f(m, n − 1, u)
///   (Mann & Whitney 1947, eq. 1), capped at 1;
/// - **asymptotic** otherwise: z = (max(U, m·n − U) − m·n/2 − ½) / σ with the continuity
///   correction and the tie-corrected σ² = m·n/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1))),
///   N = m + n, t the size of each tie group; p = 2 · (1 − Φ(z)), capped at 1.
///
/// The smallest p any outcome can reach is 2 / C(m + n, m) (complete separation): with fewer
/// repetitions than make it fall below α, no difference can be significant — the *minimum
/// repetition count* (7 + 7 for α = 0.002: 2/C(14, 7) = 5.8e-4, while 2/C(12, 6) = 2.2e-3).
///
/// Effect size (Hodges & Lehmann 1963), on the log scale so it reads as a relative change:
///
///     shift = median_{i,j} (y_j / x_i) − 1
///
/// Its 1 − α_CI confidence interval is [d_(k), d_(m·n + 1 − k)] over the sorted ratios d (minus
/// 1), with k − 1 the largest u such that P(U ≤ u) ≤ α_CI / 2 under H0 (exact distribution when
/// the p-value is exact, else k = ⌊m·n/2 − z_(α_CI/2) · σ⌋ with σ without ties). When even
/// k = 1 is too wide the interval is unbounded: nil.
public struct RankTest: Sendable, Hashable {
    public var u: Double
    public var pValue: Double
    /// True when `pValue` comes from the exact null distribution.
    public var exact: Bool
    /// Hodges–Lehmann relative shift of head against base (> 0: head is larger).
    public var shift: Double
    /// Bounds of the 95 % confidence interval of `shift`, nil when the samples are too small.
    public var lower: Double?
    public var upper: Double?
    /// 2 / C(m + n, m): the smallest p-value these sample sizes can give.
    public var minimumPValue: Double

    /// Confidence level of the interval (fixed: its normal quantile is a constant below).
    public static let confidence = 0.95
    /// Φ⁻¹(0.975).
    static let z975 = 1.959963984540054

    /// Compares head (`y`) against base (`x`); both must hold at least one value.
    public init(base x: [Double], head y: [Double]) {
        precondition(!x.isEmpty && !y.isEmpty, "a rank test needs two non-empty samples")
        let m = x.count, n = y.count
        let mn = Double(m * n)
        var u = 0.0
        var ratios: [Double] = []
        ratios.reserveCapacity(m * n)
        for xi in x {
            for yj in y {
                if yj > xi { u += 1 } else if yj == xi { u += 0.5 }
                ratios.append(yj / xi)
            }
        }
        ratios.sort()
        self.u = u
        shift = SampleStatistics.median(ofSorted: ratios) - 1
        minimumPValue = min(1, 2 / Self.binomial(m + n, m))

        // Tie groups over the pooled sample.
        var ties: [Int] = []
        let pooled = (x + y).sorted()
        var i = 0
        while i < pooled.count {
            var j = i
            while j + 1 < pooled.count && pooled[j + 1] == pooled[i] { j += 1 }
            if j > i { ties.append(j - i + 1) }
            i = j + 1
        }
        let big = max(u, mn - u)
        let kCI: Int?
        if ties.isEmpty && m * n <= 400 {
            exact = true
            let counts = Self.nullCounts(m, n)
            let total = counts.reduce(0, +)
            // P(U ≥ big); U is integral without ties.
            let tail = counts[Int(big)...].reduce(0, +) / total
            pValue = min(1, 2 * tail)
            var cdf = 0.0
            var k = 0
            for c in counts {
                cdf += c / total
                if cdf > (1 - Self.confidence) / 2 { break }
                k += 1
            }
            kCI = k >= 1 ? k : nil
        } else {
            exact = false
            let nn = Double(m + n)
            let tieTerm = ties.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) } / (nn * (nn - 1))
            let sigma = (mn / 12 * ((nn + 1) - tieTerm)).squareRoot()
            if sigma > 0 {
                let z = (big - mn / 2 - 0.5) / sigma
                pValue = min(1, erfc(z / 2.0.squareRoot()))
            } else {
                pValue = 1
            }
            let sigma0 = (mn * (nn + 1) / 12).squareRoot()
            let k = Int((mn / 2 - Self.z975 * sigma0).rounded(.down))
            kCI = k >= 1 ? k : nil
        }
        if let k = kCI {
            lower = ratios[k - 1] - 1
            upper = ratios[m * n - k] - 1
        } else {
            lower = nil
            upper = nil
        }
    }

    /// f(m, n, u) for u = 0 … m·n: the number of orderings of m x's and n y's with U = u.
    static func nullCounts(_ m: Int, _ n: Int) -> [Double] {
        // Dynamic programme over (a, b) = (x's placed, y's placed); adding a y after a x's adds a.
        // table[a][u] for the current b.
        var table = [[Double]](repeating: [Double](repeating: 0, count: m * n + 1), count: m + 1)
        for a in 0...m { table[a][0] = 1 }   // b = 0: U = 0
        if n == 0 { return table[m] }
        for _ in 1...n {
            var next = table
            for a in 0...m {
                for u in 0...(m * n) {
                    // Last element a y (it exceeds all a x's: +a) or a x (from a − 1).
                    var v = u >= a ? table[a][u - a] : 0
                    if a > 0 { v += next[a - 1][u] }
                    next[a][u] = v
                }
            }
            table = next
        }
        return table[m]
    }

    /// C(n, k) in floating point (exact up to 2^53).
    static func binomial(_ n: Int, _ k: Int) -> Double {
        var r = 1.0
        for i in 0..<min(k, n - k) { r = r * Double(n - i) / Double(i + 1) }
        return r.rounded()
    }
}
