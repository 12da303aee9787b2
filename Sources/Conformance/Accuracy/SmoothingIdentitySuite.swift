import Support
import Foundation
import Oracle
import Quant

/// `smoothing-identity`: SmoothQuant's smoothing must not change the layer's output beyond the
/// rounding of the arithmetic that applies it.
///
/// For A [tokens, in] (or batched [batch, tokens, in]), W [out, in] and factors s ∈ ℝ^in,
/// `Quant` computes Ã = fl(A / s) and W̃ = fl(W · s) element-wise and the product Ŷ = fl(Ã·W̃ᵀ).
/// In real arithmetic Ã·W̃ᵀ = A·Wᵀ. Each output is compared with the oracle's exact
/// y = Σ_j a_j w_j (rounded once to binary64).
///
/// **The bound.** With unit roundoff u of the working precision (2^−24 Float32, 2^−53 Float64)
/// and x_j = a_j / s_j, z_j = w_j·s_j (so x_j z_j = a_j w_j):
///
///     x̃_j = x_j(1 + δ₁),  z̃_j = z_j(1 + δ₂)          |δ| ≤ u   (one rounding each)
///     x̃_j z̃_j = a_j w_j (1 + θ₂)                     |θ₂| ≤ γ₂
///     |fl(Σ x̃_j z̃_j) − Σ x̃_j z̃_j| ≤ γ_n Σ |x̃_j z̃_j|  (any summation order, with or
///                                                      without FMA: Higham Eq. 3.5)
///
/// hence, as (1 + γ₂)(1 + γ_n) ≤ 1 + γ_{n+2},
///
///     |ŷ − y| ≤ γ_{n+2} · Σ_j |a_j w_j|  +  U,
///     U = 2η (Σ_j |x̃_j| + Σ_j |z̃_j| + 2n)            (gradual underflow, η = 2^−150 / 2^−1075)
///
/// Σ_j |a_j w_j| is the oracle's exact sum (`ExactLinearAlgebra`) rounded up. A Float64 path whose W·s is exact only
/// tightens the bound. Reported per case: max and mean of |ŷ − y| / Σ|a_j w_j| and of the
/// ordinary relative error |ŷ − y| / |y|, and max |ŷ − y| / bound (must be ≤ 1). The Float64
/// path must also stay within 1e-10 relative on well-conditioned outputs
/// (κ = Σ|a_j w_j| / |y| ≤ 100, where the bound gives ≤ 100·γ_{n+2} ≈ 1e-11).
///
/// **Folding.** With a norm whose output is A = n·γ + β (normalised n, affine γ, β), folding
/// 1/s into the norm gives Ã' = fl(n·fl(γ/s) + fl(β/s)); explicit smoothing gives
/// Ã = fl(fl(n·γ + β)/s). Both carry three roundings of n_jγ_j and two or three of β_j, so
/// against the exact y = Σ_j (n_jγ_j + β_j) w_j
///
///     |ŷ − y| ≤ γ_{n+4} · Σ_j (|n_jγ_j| + |β_j|)|w_j| + U     for both,
///
/// and the two outputs differ by at most twice that.
///
/// **Factors** (`SmoothQuant.factors`): the calibrated max|A_j| and max|W_j| must equal the
/// maxima the suite computes from the data (exactly); α = 0 gives exactly
/// max(RN₃₂(1/max|W_j|), ε) and α = 1 exactly max(max|A_j|, ε); a general α is faithfully
/// rounded: s_j ∈ {RD₃₂(v), RU₃₂(v)}, v = max(max|A_j|^α / max|W_j|^(1−α), ε) from MPFR at 200
/// bits (Quant forms v in binary64 with < 4 ulps of binary64 error and rounds once to Float32).
public enum SmoothingIdentitySuite {
    public static let name = "smoothing-identity"

    /// The implementation under test (production: `Quant`).
    public struct Implementation: Sendable {
        /// max |A_j| over calibration batches (production: `SmoothQuantCalibrator`).
        public var activationMax: @Sendable (_ batches: [(values: [Float], shape: TensorShape)]) throws -> [Float]
        /// max_o |W[o][j]| (production: `SmoothQuant.weightChannelMax`).
        public var weightMax: @Sendable (_ w: [Float], _ shape: TensorShape) throws -> [Float]
        public var factors: @Sendable (_ activationMax: [Float], _ weightMax: [Float], _ alpha: Double) throws -> [Float]
        /// A / s along the last dimension, Float32.
        public var smoothActivations: @Sendable (_ a: [Float], _ shape: TensorShape, _ s: [Float]) throws -> [Float]
        /// W · s along the last dimension, Float32.
        public var smoothWeights: @Sendable (_ w: [Float], _ shape: TensorShape, _ s: [Float]) throws -> [Float]
        /// X·Wᵀ in Float32 for X [rows, inner], W [outputs, inner].
        public var productFloat32: @Sendable (_ x: [Float], _ rows: Int, _ w: [Float], _ outputs: Int, _ inner: Int) throws -> [Float]
        /// (A/s)·(W·s)ᵀ with every operation in Float64; also returns Ã and W̃ (for the
        /// underflow term of the bound).
        public var smoothedProductFloat64: @Sendable (_ a: [Float], _ rows: Int, _ w: [Float], _ outputs: Int, _ inner: Int, _ s: [Float]) throws
            -> (y: [Double], a: [Double], w: [Double])
        public var foldIntoNorm: @Sendable (_ norm: NormParameters, _ s: [Float]) throws -> NormParameters

        public init(
            activationMax: @escaping @Sendable ([(values: [Float], shape: TensorShape)]) throws -> [Float],
            weightMax: @escaping @Sendable ([Float], TensorShape) throws -> [Float],
            factors: @escaping @Sendable ([Float], [Float], Double) throws -> [Float],
            smoothActivations: @escaping @Sendable ([Float], TensorShape, [Float]) throws -> [Float],
            smoothWeights: @escaping @Sendable ([Float], TensorShape, [Float]) throws -> [Float],
            productFloat32: @escaping @Sendable ([Float], Int, [Float], Int, Int) throws -> [Float],
            smoothedProductFloat64: @escaping @Sendable ([Float], Int, [Float], Int, Int, [Float]) throws -> (y: [Double], a: [Double], w: [Double]),
            foldIntoNorm: @escaping @Sendable (NormParameters, [Float]) throws -> NormParameters
        ) {
            self.activationMax = activationMax
            self.weightMax = weightMax
            self.factors = factors
            self.smoothActivations = smoothActivations
            self.smoothWeights = smoothWeights
            self.productFloat32 = productFloat32
            self.smoothedProductFloat64 = smoothedProductFloat64
            self.foldIntoNorm = foldIntoNorm
        }

        public static let production = Implementation(
            activationMax: { batches in
                var c = SmoothQuantCalibrator()
                for b in batches { try c.observe(layer: "layer", activations: b.values, shape: b.shape) }
                return try c.activationMax(layer: "layer")
            },
            weightMax: { w, shape in try SmoothQuant.weightChannelMax([(w, shape)], features: shape.columns) },
            factors: { a, w, alpha in
                try SmoothQuant.factors(activationMax: a, weightMax: w, config: SmoothQuantConfig(alpha: alpha))
            },
            smoothActivations: { a, shape, s in try SmoothQuant.smoothedActivations(a, shape: shape, factors: s) },
            smoothWeights: { w, shape, s in try SmoothQuant.smoothedWeights(w, shape: shape, factors: s) },
            productFloat32: { x, rows, w, outputs, inner in try Float32Product.gemvRows(x, rows: rows, w, outputs: outputs, inner: inner) },
            smoothedProductFloat64: { a, rows, w, outputs, inner, s in
                Float64Smoothing.product(a, rows: rows, w, outputs: outputs, inner: inner, factors: s)
            },
            foldIntoNorm: { norm, s in
                var n = norm
                try SmoothQuant.foldIntoNorm(&n, factors: s)
                return n
            })
    }

    /// Problem sizes.
    public struct Sizes: Sendable, Hashable {
        public var tokens: Int
        public var inFeatures: Int
        public var outFeatures: Int
        /// Leading dimension of the batched 3-D view [batch, tokens / batch, in].
        public var batch: Int
        /// Tokens of the folding cases (their exact reference forms 2n terms per output).
        public var foldTokens: Int

        public static let quick = Sizes(tokens: 64, inFeatures: 512, outFeatures: 128, batch: 4, foldTokens: 16)
        public static let exhaustive = Sizes(tokens: 256, inFeatures: 1024, outFeatures: 512, batch: 8, foldTokens: 64)
    }

    public static let seed: UInt64 = 0x5300_7401

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try run(sizes: o.exhaustive ? .exhaustive : .quick, implementation: .production)
    }

    public static func run(sizes: Sizes, seed: UInt64 = seed, implementation impl: Implementation) throws -> [SuiteResult] {
        let layer = SyntheticLayer(
            tokens: sizes.tokens, inFeatures: sizes.inFeatures, outFeatures: sizes.outFeatures, outlierChannels: 8,
            outlierFactor: 50, modelSeed: seed, dataSeed: seed ^ 1)
        let calibration = layer.batch(dataSeed: seed ^ 2)
        let a = layer.activations(), w = layer.weights()
        let shape2 = try TensorShape(rows: sizes.tokens, columns: sizes.inFeatures)
        let shape3 = try TensorShape([sizes.batch, sizes.tokens / sizes.batch, sizes.inFeatures])
        let wShape = try TensorShape(rows: sizes.outFeatures, columns: sizes.inFeatures)
        var params = layer.parameters()
        params["calibrationDataSeed"] = "\(calibration.dataSeed)"
        var results: [SuiteResult] = []

        // Factors: calibration maxima, closed forms, general α.
        let t0 = Date()
        let calA = calibration.activations()
        let calBatches: [(values: [Float], shape: TensorShape)] = try stride(from: 0, to: calibration.tokens, by: calibration.tokens / 4).map { r in
            let rows = min(calibration.tokens / 4, calibration.tokens - r)
            return (Array(calA[(r * sizes.inFeatures)..<((r + rows) * sizes.inFeatures)]), try TensorShape(rows: rows, columns: sizes.inFeatures))
        }
        let refAMax = columnAbsMax(calA, columns: sizes.inFeatures)
        let refWMax = columnAbsMax(w, columns: sizes.inFeatures)
        let gotAMax = try impl.activationMax(calBatches)
        let gotWMax = try impl.weightMax(w, wShape)
        results.append(exactVectorCase(name: "factors/calibrated-max|A|", expected: refAMax, got: gotAMax, params: params, t0: t0))
        results.append(exactVectorCase(name: "factors/max|W|", expected: refWMax, got: gotWMax, params: params, t0: t0))
        let special = specialMaxima(seed: seed)
        let aMaxes = refAMax + special.a, wMaxes = refWMax + special.w
        for alpha in [0.0, 1.0, 0.5, 0.8] {
            let t1 = Date()
            let s = try impl.factors(aMaxes, wMaxes, alpha)
            results.append(factorCase(alpha: alpha, aMax: aMaxes, wMax: wMaxes, got: s, params: params, t0: t1))
        }

        // Exact references, shared by every factor choice (the identity holds for any s).
        let t2 = Date()
        let y = try ExactReference.product(a, rows: sizes.tokens, w, outputs: sizes.outFeatures, inner: sizes.inFeatures)
        let absY = try ExactReference.absProduct(a, rows: sizes.tokens, w, outputs: sizes.outFeatures, inner: sizes.inFeatures)
        var referenceSeconds: Double? = Date().timeIntervalSince(t2)  // charged to the first identity case

        let factorSets: [(String, [Float])] = [
            ("calibrated-α=0.5", try impl.factors(refAMax, refWMax, 0.5)),
            ("α=0", try impl.factors(refAMax, refWMax, 0)),
            ("α=1", try impl.factors(refAMax, refWMax, 1)),
            ("adversarial-2^±20", adversarialFactors(count: sizes.inFeatures, seed: seed)),
        ]
        for (label, s) in factorSets {
            for (dims, shape) in [("2d", shape2), ("3d", shape3)] {
                let t3 = Date(timeIntervalSinceNow: -(referenceSeconds ?? 0))
                referenceSeconds = nil
                let at = try impl.smoothActivations(a, shape, s)
                let wt = try impl.smoothWeights(w, wShape, s)
                let y32 = try impl.productFloat32(at, sizes.tokens, wt, sizes.outFeatures, sizes.inFeatures)
                var p = params
                p["factors"] = label
                p["shape"] = shape.description
                results.append(identityCase(
                    name: "\(dims)/\(label)/f32", precision: .float32, exact: y, absExact: absY,
                    got: y32.map(Double.init), smoothedA: at.map(Double.init), smoothedW: wt.map(Double.init),
                    rows: sizes.tokens, outputs: sizes.outFeatures, inner: sizes.inFeatures, extraRoundings: 2, params: p, t0: t3))
                if dims == "2d" {
                    let t4 = Date()
                    let r64 = try impl.smoothedProductFloat64(a, sizes.tokens, w, sizes.outFeatures, sizes.inFeatures, s)
                    results.append(identityCase(
                        name: "\(dims)/\(label)/f64", precision: .float64, exact: y, absExact: absY, got: r64.y,
                        smoothedA: r64.a, smoothedW: r64.w, rows: sizes.tokens, outputs: sizes.outFeatures,
                        inner: sizes.inFeatures, extraRoundings: 2, params: p, t0: t4))
                }
            }
        }

        // Folding into LayerNorm (γ, β) and RMSNorm (γ only).
        for withBeta in [true, false] {
            results.append(try foldCase(
                layer: layer, tokens: sizes.foldTokens, w: w, wShape: wShape, aMax: refAMax, wMax: refWMax, withBeta: withBeta,
                seed: seed, implementation: impl, params: params))
        }
        return results
    }

    // MARK: - Cases

    static func columnAbsMax(_ x: [Float], columns: Int) -> [Float] {
        var m = [Float](repeating: 0, count: columns)
        for (i, v) in x.enumerated() where abs(v) > m[i % columns] { m[i % columns] = abs(v) }
        return m
    }

    /// Maxima exercising the edge rules: zero activation or weight channels, extreme ratios
    /// (overflow to greatestFiniteMagnitude at α = 0 for a subnormal weight max) and values
    /// under the ε floor.
    static func specialMaxima(seed: UInt64) -> (a: [Float], w: [Float]) {
        let a: [Float] = [0, 3.5, 0, 1e30, 3e38, 2e-30, 1e-7, 448, 1]
        let w: [Float] = [0.02, 0, 0, 1e-30, Float(bitPattern: 0x0001_16C2) /* ≈ 1e-40, subnormal */, 7e-3, 1e3, 1e-38, 1]
        return (a, w)
    }

    /// s_j = m · 2^e, e uniform in [−20, 20], m uniform in [1, 2) (seeded).
    static func adversarialFactors(count: Int, seed: UInt64) -> [Float] {
        (0..<count).map { j in
            let r = SplitMix64.draw(seed: seed ^ 0xAD_0E55, index: UInt64(j))
            let e = Int(r % 41) - 20
            let m = 1 + Double(r >> 40) * 0x1p-24
            return Float(Double(sign: .plus, exponent: e, significand: m))
        }
    }

    static func exactVectorCase(name: String, expected: [Float], got: [Float], params: [String: String], t0: Date) -> SuiteResult {
        var rec = MismatchRecorder()
        if expected.count != got.count {
            rec.recordMismatch {
                Counterexample(
                    inputBits: "length", inputValue: "\(expected.count) channels", expectedCode: "\(expected.count)",
                    expectedValue: "", gotCode: "\(got.count)", gotValue: "", note: name)
            }
            rec.addCovered(UInt64(expected.count))
        } else {
            for j in expected.indices {
                rec.check(expected[j].bitPattern == got[j].bitPattern) {
                    Counterexample(
                        inputBits: "channel \(j)", inputValue: "max over the data",
                        expectedCode: Describe.hex(expected[j].bitPattern, digits: 8), expectedValue: "\(expected[j])",
                        gotCode: Describe.hex(got[j].bitPattern, digits: 8), gotValue: "\(got[j])", note: name)
                }
            }
        }
        return rec.result(
            suite: Self.name, caseName: name, expected: UInt64(expected.count), parameters: params,
            wallSeconds: Date().timeIntervalSince(t0))
    }

    /// Factor rule: exact closed forms at α = 0 and 1, faithful rounding of the MPFR value
    /// otherwise; the ε floor and the overflow clamp as documented.
    static func factorCase(alpha: Double, aMax: [Float], wMax: [Float], got: [Float], params: [String: String], t0: Date) -> SuiteResult {
        let reference = SmoothingFactorReference(alpha: alpha)
        defer { reference.finish() }
        let exact = reference.isClosedForm
        var rec = MismatchRecorder()
        for j in aMax.indices {
            let a = aMax[j], w = wMax[j]
            let allowed = reference.allowed(a: a, w: w)
            rec.check(allowed.contains(where: { $0.bitPattern == got[j].bitPattern })) {
                Counterexample(
                    inputBits: "channel \(j)", inputValue: "max|A|=\(a), max|W|=\(w), α=\(alpha)",
                    expectedCode: allowed.map { Describe.hex($0.bitPattern, digits: 8) }.joined(separator: " or "),
                    expectedValue: "\(allowed.map { "\($0)" }.joined(separator: " or ")) (exact \(reference.exactDecimal))",
                    gotCode: Describe.hex(got[j].bitPattern, digits: 8), gotValue: "\(got[j])",
                    note: exact ? "closed form" : "faithful rounding")
            }
        }
        return rec.result(
            suite: Self.name, caseName: "factors/α=\(alpha)", expected: UInt64(aMax.count),
            parameters: params.merging(["alpha": "\(alpha)", "rule": exact ? "exact closed form" : "faithful"]) { $1 },
            wallSeconds: Date().timeIntervalSince(t0), alsoRequire: got.count == aMax.count)
    }

    /// Per-output error against the exact product and its rigorous bound.
    static func identityCase(
        name: String, precision: ForwardError.Precision, exact y: [Double], absExact s: [Double], got: [Double],
        smoothedA: [Double], smoothedW: [Double], rows: Int, outputs: Int, inner: Int, extraRoundings: Int,
        params: [String: String], t0: Date
    ) -> SuiteResult {
        let gamma = ForwardError.gamma(inner + extraRoundings, precision)
        let eta = precision.underflowUnit
        let rowAbs = (0..<rows).map { t in ForwardError.upperSum(smoothedA[(t * inner)..<((t + 1) * inner)].map(abs)) }
        let colAbs = (0..<outputs).map { o in ForwardError.upperSum(smoothedW[(o * inner)..<((o + 1) * inner)].map(abs)) }
        var stats = ErrorStats()
        var rec = MismatchRecorder()
        for t in 0..<rows {
            for o in 0..<outputs {
                let k = t * outputs + o
                let underflow = 2 * eta * (rowAbs[t] + colAbs[o] + 2 * Double(inner))
                let bound = (ForwardError.upperProduct(gamma, s[k]) + underflow).nextUp
                let err = errorMagnitude(got[k], y[k])
                stats.add(error: err, exact: y[k], absSum: s[k], bound: bound)
                rec.check(err <= bound) {
                    Counterexample(
                        inputBits: "output (\(t), \(o))", inputValue: "Σ|a w| = \(s[k])",
                        expectedCode: "|ŷ − y| ≤ \(bound)", expectedValue: "y = \(y[k])",
                        gotCode: "|ŷ − y| = \(err)", gotValue: "ŷ = \(got[k])", note: name)
                }
            }
        }
        var metrics = [
            Metric(name: "max err/bound", value: stats.maxBoundRatio, bound: 1),
            Metric(name: "max err/Σ|aw|", value: stats.maxNormalised),
            Metric(name: "mean err/Σ|aw|", value: stats.meanNormalised),
            Metric(name: "max rel err", value: stats.maxRelative),
            Metric(name: "mean rel err", value: stats.meanRelative),
        ]
        let wellConditioned = Metric(
            name: "max rel err (κ≤100)", value: stats.maxRelativeWellConditioned, bound: precision == .float64 ? 1e-10 : nil)
        metrics.append(wellConditioned)
        let finite = metrics.allSatisfy { $0.value.isFinite }
        var p = params
        p["precision"] = precision.rawValue
        p["gamma"] = "γ_\(inner + extraRoundings) = \(gamma)"
        p["wellConditionedOutputs"] = "\(stats.wellConditionedCount)"
        return rec.result(
            suite: Self.name, caseName: name, expected: UInt64(rows * outputs), reportedMetrics: metrics, parameters: p,
            wallSeconds: Date().timeIntervalSince(t0), alsoRequire: finite && wellConditioned.withinBound != false)
    }

    /// |a − b| for finite values, +∞ if either is not finite (a NaN output must fail).
    static func errorMagnitude(_ got: Double, _ exact: Double) -> Double {
        guard got.isFinite && exact.isFinite else { return .infinity }
        // a − b of two doubles rounds; round the magnitude up so the comparison stays rigorous.
        return abs(got - exact).nextUp
    }

    struct ErrorStats {
        var maxBoundRatio = 0.0, maxNormalised = 0.0, sumNormalised = 0.0, count = 0
        var maxRelative = 0.0, sumRelative = 0.0, relativeCount = 0
        var maxRelativeWellConditioned = 0.0, wellConditionedCount = 0

        mutating func add(error: Double, exact: Double, absSum: Double, bound: Double) {
            count += 1
            maxBoundRatio = max(maxBoundRatio, bound > 0 ? error / bound : (error == 0 ? 0 : .infinity))
            let normalised = absSum > 0 ? error / absSum : (error == 0 ? 0 : .infinity)
            maxNormalised = max(maxNormalised, normalised)
            sumNormalised += normalised
            if exact != 0 {
                let rel = error / abs(exact)
                relativeCount += 1
                maxRelative = max(maxRelative, rel)
                sumRelative += rel
                if absSum / abs(exact) <= 100 {
                    wellConditionedCount += 1
                    maxRelativeWellConditioned = max(maxRelativeWellConditioned, rel)
                }
            }
        }

        var meanNormalised: Double { count > 0 ? sumNormalised / Double(count) : 0 }
        var meanRelative: Double { relativeCount > 0 ? sumRelative / Double(relativeCount) : 0 }
    }

    /// Folding 1/s into a norm against explicit smoothing of the norm's output.
    static func foldCase(
        layer: SyntheticLayer, tokens: Int, w: [Float], wShape: TensorShape, aMax: [Float], wMax: [Float], withBeta: Bool,
        seed: UInt64, implementation impl: Implementation, params: [String: String]
    ) throws -> SuiteResult {
        let t0 = Date()
        let inner = layer.inFeatures, outputs = layer.outFeatures
        // n: the normalised activations (the synthetic batch), γ ≈ 1 ± 0.2, β ≈ ±0.1.
        let n = layer.batch(dataSeed: seed ^ 3, tokens: tokens).activations()
        let gamma = (0..<inner).map { Float(1 + 0.2 * SeededDraw.normal(seed: seed ^ 0x6A, index: UInt64($0))) }
        let beta = withBeta ? (0..<inner).map { Float(0.1 * SeededDraw.normal(seed: seed ^ 0xBE, index: UInt64($0))) } : nil
        let norm = try NormParameters(gamma: gamma, beta: beta)
        let s = try impl.factors(aMax, wMax, 0.5)
        // Explicit: A = fl(n·γ + β), then Ã = A / s.
        let explicitA = (0..<(tokens * inner)).map { i -> Float in
            let j = i % inner
            return n[i] * gamma[j] + (beta?[j] ?? 0)
        }
        let aShape = try TensorShape(rows: tokens, columns: inner)
        let smoothedExplicit = try impl.smoothActivations(explicitA, aShape, s)
        // Folded: the norm's affine step with γ' = γ/s, β' = β/s.
        let folded = try impl.foldIntoNorm(norm, s)
        let smoothedFolded = (0..<(tokens * inner)).map { i -> Float in
            let j = i % inner
            return n[i] * folded.gamma[j] + (folded.beta?[j] ?? 0)
        }
        let wt = try impl.smoothWeights(w, wShape, s)
        let yExplicit = try impl.productFloat32(smoothedExplicit, tokens, wt, outputs, inner)
        let yFolded = try impl.productFloat32(smoothedFolded, tokens, wt, outputs, inner)
        // Exact y = Σ_j (n_jγ_j + β_j) w_j and T = Σ_j (|n_jγ_j| + |β_j|)|w_j| (rounded up), as
        // dot products of 2n binary64 terms (n_jγ_j is exact in binary64).
        var y = [Double](repeating: 0, count: tokens * outputs), bigT = y
        var x = [Double](repeating: 0, count: 2 * inner), xAbs = x, w2 = x, w2Abs = x
        for t in 0..<tokens {
            for j in 0..<inner {
                x[j] = Double(n[t * inner + j]) * Double(gamma[j])
                x[inner + j] = Double(beta?[j] ?? 0)
            }
            for j in 0..<(2 * inner) { xAbs[j] = abs(x[j]) }
            for o in 0..<outputs {
                for j in 0..<inner {
                    w2[j] = Double(w[o * inner + j])
                    w2[inner + j] = w2[j]
                }
                for j in 0..<(2 * inner) { w2Abs[j] = abs(w2[j]) }
                y[t * outputs + o] = try ExactReference.dot(x, w2)
                bigT[t * outputs + o] = try ExactReference.dot(xAbs, w2Abs, roundingUp: true)
            }
        }
        let g = ForwardError.gamma(inner + 4, .float32)
        let eta = ForwardError.Precision.float32.underflowUnit
        var rec = MismatchRecorder()
        var maxRatio = 0.0, maxDiffRatio = 0.0, maxNorm = 0.0
        for t in 0..<tokens {
            let rowAbs = ForwardError.upperSum(smoothedExplicit[(t * inner)..<((t + 1) * inner)].map { Double(abs($0)) })
                + ForwardError.upperSum(smoothedFolded[(t * inner)..<((t + 1) * inner)].map { Double(abs($0)) })
            for o in 0..<outputs {
                let k = t * outputs + o
                let colAbs = ForwardError.upperSum(wt[(o * inner)..<((o + 1) * inner)].map { Double(abs($0)) })
                let bound = (ForwardError.upperProduct(g, bigT[k]) + 2 * eta * (rowAbs + colAbs + 2 * Double(inner))).nextUp
                let e1 = errorMagnitude(Double(yExplicit[k]), y[k]), e2 = errorMagnitude(Double(yFolded[k]), y[k])
                let diff = errorMagnitude(Double(yFolded[k]), Double(yExplicit[k]))
                maxRatio = max(maxRatio, max(e1, e2) / bound)
                maxDiffRatio = max(maxDiffRatio, diff / (2 * bound))
                maxNorm = max(maxNorm, bigT[k] > 0 ? e2 / bigT[k] : 0)
                rec.check(e1 <= bound && e2 <= bound && diff <= 2 * bound) {
                    Counterexample(
                        inputBits: "output (\(t), \(o))", inputValue: "y = \(y[k])", expectedCode: "each error ≤ \(bound)",
                        expectedValue: "T = \(bigT[k])", gotCode: "explicit \(e1), folded \(e2)",
                        gotValue: "ŷ explicit \(yExplicit[k]), folded \(yFolded[k])", note: withBeta ? "layernorm" : "rmsnorm")
                }
            }
        }
        let metrics = [
            Metric(name: "max err/bound", value: maxRatio, bound: 1),
            Metric(name: "max |folded − explicit|/(2·bound)", value: maxDiffRatio, bound: 1),
            Metric(name: "max err/T (folded)", value: maxNorm),
        ]
        var p = params
        p["foldTokens"] = "\(tokens)"
        p["gamma"] = "γ_\(inner + 4) = \(g)"
        return rec.result(
            suite: Self.name, caseName: withBeta ? "fold/layernorm/f32" : "fold/rmsnorm/f32",
            expected: UInt64(tokens * outputs), reportedMetrics: metrics, parameters: p,
            wallSeconds: Date().timeIntervalSince(t0), alsoRequire: metrics.allSatisfy { $0.value.isFinite })
    }
}

/// Float32 products through `Quant`'s Float32 GEMV (one call per activation row).
enum Float32Product {
    static func gemvRows(_ x: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int) throws -> [Float] {
        var y = [Float](repeating: 0, count: rows * outputs)
        try w.withUnsafeBufferPointer { wp in
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    for t in 0..<rows {
                        try Float32GEMV.multiply(
                            weights: wp, rows: outputs, columns: inner,
                            x: UnsafeBufferPointer(rebasing: xp[(t * inner)..<((t + 1) * inner)]),
                            into: UnsafeMutableBufferPointer(rebasing: yp[(t * outputs)..<((t + 1) * outputs)]))
                    }
                }
            }
        }
        return y
    }
}

/// The Float64 smoothing path: `Quant` applies smoothing in Float32 only, so the suite forms
/// Ã = A / s and W̃ = W·s in binary64 (W·s is exact) from `Quant`'s factors and sums in
/// binary64, recursively.
enum Float64Smoothing {
    static func product(_ a: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int, factors s: [Float]) -> (y: [Double], a: [Double], w: [Double]) {
        let at = a.indices.map { Double(a[$0]) / Double(s[$0 % inner]) }
        let wt = w.indices.map { Double(w[$0]) * Double(s[$0 % inner]) }
        var y = [Double](repeating: 0, count: rows * outputs)
        for t in 0..<rows {
            for o in 0..<outputs {
                var acc = 0.0
                for j in 0..<inner { acc += at[t * inner + j] * wt[o * inner + j] }
                y[t * outputs + o] = acc
            }
        }
        return (y, at, wt)
    }
}
