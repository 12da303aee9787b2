import Foundation
import Oracle
import Quant

/// `int-error-bounds`: symmetric INT8/INT4 quantization checked element by element in MPFR.
///
/// The documented rule (`IntegerQuantizer`, SmoothQuant `fake_quant.py`), q_max = 2^(b−1) − 1:
///
///     scale = RN₃₂( max(amax, 1e-5) / q_max )
///     q     = clamp( RNE_int( RN₃₂(x / scale) ), −q_max, q_max )
///     x̂     = RN₃₂( q · scale )
///
/// with amax = max |x| over the group (or the nearest-rank percentile of |x|, k = ⌈p·n⌉), groups
/// per tensor / token (row) / channel (row of a weight) / block. Checked exactly:
///
/// 1. every group's scale equals the formula with amax computed by the suite from the data;
/// 2. every code equals the formula (the quotient rounded to Float32 by MPFR, then to an
///    integer with ties to even; exact ties are constructed on purpose);
/// 3. **error bound** for every unsaturated element, |x − q·scale| ≤ scale/2 + u·|x|
///    (u = 2^−24), evaluated in MPFR at 256 bits: |q − x/scale| ≤ 1/2 + |RN₃₂(x/scale) − x/scale|
///    ≤ 1/2 + u·|x|/scale. The strict scale/2 holds except where the Float32 quotient rounds
///    across a half-integer; those elements are counted (`beyond scale/2`) and must still meet
///    the bound above;
/// 4. **saturation**: every element with |x| ≥ (q_max + 1/2)·scale (possible with percentile
///    amax) is ±q_max with the sign of x;
/// 5. x̂ equals RN₃₂(q·scale) bit for bit.
public enum IntegerBoundSuite {
    public static let name = "int-error-bounds"

    /// The quantizer under test: codes (one per element, unpacked) and one scale per group.
    public typealias Quantizer = @Sendable (_ x: [Float], _ shape: TensorShape, _ bits: IntegerBits, _ granularity: ScaleGranularity, _ amax: AmaxMode) throws
        -> (codes: [Int8], scales: [Float], dequantized: [Float])

    public static let production: Quantizer = { x, shape, bits, g, amax in
        let t = try IntegerQuantizer.quantize(x, shape: shape, bits: bits, granularity: g, amax: amax)
        return (t.values(), t.scales, t.dequantized())
    }

    public struct Sizes: Sendable, Hashable {
        public var rows: Int
        public var columns: Int
        public static let quick = Sizes(rows: 64, columns: 512)
        public static let exhaustive = Sizes(rows: 512, columns: 4096)
    }

    public static let seed: UInt64 = 0x1E_B0D5

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try run(sizes: o.exhaustive ? .exhaustive : .quick, quantizer: production)
    }

    public static let granularities: [(ScaleGranularity, AmaxMode)] = [
        (.perTensor, .maxAbs), (.perToken, .maxAbs), (.perChannel, .maxAbs), (.blockwise(size: 32), .maxAbs),
        (.blockwise(size: 100), .maxAbs), (.perToken, .percentile(0.99)),
    ]

    public static func run(sizes: Sizes, seed: UInt64 = seed, quantizer: Quantizer) throws -> [SuiteResult] {
        var results: [SuiteResult] = []
        for bits in IntegerBits.allCases {
            let (x, shape) = try data(sizes: sizes, bits: bits, seed: seed)
            for (g, amax) in granularities {
                results.append(try check(x, shape: shape, bits: bits, granularity: g, amax: amax, quantizer: quantizer, seed: seed))
            }
            // Exact ties: scale 2^−3 exactly, x = (k + 1/2)·2^−3 for every k.
            let ties = tieData(bits: bits)
            results.append(try check(ties.x, shape: ties.shape, bits: bits, granularity: .perTensor, amax: .maxAbs,
                                     quantizer: quantizer, seed: seed, label: "ties"))
        }
        return results
    }

    /// Synthetic activations (outliers ×20, Student-t(4) tails) with special rows: all zeros,
    /// values far below the 1e-5 floor, a row whose largest magnitude is negative, and a row of
    /// values at k/2 steps of its own scale.
    static func data(sizes: Sizes, bits: IntegerBits, seed: UInt64) throws -> ([Float], TensorShape) {
        var x = SyntheticLayer(
            tokens: sizes.rows, inFeatures: sizes.columns, outFeatures: 1, outlierChannels: 4, outlierFactor: 20,
            tail: .studentT(degreesOfFreedom: 4), modelSeed: seed, dataSeed: seed ^ UInt64(bits.rawValue)).activations()
        let c = sizes.columns
        for j in 0..<c { x[j] = 0 }                                   // row 0: zeros
        for j in 0..<c { x[c + j] = x[c + j] * 1e-8 }                 // row 1: under the floor
        for j in 0..<c { x[2 * c + j] = -abs(x[2 * c + j]) * 0.5 }    // row 2: negative extreme
        x[2 * c + 7] = -1000
        return (x, try TensorShape(rows: sizes.rows, columns: c))
    }

    /// A per-tensor tensor whose scale is exactly 2^−3 (amax = q_max·2^−3) and whose other
    /// elements are the exact ties (k + 1/2)·2^−3, k = −q_max … q_max − 1, and the integers.
    static func tieData(bits: IntegerBits) -> (x: [Float], shape: TensorShape) {
        let q = bits.qMax
        var x: [Float] = [Float(q) * 0.125]
        for k in -q..<q { x.append((Float(k) + 0.5) * 0.125) }
        for k in -q...q { x.append(Float(k) * 0.125) }
        return (x, try! TensorShape(rows: 1, columns: x.count))
    }

    static func check(
        _ x: [Float], shape: TensorShape, bits: IntegerBits, granularity g: ScaleGranularity, amax mode: AmaxMode,
        quantizer: Quantizer, seed: UInt64, label: String? = nil
    ) throws -> SuiteResult {
        let t0 = Date()
        let caseName = "\(bits)/\(label ?? "\(g)")\(mode == .maxAbs ? "" : "/\(mode)")"
        let got = try quantizer(x, shape, bits, g, mode)
        let groups = groupRanges(shape: shape, granularity: g)
        let qmax = IntegerReference.qMax(bits: bits.rawValue)
        var rec = MismatchRecorder()
        func fail(_ what: String, index: Int, expected: String, got gotText: String) {
            rec.recordMismatch {
                Counterexample(
                    inputBits: index >= 0 ? Describe.hex(x[index].bitPattern, digits: 8) : "group",
                    inputValue: index >= 0 ? "x[\(index)] = \(x[index])" : what, expectedCode: expected, expectedValue: what,
                    gotCode: gotText, gotValue: "", note: caseName)
            }
        }
        guard got.scales.count == groups.count, got.codes.count == x.count, got.dequantized.count == x.count else {
            fail("shape", index: -1, expected: "\(groups.count) scales, \(x.count) codes", got: "\(got.scales.count) scales, \(got.codes.count) codes")
            return rec.result(suite: name, caseName: caseName, expected: UInt64(x.count))
        }
        let m = MPFRScratch()
        var beyondHalf = 0, saturated = 0, ties = 0
        var maxRatio = 0.0, maxHalfSteps = 0.0
        for (gi, r) in groups.enumerated() {
            // 1. scale from the suite's own amax.
            let amax = groupAmax(x, r, mode)
            let expectedScale = IntegerReference.scale(amax: amax, qMax: qmax, m: m)
            let s = got.scales[gi]
            if s.bitPattern != expectedScale.bitPattern {
                fail("scale of group \(gi) (amax \(amax))", index: -1, expected: "\(expectedScale)", got: "\(s)")
                continue
            }
            for i in r {
                // 2. code.
                let (quotient, q) = IntegerReference.code(x[i], scale: s, qMax: qmax, m: m)
                if Int(got.codes[i]) != q {
                    fail("code (quotient \(quotient))", index: i, expected: "\(q)", got: "\(got.codes[i])")
                    continue
                }
                if quotient == quotient.rounded(.down) + 0.5 { ties += 1 }
                // 3./4. bounds, exactly.
                let cmp = m.errorVersusBounds(x: x[i], q: q, scale: s)
                if abs(Double(x[i])) >= (Double(qmax) + 0.5) * Double(s) {
                    saturated += 1
                    if q != (x[i] < 0 ? -qmax : qmax) { fail("saturation", index: i, expected: "±\(qmax)", got: "\(q)") }
                } else {
                    if cmp.beyondHalf { beyondHalf += 1 }
                    if !cmp.withinBound { fail("|x − q·scale| ≤ scale/2 + u|x|", index: i, expected: "within", got: "error \(cmp.error)") }
                    maxRatio = max(maxRatio, cmp.error / cmp.bound)
                    maxHalfSteps = max(maxHalfSteps, cmp.error / Double(s))
                }
                // 5. dequantized value.
                let xhat = Float(Double(q) * Double(s))  // q·scale exact in binary64 (≤ 31 bits)
                if got.dequantized[i].bitPattern != xhat.bitPattern {
                    fail("x̂ = RN₃₂(q·scale)", index: i, expected: "\(xhat)", got: "\(got.dequantized[i])")
                }
            }
        }
        let metrics = [
            Metric(name: "max |x−q·s|/bound", value: maxRatio, bound: 1),
            Metric(name: "max |x−q·s|/s", value: maxHalfSteps),
            Metric(name: "beyond scale/2", value: Double(beyondHalf)),
            Metric(name: "saturated", value: Double(saturated)),
            Metric(name: "exact ties", value: Double(ties)),
        ]
        var p = ["bits": "\(bits)", "granularity": "\(g)", "amax": "\(mode)", "shape": shape.description, "seed": "\(seed)"]
        if label == "ties" { p["expectedTies"] = "\(2 * qmax)" }
        let tiesOK = label != "ties" || ties == 2 * qmax
        if !tiesOK { fail("exact ties constructed", index: -1, expected: "\(2 * qmax)", got: "\(ties)") }
        rec.addCovered(UInt64(x.count))
        return rec.result(
            suite: name, caseName: caseName, expected: UInt64(x.count), reportedMetrics: metrics, parameters: p,
            wallSeconds: Date().timeIntervalSince(t0))
    }

    /// The flat index ranges of the groups, derived from the granularity's documented layout
    /// (rows = product of the leading dimensions; blocks never straddle rows; ragged last block).
    static func groupRanges(shape: TensorShape, granularity: ScaleGranularity) -> [Range<Int>] {
        let n = shape.elementCount, c = shape.columns, rows = shape.rows
        switch granularity {
        case .perTensor: return [0..<n]
        case .perToken, .perChannel: return (0..<rows).map { ($0 * c)..<(($0 + 1) * c) }
        case .blockwise(let b):
            return (0..<rows).flatMap { r in stride(from: 0, to: c, by: b).map { (r * c + $0)..<(r * c + min($0 + b, c)) } }
        }
    }

    /// amax of a group: max |x|, or the nearest-rank quantile of |x| (k = max(1, ⌈p·n⌉)).
    static func groupAmax(_ x: [Float], _ r: Range<Int>, _ mode: AmaxMode) -> Float {
        switch mode {
        case .maxAbs: return x[r].reduce(0) { max($0, abs($1)) }
        case .percentile(let p):
            let sorted = x[r].map(abs).sorted()
            let k = max(1, Int((p * Double(r.count)).rounded(.up)))
            return sorted[k - 1]
        }
    }
}
