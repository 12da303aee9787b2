import Dispatch

/// Exact references for the accuracy suites: dot products and matrix products summed without
/// any rounding (`Float32ProductAccumulator`, `Float64ProductAccumulator`) and rounded once,
/// and exact mean squared errors against them.
public enum ExactLinearAlgebra {
    // MARK: - Dot products

    /// Σ a[i]·b[i] exactly. Throws `OracleError.shapeMismatch` when the lengths differ.
    public static func dot(_ a: [Float], _ b: [Float]) throws(OracleError) -> ExactSum {
        guard a.count == b.count else { throw .shapeMismatch("dot of lengths \(a.count) and \(b.count)") }
        var acc = Float32ProductAccumulator()
        for i in a.indices { acc.add(a[i], times: b[i]) }
        return acc.sum
    }

    /// Σ a[i]·b[i] exactly. Throws `OracleError.shapeMismatch` when the lengths differ.
    public static func dot(_ a: [Double], _ b: [Double]) throws(OracleError) -> ExactSum {
        guard a.count == b.count else { throw .shapeMismatch("dot of lengths \(a.count) and \(b.count)") }
        var acc = Float64ProductAccumulator()
        for i in a.indices { acc.add(a[i], times: b[i]) }
        return acc.sum
    }

    /// Σ x[i] exactly.
    public static func sum(_ x: [Float]) -> ExactSum {
        var acc = Float32ProductAccumulator()
        for v in x { acc.add(v) }
        return acc.sum
    }

    /// Σ x[i] exactly.
    public static func sum(_ x: [Double]) -> ExactSum {
        var acc = Float64ProductAccumulator()
        for v in x { acc.add(v) }
        return acc.sum
    }

    // MARK: - Matrix products

    /// C = A·Wᵀ exactly: A is tokens × inFeatures, W is outFeatures × inFeatures, both
    /// row-major; C[t][o] = Σ_k A[t][k]·W[o][k] is tokens × outFeatures. Each entry is exact and
    /// rounded once. Work is spread over all cores (`DispatchQueue.concurrentPerform`); the
    /// result does not depend on the thread count (every entry is exact).
    public static func matrixProduct(
        _ a: [Float], _ w: [Float], tokens: Int, inFeatures: Int, outFeatures: Int
    ) throws(OracleError) -> ExactMatrix {
        try checkShapes(a.count, w.count, tokens: tokens, inFeatures: inFeatures, outFeatures: outFeatures)
        let da = DecodedFloat32Matrix(a, rows: tokens, columns: inFeatures)
        let dw = DecodedFloat32Matrix(w, rows: outFeatures, columns: inFeatures)
        let entries = parallelEntries(rows: tokens, columns: outFeatures) { t, o, lanes in
            if da.rowIsFinite[t] && dw.rowIsFinite[o] {
                return da.exactDot(row: t, with: dw, row: o, lanes: lanes)
            }
            var acc = Float32ProductAccumulator()
            for k in 0..<inFeatures { acc.add(a[t * inFeatures + k], times: w[o * inFeatures + k]) }
            return acc.sum
        }
        return ExactMatrix(rows: tokens, columns: outFeatures, entries: entries)
    }

    /// C = A·Wᵀ exactly for Float64 inputs (shapes as in the Float32 version).
    public static func matrixProduct(
        _ a: [Double], _ w: [Double], tokens: Int, inFeatures: Int, outFeatures: Int
    ) throws(OracleError) -> ExactMatrix {
        try checkShapes(a.count, w.count, tokens: tokens, inFeatures: inFeatures, outFeatures: outFeatures)
        let entries = parallelEntries(rows: tokens, columns: outFeatures) { t, o, _ in
            var acc = Float64ProductAccumulator()
            for k in 0..<inFeatures { acc.add(a[t * inFeatures + k], times: w[o * inFeatures + k]) }
            return acc.sum
        }
        return ExactMatrix(rows: tokens, columns: outFeatures, entries: entries)
    }

    static func checkShapes(_ aCount: Int, _ wCount: Int, tokens: Int, inFeatures: Int, outFeatures: Int) throws(OracleError) {
        guard tokens >= 0, inFeatures >= 0, outFeatures >= 0 else {
            throw .shapeMismatch("negative dimension (tokens \(tokens), in \(inFeatures), out \(outFeatures))")
        }
        let (na, oa) = tokens.multipliedReportingOverflow(by: inFeatures)
        let (nw, ow) = outFeatures.multipliedReportingOverflow(by: inFeatures)
        guard !oa, !ow, !tokens.multipliedReportingOverflow(by: outFeatures).overflow else {
            throw .shapeMismatch("dimensions too large")
        }
        guard aCount == na else { throw .shapeMismatch("A has \(aCount) elements, expected \(tokens)×\(inFeatures) = \(na)") }
        guard wCount == nw else { throw .shapeMismatch("W has \(wCount) elements, expected \(outFeatures)×\(inFeatures) = \(nw)") }
    }

    /// Computes rows × columns entries in parallel over row × column-block tasks, each with its
    /// own Float32 lane buffer.
    static func parallelEntries(
        rows: Int, columns: Int,
        _ entry: (Int, Int, UnsafeMutableBufferPointer<Int64>) -> ExactSum
    ) -> [ExactSum] {
        let block = 32
        let blocksPerRow = (columns + block - 1) / block
        let tasks = rows * blocksPerRow
        return [ExactSum](unsafeUninitializedCapacity: rows * columns) { buffer, initialized in
            let base = buffer.baseAddress
            withoutActuallyEscaping(entry) { entry in
                DispatchQueue.concurrentPerform(iterations: tasks) { task in
                    let r = task / blocksPerRow, c0 = (task % blocksPerRow) * block
                    let lanes = UnsafeMutableBufferPointer<Int64>.allocate(capacity: Float32ProductAccumulator.laneCount)
                    defer { lanes.deallocate() }
                    for c in c0..<min(columns, c0 + block) {
                        (base! + (r * columns + c)).initialize(to: entry(r, c, lanes))
                    }
                }
            }
            initialized = rows * columns
        }
    }

    // MARK: - Mean squared error

    /// (1/n)·Σ (computed[i] − exact[i])², computed exactly in MPFR and rounded once to the
    /// nearest Double. NaN if any term is NaN (or ∞ − ∞); +∞ if any difference is infinite.
    /// Throws `OracleError.shapeMismatch` for different or zero lengths.
    public static func meanSquaredError(_ computed: [Double], exact: [ExactSum]) throws(OracleError) -> Double {
        guard computed.count == exact.count else {
            throw .shapeMismatch("\(computed.count) computed values for \(exact.count) exact values")
        }
        guard !computed.isEmpty else { throw .shapeMismatch("mean squared error of no values") }
        var squares: [MPFRNumber] = []
        squares.reserveCapacity(computed.count)
        var sawInfinity = false
        for i in computed.indices {
            let c = computed[i], e = exact[i]
            if c.isNaN || e.kind == .nan { return .nan }
            let eInfinite = e.kind == .positiveInfinity || e.kind == .negativeInfinity
            if c.isInfinite || eInfinite {
                if c.isInfinite && eInfinite && (c < 0) == (e.kind == .negativeInfinity) { return .nan }   // ∞ − ∞
                sawInfinity = true
                continue
            }
            let d = exactDifference(c, e)
            if d.isZero { continue }
            let sq = MPFRNumber(precision: 2 * d.precision)
            let t = sq.square(d, rounding: .nearestEven)
            precondition(t == 0, "square must be exact")
            squares.append(sq)
        }
        if sawInfinity { return .infinity }
        if squares.isEmpty { return 0 }
        // Precision that holds the sum of the squares exactly: their bit span plus the carries
        // of n terms.
        var top = Int.min, bottom = Int.max
        for s in squares {
            top = max(top, s.exponent)
            bottom = min(bottom, s.exponent - s.precision)
        }
        let carryBits = Int.bitWidth - squares.count.leadingZeroBitCount + 1
        let total = MPFRNumber(precision: top - bottom + carryBits)
        let t = total.setSum(squares, rounding: .nearestEven)
        precondition(t == 0, "sum of squares must be exact")
        return quotientRoundedOnce(total, dividedBy: UInt(computed.count))
    }

    /// Float32 computed values (widened exactly to Double).
    public static func meanSquaredError(_ computed: [Float], exact: [ExactSum]) throws(OracleError) -> Double {
        try meanSquaredError(computed.map(Double.init), exact: exact)
    }

    /// c − e exactly, with a precision covering both operands' bits.
    static func exactDifference(_ c: Double, _ e: ExactSum) -> MPFRNumber {
        let cm = MPFRNumber(exactly: c)
        let em = e.exact()
        if em.isZero { return cm }
        let d: MPFRNumber
        if cm.isZero {
            d = MPFRNumber(precision: em.precision)
        } else {
            let top = max(cm.exponent, em.exponent) + 1
            let bottom = min(cm.exponent - cm.precision, em.exponent - em.precision)
            d = MPFRNumber(precision: top - bottom + 1)
        }
        let t = d.subtract(cm, em, rounding: .nearestEven)
        precondition(t == 0, "difference must be exact")
        return d
    }

    /// s / n for s ≥ 0 rounded once to the nearest Double (ties to even, subnormals and
    /// overflow included). q = s/n truncated to 64 bits is exact or strictly below s/n by less
    /// than one 64-bit ulp; the only case where rounding q to nearest differs from rounding
    /// s/n is q exactly at a midpoint of two Doubles while s/n is above it — then round up.
    static func quotientRoundedOnce(_ s: MPFRNumber, dividedBy n: UInt) -> Double {
        let q = MPFRNumber(precision: 64)
        let t = q.divide(s, by: n, rounding: .towardZero)
        if t == 0 { return q.double(rounding: .nearestEven) }
        let down = q.double(rounding: .down), up = q.double(rounding: .up)
        if down != up && up.isFinite {
            let mid = MPFRNumber(exactly: down, precision: 64)
            mid.add(mid, MPFRNumber(exactly: up), rounding: .nearestEven)     // exact: 54 bits
            mid.multiply(mid, byPowerOfTwo: -1, rounding: .nearestEven)
            if q == mid { return up }
        }
        return q.double(rounding: .nearestEven)
    }
}

/// An exactly computed matrix (row-major) with each entry's single rounding to Double.
public struct ExactMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    /// Row-major, rows × columns.
    public let entries: [ExactSum]

    public init(rows: Int, columns: Int, entries: [ExactSum]) {
        precondition(entries.count == rows * columns, "entry count does not match the shape")
        self.rows = rows
        self.columns = columns
        self.entries = entries
    }

    public subscript(row: Int, column: Int) -> ExactSum { entries[row * columns + column] }

    /// Every entry rounded once to Double, row-major.
    public var rounded: [Double] { entries.map(\.rounded) }

    /// The exact value of one entry in MPFR.
    public func exact(row: Int, column: Int) -> MPFRNumber { self[row, column].exact() }

    /// Exact MSE of a computed row-major matrix against this one, rounded once.
    public func meanSquaredError(of computed: [Float]) throws(OracleError) -> Double {
        try ExactLinearAlgebra.meanSquaredError(computed, exact: entries)
    }

    /// Exact MSE of a computed row-major matrix against this one, rounded once.
    public func meanSquaredError(of computed: [Double]) throws(OracleError) -> Double {
        try ExactLinearAlgebra.meanSquaredError(computed, exact: entries)
    }
}

/// A Float32 matrix decoded once into signed integer significands and offset exponents (see
/// `Float32ProductAccumulator.decode`), with a per-row flag for non-finite values.
struct DecodedFloat32Matrix: @unchecked Sendable {
    let columns: Int
    let significands: [Int64]
    let exponents: [Int32]
    let rowIsFinite: [Bool]

    init(_ values: [Float], rows: Int, columns: Int) {
        self.columns = columns
        var m = [Int64](repeating: 0, count: values.count)
        var e = [Int32](repeating: 0, count: values.count)
        var finite = [Bool](repeating: true, count: rows)
        for i in values.indices {
            let v = values[i]
            if !v.isFinite { finite[i / max(columns, 1)] = false; continue }
            (m[i], e[i]) = Float32ProductAccumulator.decode(v.bitPattern)
        }
        significands = m
        exponents = e
        rowIsFinite = finite
    }

    /// Σ_k self[r][k]·other[o][k] for finite rows, in the caller's lane buffer.
    func exactDot(row r: Int, with other: DecodedFloat32Matrix, row o: Int,
                  lanes: UnsafeMutableBufferPointer<Int64>) -> ExactSum {
        lanes.initialize(repeating: 0)
        let n = columns
        significands.withUnsafeBufferPointer { am in
            exponents.withUnsafeBufferPointer { ae in
                other.significands.withUnsafeBufferPointer { wm in
                    other.exponents.withUnsafeBufferPointer { we in
                        let a0 = r * n, w0 = o * n
                        var k = 0
                        while k < n {
                            let end = min(n, k + Float32ProductAccumulator.normaliseEvery)
                            while k < end {
                                Float32ProductAccumulator.addProduct(
                                    am[a0 &+ k] &* wm[w0 &+ k], shift: Int(ae[a0 &+ k] &+ we[w0 &+ k]), into: lanes)
                                k &+= 1
                            }
                            FixedPointLanes.normalise(lanes)
                        }
                    }
                }
            }
        }
        return FixedPointLanes.finish(lanes, unitExponent: Float32ProductAccumulator.unitExponent)
    }
}
