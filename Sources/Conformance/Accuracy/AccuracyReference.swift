import CMPFR
import Foundation
import Oracle

/// Exact references for the accuracy suites: matrix products of Float32 inputs whose every
/// output is the exact sum rounded **once**.
///
///     Y[t][o] = RN₆₄( Σ_j A[t][j] · W[o][j] )             (`product`)
///     S[t][o] = RU₆₄( Σ_j |A[t][j]| · |W[o][j]| )         (`absProduct`, an upper bound)
///
/// Each product of two Float32 values is exact in binary64 (24 + 24 ≤ 53 significand bits, and
/// the exponent range of binary64 holds every product of two Float32 values including
/// subnormals), and MPFR's `mpfr_sum` adds any number of binary64 terms exactly and rounds once
/// (correct rounding in the requested direction). Rows are split over `threads` workers; the
/// result does not depend on the split (each output is a correctly rounded function of its
/// inputs).
public enum ExactReference {
    /// Y = A·Wᵀ for A [rows, inner] and W [outputs, inner], row-major; Y [rows, outputs].
    public static func product(
        _ a: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int, threads: Int = 1,
        rounding: MPFRNumber.Rounding = .nearestEven
    ) -> [Double] {
        run(a, rows: rows, w, outputs: outputs, inner: inner, threads: threads, absolute: false, rounding: rounding)
    }

    /// S = |A|·|W|ᵀ rounded up (toward +∞): an upper bound of Σ_j |a_j w_j| per output, the
    /// quantity forward-error bounds of dot products are stated relative to.
    public static func absProduct(_ a: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int, threads: Int = 1) -> [Double] {
        run(a, rows: rows, w, outputs: outputs, inner: inner, threads: threads, absolute: true, rounding: .up)
    }

    /// Exact dot products Σ x_i y_i of binary64 vectors (each product formed exactly at 106
    /// bits), rounded once; reuses its MPFR terms across calls.
    public final class WideDot {
        let pool: TermPool

        public init(count: Int) { pool = TermPool(count: count, precision: 106) }

        public func dot(_ x: [Double], _ y: [Double], rounding: MPFRNumber.Rounding = .nearestEven) -> Double {
            precondition(x.count == y.count && x.count <= pool.terms.count, "dot: length mismatch")
            for i in 0..<x.count { pool.setWideProduct(i, x[i], y[i]) }
            return pool.sum(count: x.count, rounding: rounding)
        }
    }

    /// One exact dot product (see `WideDot`).
    public static func dot(_ x: [Double], _ y: [Double], rounding: MPFRNumber.Rounding = .nearestEven) -> Double {
        WideDot(count: x.count).dot(x, y, rounding: rounding)
    }

    static func run(
        _ a: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int, threads: Int, absolute: Bool,
        rounding: MPFRNumber.Rounding
    ) -> [Double] {
        precondition(a.count == rows * inner && w.count == outputs * inner, "exact product: shape mismatch")
        let result = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows * outputs)
        defer { result.deallocate() }
        let workers = max(1, min(threads, rows))
        let per = (rows + workers - 1) / workers
        let out = SendableBuffer(result)
        a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in
                let A = SendableConstBuffer(ap), W = SendableConstBuffer(wp)
                DispatchQueue.concurrentPerform(iterations: workers) { k in
                    let pool = TermPool(count: inner)
                    for t in (k * per)..<min(rows, (k + 1) * per) {
                        for o in 0..<outputs {
                            for j in 0..<inner {
                                var x = Double(A.p[t * inner + j]), y = Double(W.p[o * inner + j])
                                if absolute { x = abs(x); y = abs(y) }
                                pool.setProduct(j, x, y)
                            }
                            out.p[t * outputs + o] = pool.sum(count: inner, rounding: rounding)
                        }
                    }
                }
            }
        }
        return Array(result)
    }

    /// Reusable MPFR terms (each holds one exact product).
    final class TermPool {
        let terms: [MPFRNumber]
        var pointers: [UnsafeMutablePointer<__mpfr_struct>?]
        /// 53 bits: `mpfr_sum` rounds the exact sum once, directly to binary64 precision; every
        /// sum here lies in binary64's normal range or is 0, so the conversion is exact.
        let accumulator = MPFRNumber(precision: 53)

        init(count: Int, precision: Int = 53) {
            terms = (0..<max(count, 1)).map { _ in MPFRNumber(precision: precision) }
            pointers = terms.map { $0.pointer }
        }

        /// Term i = x·y for Float32 values x, y (given widened): the binary64 product is exact.
        @inline(__always)
        func setProduct(_ i: Int, _ x: Double, _ y: Double) {
            mpfr_set_d(terms[i].pointer, x * y, MPFR_RNDN)
        }

        /// Term i = x·y for any binary64 values, exact at 106 bits.
        func setWideProduct(_ i: Int, _ x: Double, _ y: Double) {
            precondition(terms[i].precision >= 106, "wide products need 106-bit terms")
            mpfr_set_d(terms[i].pointer, x, MPFR_RNDN)
            mpfr_mul_d(terms[i].pointer, terms[i].pointer, y, MPFR_RNDN)
        }

        func sum(count: Int, rounding: MPFRNumber.Rounding) -> Double {
            withExtendedLifetime(terms) {
                pointers.withUnsafeMutableBufferPointer { b in
                    _ = mpfr_sum(accumulator.pointer, b.baseAddress, UInt(count), rounding.mpfrValue)
                }
            }
            return accumulator.double(rounding: rounding)
        }
    }
}

extension MPFRNumber.Rounding {
    var mpfrValue: mpfr_rnd_t {
        switch self {
        case .nearestEven: return MPFR_RNDN
        case .towardZero: return MPFR_RNDZ
        case .up: return MPFR_RNDU
        case .down: return MPFR_RNDD
        case .awayFromZero: return MPFR_RNDA
        }
    }
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
