import Foundation

/// Error metrics between a reference x and an approximation x̂ (same length), accumulated in
/// Float64 over the Float32 inputs:
///
///     MSE  = (1/n) Σ (x̂ᵢ − xᵢ)²
///     MAE  = (1/n) Σ |x̂ᵢ − xᵢ|
///     maxAbsError = maxᵢ |x̂ᵢ − xᵢ|
///     relativeError = ‖x̂ − x‖₂ / ‖x‖₂
///     SQNR = 10 · log₁₀( Σ xᵢ² / Σ (x̂ᵢ − xᵢ)² )   dB
///
/// Edge cases: a perfect approximation has SQNR = +∞ and relative error 0; a zero reference
/// with a non-zero error has relative error +∞ and SQNR −∞. Both inputs must be finite
/// (`nonFiniteInput` otherwise); lengths must match and be non-zero.
public struct QuantMetrics: Hashable, Sendable, Codable {
    public let count: Int
    public let mse: Double
    public let mae: Double
    public let maxAbsError: Double
    public let relativeError: Double
    public let sqnrDB: Double
    /// Σ xᵢ² and Σ (x̂ᵢ − xᵢ)² (for combining or re-deriving ratios).
    public let signalEnergy: Double
    public let errorEnergy: Double

    public init(reference: [Float], approximation: [Float]) throws {
        try self.init(reference: reference[...], approximation: approximation[...])
    }

    init(reference: ArraySlice<Float>, approximation: ArraySlice<Float>) throws {
        guard reference.count == approximation.count else {
            throw QuantError.lengthMismatch(what: "approximation", expected: reference.count, actual: approximation.count)
        }
        guard !reference.isEmpty else { throw QuantError.emptyInput(what: "reference") }
        var sig = 0.0, err = 0.0, abssum = 0.0, amax = 0.0
        for (k, (x, y)) in zip(reference, approximation).enumerated() {
            guard x.isFinite else { throw QuantError.nonFiniteInput(what: "reference", index: k, value: Double(x)) }
            guard y.isFinite else { throw QuantError.nonFiniteInput(what: "approximation", index: k, value: Double(y)) }
            let d = Double(y) - Double(x)  // exact: both are Float32
            sig += Double(x) * Double(x)
            err += d * d
            abssum += abs(d)
            amax = max(amax, abs(d))
        }
        let n = Double(reference.count)
        count = reference.count
        mse = err / n
        mae = abssum / n
        maxAbsError = amax
        signalEnergy = sig
        errorEnergy = err
        if err == 0 {
            relativeError = 0
            sqnrDB = .infinity
        } else if sig == 0 {
            relativeError = .infinity
            sqnrDB = -.infinity
        } else {
            relativeError = (err / sig).squareRoot()
            sqnrDB = 10 * log10(sig / err)
        }
    }
}
