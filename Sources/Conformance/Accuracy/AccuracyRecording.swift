extension MismatchRecorder {
    /// The case's result when its metrics are reported, not judged: the verdict is the
    /// recorder's evidence, the expected count and `alsoRequire` only. For suites whose metric
    /// bounds summarise a check already made element by element and exactly (in MPFR), where the
    /// summary — a ratio of rounded quantities — can sit an ulp beside the exact decision.
    func result(
        suite: String, caseName: String, expected: UInt64? = nil, reportedMetrics: [Metric],
        parameters: [String: String] = [:], wallSeconds: Double = 0, alsoRequire: Bool = true
    ) -> SuiteResult {
        var r = result(suite: suite, caseName: caseName, expected: expected, parameters: parameters,
                       wallSeconds: wallSeconds, alsoRequire: alsoRequire)
        r.metrics = reportedMetrics
        return r
    }
}
