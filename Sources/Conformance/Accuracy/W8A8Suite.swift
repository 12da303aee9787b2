import Foundation
import Formats
import Oracle
import Quant

/// `w8a8`: the integer and FP8 linear kernels against exact arithmetic.
///
/// **W8A8** (`W8A8Linear`): the suite quantizes the weights per channel and the activations per
/// token or per tensor with the documented rule (scale = RN₃₂(max(amax, 1e-5)/127),
/// q = clamp(RNE(RN₃₂(x/scale)), ±127), derived in MPFR as in `int-error-bounds`), forms
/// acc = Σ_j w_q·x_q in exact integer arithmetic (Int64), and requires every output to be
///
///     y = RN₃₂(acc · s_x · s_w)                               (the documented formula),
///
/// the correctly rounded exact dequantized product (e = acc·s_x·s_w is exact in MPFR at 128
/// bits: 31 + 24 + 24 bits), bit for bit. That holds only if the Int32 accumulation is exact
/// (an Int16 or wrapping accumulator fails it) and the epilogue rounds once (a Float32 scale
/// product followed by a Float32 multiplication, up to three roundings, fails it). The largest
/// distance in binary32 ulps (≤ 0.5) is reported.
///
/// **FP8 GEMV** (`FP8GEMVWeights`): with decode values d_j (exact), block decode multipliers
/// c_b and Float32 x, the exact y = Σ_b c_b Σ_{j∈b} d_j x_j (each d_j·c_b·x_j is exact in
/// binary64: 4 + 24 + 24 bits) is compared with the kernel's output under
/// |ŷ − y| ≤ γ_{n + B + 1} · Σ_j |d_j c_b x_j| (n columns, B blocks: every term passes through
/// at most one product rounding, its block's n_b − 1 additions, one scaling and B − 1 block
/// additions; with gradual underflow an additive 2η·(n + B) is included).
public enum W8A8Suite {
    public static let name = "w8a8"

    public struct Implementation: Sendable {
        /// Builds the layer from Float32 weights [out, in]; returns its weight codes and scales.
        public var weights: @Sendable (_ w: [Float], _ out: Int, _ inF: Int) throws -> (codes: [Int8], scales: [Float])
        /// Y [batch, out] for X [batch, in].
        public var forward: @Sendable (_ w: [Float], _ out: Int, _ inF: Int, _ x: [Float], _ batch: Int, _ scaling: ActivationScaling) throws -> [Float]
        /// FP8 E4M3FN GEMV: (y, decode multipliers per block, block size, codes).
        public var fp8GEMV: @Sendable (_ w: [Float], _ out: Int, _ inF: Int, _ granularity: ScaleGranularity, _ x: [Float]) throws
            -> (y: [Float], codes: [UInt8], scaleInverses: [Float], blockSize: Int)

        public init(
            weights: @escaping @Sendable ([Float], Int, Int) throws -> (codes: [Int8], scales: [Float]),
            forward: @escaping @Sendable ([Float], Int, Int, [Float], Int, ActivationScaling) throws -> [Float],
            fp8GEMV: @escaping @Sendable ([Float], Int, Int, ScaleGranularity, [Float]) throws -> (y: [Float], codes: [UInt8], scaleInverses: [Float], blockSize: Int)
        ) {
            self.weights = weights
            self.forward = forward
            self.fp8GEMV = fp8GEMV
        }

        public static let production = Implementation(
            weights: { w, out, inF in
                let l = try W8A8Linear(weights: w, shape: TensorShape(rows: out, columns: inF))
                return (l.codes, l.weightScales)
            },
            forward: { w, out, inF, x, batch, scaling in
                let l = try W8A8Linear(weights: w, shape: TensorShape(rows: out, columns: inF))
                return try l.forward(x, batch: batch, activationScaling: scaling)
            },
            fp8GEMV: { w, out, inF, g, x in
                let t = try FP8Scaling.quantize(w, shape: TensorShape(rows: out, columns: inF), format: .e4m3fn, granularity: g)
                let k = try FP8GEMVWeights(t)
                return (try k.multiply(x), k.codes, k.scaleInverses, k.blockSize)
            })
    }

    public struct Shape: Sendable, Hashable {
        public var out: Int
        public var inF: Int
        public var batch: Int
        /// Every weight and activation at ± its group's amax (all codes ±127, |acc| = in·127²).
        public var extreme: Bool = false
        public var label: String { "\(out)×\(inF)/batch=\(batch)\(extreme ? "/extreme" : "")" }
    }

    public static func shapes(exhaustive: Bool) -> [Shape] {
        var s = [Shape(out: 67, inF: 1000, batch: 1), Shape(out: 64, inF: 4096, batch: 5), Shape(out: 5, inF: 33, batch: 3),
                 Shape(out: 8, inF: 8192, batch: 2, extreme: true)]
        if exhaustive {
            s += [Shape(out: 1024, inF: 4096, batch: 16), Shape(out: 4, inF: W8A8Linear.maxInFeatures, batch: 2, extreme: true)]
        }
        return s
    }

    public static let seed: UInt64 = 0x3838_A8

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try run(shapes: shapes(exhaustive: o.exhaustive), implementation: .production)
    }

    public static func run(shapes: [Shape], seed: UInt64 = seed, implementation impl: Implementation) throws -> [SuiteResult] {
        var results: [SuiteResult] = []
        for shape in shapes {
            let (w, x) = data(shape, seed: seed)
            for scaling in ActivationScaling.allCases {
                results.append(try w8a8Case(shape, w: w, x: x, scaling: scaling, implementation: impl))
            }
            if !shape.extreme {
                for g in [ScaleGranularity.perChannel, .perTensor, .blockwise(size: 32), .blockwise(size: 100)] {
                    results.append(try fp8Case(shape, w: w, x: x, granularity: g, implementation: impl))
                }
            }
        }
        return results
    }

    /// W ~ N(0, 0.02²), X with outlier channels ×20 (or all extremes, alternating signs that
    /// agree between W and X so that |acc| = in·127²).
    static func data(_ s: Shape, seed: UInt64) -> (w: [Float], x: [Float]) {
        let layer = SyntheticLayer(
            tokens: s.batch, inFeatures: s.inF, outFeatures: s.out, outlierChannels: min(8, s.inF), outlierFactor: 20,
            modelSeed: seed ^ UInt64(s.inF), dataSeed: seed ^ UInt64(s.out))
        if s.extreme {
            let sign: (Int) -> Float = { ($0 % 3 == 0) ? -1 : 1 }
            let w = (0..<(s.out * s.inF)).map { i in sign(i % s.inF) * 0.02 }
            let x = (0..<(s.batch * s.inF)).map { i in sign(i % s.inF) * 3.5 }
            return (w, x)
        }
        return (layer.weights(), layer.activations())
    }

    /// The documented per-row INT8 quantization, from MPFR (`IntegerReference`).
    static func referenceQuantize(_ x: ArraySlice<Float>, m: MPFRScratch) -> (codes: [Int], scale: Float) {
        IntegerReference.quantizeGroup(x, qMax: IntegerReference.qMax(bits: 8), m: m)
    }

    static func w8a8Case(_ shape: Shape, w: [Float], x: [Float], scaling: ActivationScaling, implementation impl: Implementation) throws -> SuiteResult {
        let t0 = Date()
        let caseName = "w8a8/\(shape.label)/\(scaling.rawValue)"
        let m = MPFRScratch()
        var rec = MismatchRecorder()
        func fail(_ where_: String, _ what: String, _ e: String, _ g: String) {
            rec.recordMismatch {
                Counterexample(inputBits: where_, inputValue: what, expectedCode: e, expectedValue: "", gotCode: g, gotValue: "", note: caseName)
            }
        }
        // Weights per channel.
        let wq = (0..<shape.out).map { o in referenceQuantize(w[(o * shape.inF)..<((o + 1) * shape.inF)], m: m) }
        let gotW = try impl.weights(w, shape.out, shape.inF)
        for o in 0..<shape.out {
            let codesOK = gotW.codes.count == w.count && (0..<shape.inF).allSatisfy { Int(gotW.codes[o * shape.inF + $0]) == wq[o].codes[$0] }
            if gotW.scales.count != shape.out || gotW.scales[o].bitPattern != wq[o].scale.bitPattern || !codesOK {
                fail("weight row \(o)", "per-channel INT8", "scale \(wq[o].scale)", gotW.scales.count == shape.out ? "scale \(gotW.scales[o])" : "\(gotW.scales.count) scales")
            }
        }
        // Activations.
        var xq: [(codes: [Int], scale: Float)]
        switch scaling {
        case .perToken:
            xq = (0..<shape.batch).map { b in referenceQuantize(x[(b * shape.inF)..<((b + 1) * shape.inF)], m: m) }
        case .perTensor:
            let whole = referenceQuantize(x[...], m: m)
            xq = (0..<shape.batch).map { b in (Array(whole.codes[(b * shape.inF)..<((b + 1) * shape.inF)]), whole.scale) }
        }
        let y = try impl.forward(w, shape.out, shape.inF, x, shape.batch, scaling)
        guard y.count == shape.batch * shape.out else {
            fail("output", "length", "\(shape.batch * shape.out)", "\(y.count)")
            return rec.result(suite: name, caseName: caseName)
        }
        let product = ScaledIntegerProduct()
        var maxUlps = 0.0, maxAcc = 0
        for b in 0..<shape.batch {
            for o in 0..<shape.out {
                var acc = 0  // Int64: exact
                for j in 0..<shape.inF { acc += wq[o].codes[j] * xq[b].codes[j] }
                maxAcc = max(maxAcc, abs(acc))
                // e = acc·s_x·s_w exactly (31 + 24 + 24 bits < 128).
                let expected = product.set(accumulator: acc, scales: xq[b].scale, wq[o].scale)
                let got = y[b * shape.out + o]
                if got.bitPattern != expected.bitPattern {
                    fail("y[\(b)][\(o)]", "acc = \(acc) (exact), s_x = \(xq[b].scale), s_w = \(wq[o].scale)",
                         "\(expected) = RN₃₂(acc·s_x·s_w)", "\(got)")
                }
                if let ulps = product.errorInUlps(of: got) { maxUlps = max(maxUlps, ulps) }
            }
        }
        let n = shape.batch * shape.out
        let metrics = [
            Metric(name: "max ulps from exact", value: maxUlps, bound: 0.5),
            Metric(name: "max |acc|", value: Double(maxAcc)),
        ]
        rec.addCovered(UInt64(n))
        return rec.result(
            suite: name, caseName: caseName, expected: UInt64(n), reportedMetrics: metrics,
            parameters: ["out": "\(shape.out)", "in": "\(shape.inF)", "batch": "\(shape.batch)", "activations": scaling.rawValue, "seed": "\(seed)"],
            wallSeconds: Date().timeIntervalSince(t0))
    }

    static func fp8Case(_ shape: Shape, w: [Float], x allX: [Float], granularity g: ScaleGranularity, implementation impl: Implementation) throws -> SuiteResult {
        let t0 = Date()
        let caseName = "fp8-gemv/\(shape.out)×\(shape.inF)/\(g)"
        let x = Array(allX[0..<shape.inF])
        let r = try impl.fp8GEMV(w, shape.out, shape.inF, g, x)
        let values = ExactValueTable(format: .e4m3fn)
        let blocks = (shape.inF + r.blockSize - 1) / r.blockSize
        var rec = MismatchRecorder()
        guard r.y.count == shape.out, r.codes.count == w.count, r.scaleInverses.count == shape.out * blocks else {
            rec.recordMismatch {
                Counterexample(inputBits: "sizes", inputValue: "", expectedCode: "\(shape.out) outputs", expectedValue: "", gotCode: "\(r.y.count)", gotValue: "")
            }
            return rec.result(suite: name, caseName: caseName)
        }
        let gamma = ForwardError.gamma(shape.inF + blocks + 1, .float32)
        var terms = [Double](repeating: 0, count: shape.inF), absTerms = terms
        let xd = x.map(Double.init), xAbs = xd.map(abs)
        var maxRatio = 0.0, maxNorm = 0.0
        for o in 0..<shape.out {
            for j in 0..<shape.inF {
                let c = values[UInt16(r.codes[o * shape.inF + j])].double * Double(r.scaleInverses[o * blocks + j / r.blockSize])
                terms[j] = c
                absTerms[j] = abs(c)
            }
            let exact = try ExactReference.dot(terms, xd)
            let bigS = try ExactReference.dot(absTerms, xAbs, roundingUp: true)
            let bound = (ForwardError.upperProduct(gamma, bigS) + 2 * ForwardError.Precision.float32.underflowUnit * Double(shape.inF + blocks)).nextUp
            let err = SmoothingIdentitySuite.errorMagnitude(Double(r.y[o]), exact)
            maxRatio = max(maxRatio, err / bound)
            if bigS > 0 { maxNorm = max(maxNorm, err / bigS) }
            rec.check(err <= bound) {
                Counterexample(
                    inputBits: "y[\(o)]", inputValue: "exact \(exact)", expectedCode: "|ŷ − y| ≤ \(bound)", expectedValue: "Σ|t| = \(bigS)",
                    gotCode: "\(err)", gotValue: "ŷ = \(r.y[o])", note: caseName)
            }
        }
        return rec.result(
            suite: name, caseName: caseName, expected: UInt64(shape.out),
            reportedMetrics: [Metric(name: "max err/bound", value: maxRatio, bound: 1), Metric(name: "max err/Σ|t|", value: maxNorm)],
            parameters: ["out": "\(shape.out)", "in": "\(shape.inF)", "granularity": "\(g)", "gamma": "γ_\(shape.inF + blocks + 1)"],
            wallSeconds: Date().timeIntervalSince(t0))
    }
}
