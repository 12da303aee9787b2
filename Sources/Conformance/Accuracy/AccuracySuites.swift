import Foundation

/// The accuracy suites (issue "Accuracy suites against the MPFR oracle"): numerical identities
/// and error bounds of `Quant`'s algorithms checked against exact references, and the
/// SmoothQuant MSE gains on synthetic outliers checked against `Golden/accuracy.json`.
extension ConformanceRunner {
    static let accuracySuites: [SuiteDescriptor] = [
        SuiteDescriptor(
            name: SmoothingIdentitySuite.name,
            summary: "(A/s)(W·s)ᵀ in Float32/Float64 within γ_{n+2}·Σ|a w| of the exact AWᵀ; factor closed forms; norm folding",
            run: { o in try SmoothingIdentitySuite.runAll(o) }),
    ]
}
