import Foundation
import Oracle

/// Exact references for the accuracy suites, from the oracle's exact accumulators
/// (`ExactLinearAlgebra`: every product and sum exact, rounded once at the end).
///
///     Y[t][o] = RN₆₄( Σ_j A[t][j] · W[o][j] )             (`product`)
///     S[t][o] ≥ Σ_j |A[t][j]| · |W[o][j]|                  (`absProduct`: the exact sum
///                                                           rounded up — an upper bound)
///
/// The oracle spreads the work over every core; each entry is exact, so the result does not
/// depend on the thread count.
public enum ExactReference {
    /// Y = A·Wᵀ for A [rows, inner] and W [outputs, inner], row-major; Y [rows, outputs], exact.
    public static func matrix(_ a: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int) throws -> ExactMatrix {
        try ExactLinearAlgebra.matrixProduct(a, w, tokens: rows, inFeatures: inner, outFeatures: outputs)
    }

    /// Y = A·Wᵀ, every entry rounded once to nearest.
    public static func product(_ a: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int) throws -> [Double] {
        try matrix(a, rows: rows, w, outputs: outputs, inner: inner).rounded
    }

    /// S = |A|·|W|ᵀ, every entry rounded up (toward +∞): an upper bound of Σ_j |a_j w_j| per
    /// output, the quantity forward-error bounds of dot products are stated relative to.
    public static func absProduct(_ a: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int) throws -> [Double] {
        try matrix(a.map(abs), rows: rows, w.map(abs), outputs: outputs, inner: inner).entries.map(roundedUp)
    }

    /// Σ x_i y_i of binary64 vectors, exact, rounded once (to nearest, or up with `up`).
    public static func dot(_ x: [Double], _ y: [Double], roundingUp up: Bool = false) throws -> Double {
        let s = try ExactLinearAlgebra.dot(x, y)
        return up ? roundedUp(s) : s.rounded
    }

    /// The least binary64 ≥ the exact value (`ExactSum.roundedUp`).
    static func roundedUp(_ s: ExactSum) -> Double { s.roundedUp }
}

/// Raw buffers handed to `concurrentPerform` workers that write disjoint ranges.
struct SendableBuffer<T>: @unchecked Sendable {
    let p: UnsafeMutableBufferPointer<T>
    init(_ p: UnsafeMutableBufferPointer<T>) { self.p = p }
}

struct SendableConstBuffer<T>: @unchecked Sendable {
    let p: UnsafeBufferPointer<T>
    init(_ p: UnsafeBufferPointer<T>) { self.p = p }
}
