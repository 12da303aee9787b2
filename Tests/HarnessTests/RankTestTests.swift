import Foundation
import Testing
@testable import Harness

/// Mann–Whitney U and Hodges–Lehmann against values computed once with scipy 1.17.1
/// (`Docs/provenance/rank_test_reference.py`: p-values from `scipy.stats.mannwhitneyu(head,
/// base, alternative="two-sided")`, the confidence interval's k from the null distribution
/// enumerated by brute force over all orderings).
struct RankTestTests {
    func close(_ a: Double?, _ b: Double, _ tol: Double = 1e-12) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tol * max(1, abs(b))
    }

    @Test func completeSeparationExact() {
        let t = RankTest(base: [1, 2, 3, 4, 5, 6, 7], head: [8, 9, 10, 11, 12, 13, 14])
        #expect(t.exact && t.u == 49)
        #expect(close(t.pValue, 0.0005827505827505828))
        #expect(close(t.minimumPValue, 2.0 / 3432))
        #expect(close(t.shift, 1.75) && close(t.lower, 0.7142857142857142) && close(t.upper, 5.5))
    }

    @Test func interleavedExact() {
        let t = RankTest(base: [1.0, 1.3, 0.9, 1.1, 1.25], head: [1.2, 1.35, 1.4, 1.05, 1.5, 1.45])
        #expect(t.exact && t.u == 25)
        #expect(close(t.pValue, 0.08225108225108226))
        #expect(close(t.shift, 0.18333333333333335))
        #expect(close(t.lower, -0.045454545454545525) && close(t.upper, 0.5))
    }

    @Test func tiesUseTheCorrectedNormalApproximation() {
        let t = RankTest(base: [1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98], head: [1.2, 1.01, 1.3, 1.15, 0.97, 1.25, 1.1])
        #expect(!t.exact && t.u == 40.5)
        #expect(close(t.pValue, 0.04740124709678227, 1e-10))
        #expect(close(t.shift, 0.1428571428571428) && close(t.lower, 0.0) && close(t.upper, 0.2755102040816326))
        let ten = RankTest(
            base: [1.00, 1.02, 0.99, 1.03, 0.98, 1.01, 1.04, 0.97, 1.005, 0.995],
            head: [1.06, 1.08, 1.01, 1.10, 1.07, 1.035, 1.09, 1.05, 1.045, 1.11])
        #expect(!ten.exact && ten.u == 95.5)
        #expect(close(ten.pValue, 0.0006666008624321637, 1e-10))
        #expect(close(ten.shift, 0.0603030303030303))
        #expect(close(ten.lower, 0.034653465346534684) && close(ten.upper, 0.09000000000000008))
    }

    /// Negative controls: identical samples are not different (p = 1, shift 0); three
    /// repetitions can never reach p < 0.002, and the interval is then unbounded.
    @Test func identicalAndTooSmallSamples() {
        let same = RankTest(base: [1, 2, 3, 4, 5, 6, 7], head: [1, 2, 3, 4, 5, 6, 7])
        #expect(same.pValue == 1 && same.shift == 0)
        let three = RankTest(base: [1, 2, 3], head: [10, 11, 12])
        #expect(close(three.pValue, 0.1) && close(three.minimumPValue, 0.1))
        #expect(three.lower == nil && three.upper == nil)
        #expect(RankTest(base: [1, 2, 3, 4, 5, 6], head: [7, 8, 9, 10, 11, 12]).minimumPValue > 0.002)
    }

    /// The exact null counts sum to C(m + n, m) and are symmetric.
    @Test func nullDistribution() {
        let f = RankTest.nullCounts(7, 7)
        #expect(f.reduce(0, +) == 3432 && f == Array(f.reversed()))
        #expect(RankTest.nullCounts(2, 3) == [1, 1, 2, 2, 2, 1, 1])
    }
}
