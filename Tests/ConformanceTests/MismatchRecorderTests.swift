import Testing
@testable import Conformance

struct MismatchRecorderTests {
    private func example(_ i: UInt64) -> Counterexample {
        Counterexample(inputBits: "\(i)", inputValue: "", expectedCode: "", expectedValue: "", gotCode: "", gotValue: "")
    }

    @Test func countsAndKeepsTheFirstExamplesInInputOrder() {
        var r = MismatchRecorder(limit: 3)
        for i in 0..<100 as Range<UInt64> { r.check(i % 7 != 3) { example(i) } }
        #expect(r.covered == 100)
        #expect(r.mismatches == 14)
        #expect(r.counterexamples.map(\.inputBits) == ["3", "10", "17"])
        let res = r.result(suite: "s", expected: 100)
        #expect(!res.passed && res.mismatches == 14 && res.covered == 100)
    }

    /// Blocks recorded separately and merged in any order keep the same examples as one pass.
    @Test func mergeIsOrderIndependent() {
        var whole = MismatchRecorder(limit: 4)
        var blocks = (0..<5).map { _ in MismatchRecorder(limit: 4) }
        for i in 0..<500 as Range<UInt64> {
            let bad = i % 11 == 5 || i % 97 == 1
            whole.check(!bad) { example(i) }
            blocks[Int(i / 100)].check(!bad, at: i) { example(i) }
        }
        for order in [[0, 1, 2, 3, 4], [4, 2, 0, 3, 1]] {
            var merged = MismatchRecorder(limit: 4)
            for b in order { merged.merge(blocks[b]) }
            #expect(merged.covered == whole.covered && merged.mismatches == whole.mismatches)
            #expect(merged.counterexamples.map(\.inputBits) == whole.counterexamples.map(\.inputBits))
        }
    }

    /// A clean recorder passes only with complete coverage and metrics within bounds.
    @Test func verdictRequiresCoverageAndBounds() {
        var r = MismatchRecorder()
        r.addCovered(10)
        #expect(r.result(suite: "s", expected: 10).passed)
        #expect(!r.result(suite: "s", expected: 11).passed)
        #expect(!r.result(suite: "s", metrics: [Metric(name: "m", value: 2, bound: 1)]).passed)
        #expect(!r.result(suite: "s", alsoRequire: false).passed)
        // The closure building an example never runs for a passing input.
        r.check(true) { Issue.record("example built for a passing input"); return example(0) }
    }
}
