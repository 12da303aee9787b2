import Foundation

/// The accuracy suites (issue "Accuracy suites against the MPFR oracle"): numerical identities
/// and error bounds of `Quant`'s algorithms checked against exact references, and the
/// SmoothQuant MSE gains on synthetic outliers checked against `Golden/accuracy.json`.
extension ConformanceRunner {
    /// Names of the accuracy suites, in registry order.
    public static var accuracySuiteNames: [String] { accuracySuites.map(\.name) }

    static let accuracySuites: [SuiteDescriptor] = [
        SuiteDescriptor(
            name: SmoothingIdentitySuite.name,
            summary: "(A/s)(W·s)ᵀ in Float32/Float64 within γ_{n+2}·Σ|a w| of the exact AWᵀ; factor closed forms; norm folding",
            run: { o in try SmoothingIdentitySuite.runAll(o) }),
        SuiteDescriptor(
            name: MSEGainSuite.name,
            summary: "SmoothQuant output-MSE gain on synthetic outliers (f = 1…100; INT8/INT4/E4M3 activations) vs the exact output; golden gains",
            run: { o in try MSEGainSuite.runAll(o) }),
        SuiteDescriptor(
            name: AlphaSweepSuite.name, summary: "relative output MSE against α = 0…1 (step 0.05), f = 50, INT8 per tensor / per token",
            run: { o in try AlphaSweepSuite.runAll(o) }),
        SuiteDescriptor(
            name: IntegerBoundSuite.name,
            summary: "INT8/INT4 symmetric quantization: scales, codes (ties to even), |x − q·s| bound and saturation, exactly in MPFR",
            run: { o in try IntegerBoundSuite.runAll(o) }),
        SuiteDescriptor(
            name: FP8ScalingSuite.name,
            summary: "scaled FP8 (current/delayed), MX and NVFP4: every element the oracle's rounding of the exactly scaled input; scale formulas",
            run: { o in try FP8ScalingSuite.runAll(o) }),
        SuiteDescriptor(
            name: W8A8Suite.name,
            summary: "W8A8 GEMV/GEMM bit-exact vs exact Int32 accumulation and the documented scaling; FP8 GEMV within γ of the exact product",
            run: { o in try W8A8Suite.runAll(o) }),
        SuiteDescriptor(
            name: CalibrationStatsSuite.name,
            summary: "calibration statistics: merged = concatenated (exact fields bitwise), moments vs exact, p99 within its documented bound",
            run: { o in try CalibrationStatsSuite.runAll(o) }),
    ]
}
