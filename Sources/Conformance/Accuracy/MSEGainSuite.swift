import Foundation
import Formats
import Oracle
import Quant

/// How the activations of the fake-quant layer are quantized (weights are always INT8 per
/// output channel, `fake_quant.py`'s `quantize_weight_per_channel_absmax`).
public enum ActivationQuantization: String, Hashable, Sendable, Codable, CaseIterable {
    case int8PerTensor = "int8/per-tensor"
    case int8PerToken = "int8/per-token"
    case int4PerTensor = "int4/per-tensor"
    case int4PerToken = "int4/per-token"
    /// FP8 E4M3FN with one current-scaling factor for the tensor (TE `Float8CurrentScaling`).
    case e4m3PerTensor = "e4m3/per-tensor"

    /// The `Quant` activation scaling of the INT8 variants (the ones `SmoothQuant.searchAlpha`
    /// covers), nil otherwise.
    public var int8Scaling: ActivationScaling? {
        switch self {
        case .int8PerTensor: return .perTensor
        case .int8PerToken: return .perToken
        default: return nil
        }
    }
}

/// The fake-quant linear layer under test,
///
///     Ŷ = Q_a(A / s) · Q_w(W · s)ᵀ        (s = 1 without smoothing),
///
/// with every step taken from `Quant` (production) or injected (negative controls).
public struct FakeQuantLayerImplementation: Sendable {
    public var activationMax: @Sendable (_ a: [Float], _ shape: TensorShape) throws -> [Float]
    public var weightMax: @Sendable (_ w: [Float], _ shape: TensorShape) throws -> [Float]
    public var factors: @Sendable (_ activationMax: [Float], _ weightMax: [Float], _ alpha: Double) throws -> [Float]
    public var smoothActivations: @Sendable (_ a: [Float], _ shape: TensorShape, _ s: [Float]) throws -> [Float]
    public var smoothWeights: @Sendable (_ w: [Float], _ shape: TensorShape, _ s: [Float]) throws -> [Float]
    /// Q_w: dequantized INT8 per-channel weights.
    public var fakeQuantWeights: @Sendable (_ w: [Float], _ shape: TensorShape) throws -> [Float]
    /// Q_a: dequantized activations.
    public var fakeQuantActivations: @Sendable (_ a: [Float], _ shape: TensorShape, _ q: ActivationQuantization) throws -> [Float]
    /// Automatic α for the INT8 variants (production: `SmoothQuant.searchAlpha`, step 0.05);
    /// returns (α, the MSE curve).
    public var searchAlpha: @Sendable (_ calibration: [Float], _ shape: TensorShape, _ w: [Float], _ wShape: TensorShape, _ scaling: ActivationScaling) throws
        -> (alpha: Double, curve: [Double])

    public init(
        activationMax: @escaping @Sendable ([Float], TensorShape) throws -> [Float],
        weightMax: @escaping @Sendable ([Float], TensorShape) throws -> [Float],
        factors: @escaping @Sendable ([Float], [Float], Double) throws -> [Float],
        smoothActivations: @escaping @Sendable ([Float], TensorShape, [Float]) throws -> [Float],
        smoothWeights: @escaping @Sendable ([Float], TensorShape, [Float]) throws -> [Float],
        fakeQuantWeights: @escaping @Sendable ([Float], TensorShape) throws -> [Float],
        fakeQuantActivations: @escaping @Sendable ([Float], TensorShape, ActivationQuantization) throws -> [Float],
        searchAlpha: @escaping @Sendable ([Float], TensorShape, [Float], TensorShape, ActivationScaling) throws -> (alpha: Double, curve: [Double])
    ) {
        self.activationMax = activationMax
        self.weightMax = weightMax
        self.factors = factors
        self.smoothActivations = smoothActivations
        self.smoothWeights = smoothWeights
        self.fakeQuantWeights = fakeQuantWeights
        self.fakeQuantActivations = fakeQuantActivations
        self.searchAlpha = searchAlpha
    }

    public static let production = FakeQuantLayerImplementation(
        activationMax: { a, shape in
            var c = SmoothQuantCalibrator()
            try c.observe(layer: "layer", activations: a, shape: shape)
            return try c.activationMax(layer: "layer")
        },
        weightMax: { w, shape in try SmoothQuant.weightChannelMax([(w, shape)], features: shape.columns) },
        factors: { a, w, alpha in try SmoothQuant.factors(activationMax: a, weightMax: w, config: SmoothQuantConfig(alpha: alpha)) },
        smoothActivations: { a, shape, s in try SmoothQuant.smoothedActivations(a, shape: shape, factors: s) },
        smoothWeights: { w, shape, s in try SmoothQuant.smoothedWeights(w, shape: shape, factors: s) },
        fakeQuantWeights: { w, shape in try IntegerQuantizer.fakeQuantize(w, shape: shape, bits: .int8, granularity: .perChannel) },
        fakeQuantActivations: { a, shape, q in
            switch q {
            case .int8PerTensor: return try IntegerQuantizer.fakeQuantize(a, shape: shape, bits: .int8, granularity: .perTensor)
            case .int8PerToken: return try IntegerQuantizer.fakeQuantize(a, shape: shape, bits: .int8, granularity: .perToken)
            case .int4PerTensor: return try IntegerQuantizer.fakeQuantize(a, shape: shape, bits: .int4, granularity: .perTensor)
            case .int4PerToken: return try IntegerQuantizer.fakeQuantize(a, shape: shape, bits: .int4, granularity: .perToken)
            case .e4m3PerTensor:
                return try FP8Scaling.quantize(a, shape: shape, format: .e4m3fn, granularity: .perTensor).dequantized()
            }
        },
        searchAlpha: { cal, shape, w, wShape, scaling in
            let r = try SmoothQuant.searchAlpha(
                calibration: [(cal, shape)], weights: w, weightShape: wShape, step: 0.05, activationScaling: scaling)
            return (r.bestAlpha, r.curve.map(\.mse))
        })
}

/// Evaluation of the fake-quant layer on one synthetic layer against the exact output.
struct FakeQuantEvaluation {
    let layer: SyntheticLayer
    let calibration: SyntheticLayer
    let a: [Float]
    let w: [Float]
    let aShape: TensorShape
    let wShape: TensorShape
    let calA: [Float]
    let calShape: TensorShape
    /// The first rows of the calibration batch, on which auto-α is searched.
    let searchA: [Float]
    let searchShape: TensorShape
    /// Exact Y = A·Wᵀ (oracle).
    let exact: ExactMatrix
    /// mean(Y²) of the exact output.
    let meanSquare: Double
    let aMax: [Float]
    let wMax: [Float]
    let impl: FakeQuantLayerImplementation
    let threads: Int
    let referenceSeconds: Double

    init(layer: SyntheticLayer, calibration: SyntheticLayer, searchTokens: Int, impl: FakeQuantLayerImplementation, threads: Int) throws {
        self.layer = layer
        self.calibration = calibration
        self.impl = impl
        self.threads = threads
        a = layer.activations()
        w = layer.weights()
        aShape = try TensorShape(rows: layer.tokens, columns: layer.inFeatures)
        wShape = try TensorShape(rows: layer.outFeatures, columns: layer.inFeatures)
        calA = calibration.activations()
        calShape = try TensorShape(rows: calibration.tokens, columns: calibration.inFeatures)
        let rows = min(searchTokens, calibration.tokens)
        searchA = Array(calA[0..<(rows * calibration.inFeatures)])
        searchShape = try TensorShape(rows: rows, columns: calibration.inFeatures)
        let t0 = Date()
        exact = try ExactProductCache.product(layer: layer, a: a, w: w)
        referenceSeconds = Date().timeIntervalSince(t0)
        meanSquare = exact.rounded.reduce(0) { $0 + $1 * $1 } / Double(exact.entries.count)
        aMax = try impl.activationMax(calA, calShape)
        wMax = try impl.weightMax(w, wShape)
    }

    /// MSE of Ŷ = Q_a(A/s)·Q_w(W·s)ᵀ against the exact Y (the oracle's exact mean of squared
    /// differences, rounded once); s = nil means no smoothing. Ŷ is formed in binary64 from the
    /// dequantized Float32 tensors (products exact, sums with relative error ≤ γ_n(binary64)
    /// ≈ 1e-13 — negligible against quantization errors).
    func mse(factors s: [Float]?, quantization q: ActivationQuantization) throws -> Double {
        let at = try s.map { try impl.smoothActivations(a, aShape, $0) } ?? a
        let wt = try s.map { try impl.smoothWeights(w, wShape, $0) } ?? w
        let aq = try impl.fakeQuantActivations(at, aShape, q)
        let wq = try impl.fakeQuantWeights(wt, wShape)
        let yhat = Float64Matmul.product(aq, rows: layer.tokens, wq, outputs: layer.outFeatures, inner: layer.inFeatures, threads: threads)
        return try exact.meanSquaredError(of: yhat)
    }

    func factors(alpha: Double) throws -> [Float] { try impl.factors(aMax, wMax, alpha) }

    /// The α grid of the search and sweep: k/20, k = 0…20 (exactly rounded, as `searchAlpha`).
    static let alphaGrid: [Double] = (0...20).map { Double($0) / 20 }

    /// Automatic α, searched on `searchA` (the first rows of the calibration batch; the
    /// factors inside the search come from those rows' maxima). INT8 variants:
    /// `impl.searchAlpha` (Quant's); the suite re-runs the same criterion (MSE against the
    /// binary64 output of those rows, grid k/20, ties to the smaller α) and reports
    /// disagreement. INT4/FP8 variants: the suite's grid search with that criterion.
    /// `own` is `gridSearch`'s result for `q`.
    func autoAlpha(_ q: ActivationQuantization, own: (alpha: Double, curve: [Double])) throws -> (alpha: Double, source: String, disagreement: String?) {
        if let scaling = q.int8Scaling {
            let quant = try impl.searchAlpha(searchA, searchShape, w, wShape, scaling)
            // Quant's α must minimise the criterion (summation order may differ: allow 1e-9 relative).
            let k = Self.alphaGrid.firstIndex(of: quant.alpha)
            let best = own.curve.min() ?? .infinity
            let disagreement = k != nil && own.curve[k!] <= best * (1 + 1e-9) ? nil
                : "Quant.searchAlpha chose α=\(quant.alpha); the documented criterion's minimum is at α=\(own.alpha)"
            return (quant.alpha, "Quant.searchAlpha", disagreement)
        }
        return (own.alpha, "suite grid search (searchAlpha's criterion)", nil)
    }

    /// The search criterion over `alphaGrid` for every quantization in `qs`: the smoothed,
    /// quantized weights depend on α only, so they are formed once per α and shared.
    func gridSearch(_ qs: [ActivationQuantization]) throws -> [ActivationQuantization: (alpha: Double, curve: [Double])] {
        let rows = searchShape.rows
        let searchAMax = try impl.activationMax(searchA, searchShape)
        let reference = Float64Matmul.product(searchA, rows: rows, w, outputs: layer.outFeatures, inner: layer.inFeatures, threads: threads)
        var best = [ActivationQuantization: (alpha: Double, mse: Double)]()
        var curves = [ActivationQuantization: [Double]]()
        for alpha in Self.alphaGrid {
            let s = try impl.factors(searchAMax, wMax, alpha)
            let smoothed = try impl.smoothActivations(searchA, searchShape, s)
            let wq = try impl.fakeQuantWeights(try impl.smoothWeights(w, wShape, s), wShape)
            for q in qs {
                let aq = try impl.fakeQuantActivations(smoothed, searchShape, q)
                let y = Float64Matmul.product(aq, rows: rows, wq, outputs: layer.outFeatures, inner: layer.inFeatures, threads: threads)
                var sum = 0.0
                for k in 0..<y.count { sum += (y[k] - reference[k]) * (y[k] - reference[k]) }
                let m = sum / Double(y.count)
                curves[q, default: []].append(m)
                if m < best[q, default: (0, .infinity)].mse { best[q] = (alpha, m) }
            }
        }
        return qs.reduce(into: [:]) { r, q in r[q] = (best[q]?.alpha ?? 0, curves[q] ?? []) }
    }
}

/// `mse-gain`: output MSE of the fake-quant layer with and without SmoothQuant on synthetic
/// activations with persistent outlier channels (the SmoothQuant setting, Xiao et al., ICML 2023),
/// against the exact output.
///
/// For each outlier factor f ∈ {1, 20, 50, 100} and activation quantization (INT8 per tensor /
/// per token, INT4 per tensor / per token, FP8 E4M3 per tensor; weights INT8 per channel):
///
///     MSE_x = mean over outputs of (Ŷ_x − Y)²,   Y = A·Wᵀ exact (oracle),
///     x ∈ {plain (s = 1), α = 0.5, auto-α},      relative MSE = MSE / mean(Y²),
///     gain_x = MSE_plain / MSE_x.
///
/// s is computed from a separate calibration batch of the same model (same outlier channels,
/// another data seed). Every figure must be finite; on the default scenario each gain must be
/// at least its `Golden/accuracy.json` value × (1 − tolerance), and the INT8 auto-α must match
/// the documented search criterion re-run by the suite.
public enum MSEGainSuite {
    public static let name = "mse-gain"
    public static let outlierFactors: [Double] = [1, 20, 50, 100]

    /// A scenario: the layer sizes and seeds (outlier factor varies per case).
    public struct Scenario: Sendable, Hashable, Codable {
        public var id: String
        public var tokens: Int
        public var inFeatures: Int
        public var outFeatures: Int
        /// nil: the smoothing factors and auto-α are calibrated on the evaluation batch itself
        /// (in-sample, as the reference reproduction of the SmoothQuant formulas); otherwise on a held-out
        /// batch of this many tokens from the same model (data seed `calibrationSeed`).
        public var calibrationTokens: Int?
        public var outlierChannels: Int
        public var tail: ActivationTail
        public var modelSeed: UInt64
        public var dataSeed: UInt64
        public var calibrationSeed: UInt64
        /// Prefix of the case names (empty for the main scenario of a run).
        public var casePrefix: String
        /// Auto-α is searched on the first this-many tokens of the calibration batch.
        public var alphaSearchTokens: Int

        public init(
            id: String, tokens: Int, inFeatures: Int, outFeatures: Int, calibrationTokens: Int?, outlierChannels: Int,
            tail: ActivationTail, modelSeed: UInt64, dataSeed: UInt64, calibrationSeed: UInt64, casePrefix: String,
            alphaSearchTokens: Int
        ) {
            self.id = id
            self.tokens = tokens
            self.inFeatures = inFeatures
            self.outFeatures = outFeatures
            self.calibrationTokens = calibrationTokens
            self.outlierChannels = outlierChannels
            self.tail = tail
            self.modelSeed = modelSeed
            self.dataSeed = dataSeed
            self.calibrationSeed = calibrationSeed
            self.casePrefix = casePrefix
            self.alphaSearchTokens = alphaSearchTokens
        }

        /// The default run: the reference reproduction's layer (X 512×1024 N(0, 1) with 8 outlier channels ×f,
        /// W N(0, 0.02²), in-sample calibration) with the out dimension reduced to 64, so that
        /// the exact reference stays within seconds in release builds (max|W_j| over 64 rows
        /// instead of 1024 lowers the per-tensor gains slightly). Auto-α is searched on the
        /// first 128 tokens.
        public static let quick = Scenario(
            id: "quick", tokens: 512, inFeatures: 1024, outFeatures: 64, calibrationTokens: nil, outlierChannels: 8,
            tail: .gaussian, modelSeed: 0x5A0_07E1, dataSeed: 0xDA7A, calibrationSeed: 0xCA1B, casePrefix: "",
            alphaSearchTokens: 128)
        /// `--exhaustive`: the reference reproduction's scenario itself (X 512×1024 N(0, 1) with 8
        /// outlier channels ×f, W 1024×1024 N(0, 0.02²), α = 0.5, W per-channel INT8, error =
        /// MSE(Ŷ − Y)/mean(Y²)).
        public static let exhaustive = Scenario(
            id: "exhaustive", tokens: 512, inFeatures: 1024, outFeatures: 1024, calibrationTokens: nil, outlierChannels: 8,
            tail: .gaussian, modelSeed: 0x5A0_07E1, dataSeed: 0xDA7A, calibrationSeed: 0xCA1B, casePrefix: "",
            alphaSearchTokens: 512)
        /// `--exhaustive`, second scenario: held-out calibration (128 tokens) and Student-t(4)
        /// tails, the practical setting (factors from other data than they are applied to).
        public static let heldOut = Scenario(
            id: "held-out", tokens: 512, inFeatures: 1024, outFeatures: 256, calibrationTokens: 128, outlierChannels: 8,
            tail: .studentT(degreesOfFreedom: 4), modelSeed: 0x5A0_07E1, dataSeed: 0xDA7A, calibrationSeed: 0xCA1B,
            casePrefix: "held-out/", alphaSearchTokens: 128)

        public func layer(outlierFactor f: Double) -> SyntheticLayer {
            SyntheticLayer(
                tokens: tokens, inFeatures: inFeatures, outFeatures: outFeatures, outlierChannels: outlierChannels,
                outlierFactor: f, tail: tail, modelSeed: modelSeed, dataSeed: dataSeed)
        }

        public func calibrationLayer(outlierFactor f: Double) -> SyntheticLayer {
            guard let t = calibrationTokens else { return layer(outlierFactor: f) }
            return layer(outlierFactor: f).batch(dataSeed: calibrationSeed, tokens: t)
        }

        public var calibrationDescription: String {
            calibrationTokens.map { "held-out batch of \($0) tokens, data seed \(calibrationSeed)" } ?? "in-sample (the evaluation batch)"
        }
    }

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        let golden = try AccuracyGolden.load()
        if o.exhaustive {
            return try run(scenario: .exhaustive, threads: o.threads, golden: golden, implementation: .production)
                + run(scenario: .heldOut, threads: o.threads, golden: golden, implementation: .production)
        }
        return try run(scenario: .quick, threads: o.threads, golden: golden, implementation: .production)
    }

    /// "golden v × (1 − t)" for the golden figure behind a gain metric, "" when there is none.
    static func goldenText(_ metric: String, _ e: AccuracyGolden.Expectation?) -> String {
        guard let e else { return "" }
        let figure: AccuracyGolden.Figure
        switch metric {
        case "gain α=0.5": figure = e.gainHalf
        case "gain auto-α": figure = e.gainAuto
        default: return ""
        }
        return "golden \(figure.value) × (1 − \(figure.tolerance))"
    }

    /// Runs every (f, quantization) case of `scenario`. `golden` nil or without entries for
    /// the scenario checks finiteness and the auto-α criterion only (and says so in the
    /// parameters).
    public static func run(
        scenario: Scenario, factors: [Double] = outlierFactors, quantizations: [ActivationQuantization] = ActivationQuantization.allCases,
        threads: Int, golden: AccuracyGolden?, implementation impl: FakeQuantLayerImplementation
    ) throws -> [SuiteResult] {
        var results: [SuiteResult] = []
        for f in factors {
            let tEval = Date()
            let eval = try FakeQuantEvaluation(
                layer: scenario.layer(outlierFactor: f), calibration: scenario.calibrationLayer(outlierFactor: f),
                searchTokens: scenario.alphaSearchTokens, impl: impl, threads: threads)
            let half = try eval.factors(alpha: 0.5)
            // The first case of each f also carries the shared auto-α search.
            let searches = try eval.gridSearch(quantizations)
            for (k, q) in quantizations.enumerated() {
                // The first case of each f also carries the set-up (data, exact reference).
                let t0 = k == 0 ? tEval : Date()
                let caseName = scenario.casePrefix + "\(q.rawValue)/f=\(formatFactor(f))"
                let plain = try eval.mse(factors: nil, quantization: q)
                let smoothed = try eval.mse(factors: half, quantization: q)
                let auto = try eval.autoAlpha(q, own: searches[q]!)
                let autoMSE = try eval.mse(factors: eval.factors(alpha: auto.alpha), quantization: q)
                let expect = golden?.expectation(scenario: scenario.id, caseName: caseName)
                var metrics = [
                    Metric(name: "MSE plain", value: plain),
                    Metric(name: "rel MSE plain", value: plain / eval.meanSquare),
                    Metric(name: "rel MSE α=0.5", value: smoothed / eval.meanSquare),
                    Metric(name: "gain α=0.5", value: plain / smoothed),
                    Metric(name: "rel MSE auto-α", value: autoMSE / eval.meanSquare),
                    Metric(name: "gain auto-α", value: plain / autoMSE),
                ]
                if let e = expect {
                    metrics[3].bound = e.gainHalf.minimum
                    metrics[3].boundKind = .lower
                    metrics[5].bound = e.gainAuto.minimum
                    metrics[5].boundKind = .lower
                }
                var rec = MismatchRecorder()
                for m in metrics where !m.value.isFinite || m.withinBound == false {
                    rec.recordMismatch {
                        Counterexample(
                            inputBits: caseName, inputValue: m.name,
                            expectedCode: m.bound.map { "≥ \($0)" } ?? "finite", expectedValue: Self.goldenText(m.name, expect),
                            gotCode: "\(m.value)", gotValue: "", note: scenario.id)
                    }
                }
                if let d = auto.disagreement {
                    rec.recordMismatch {
                        Counterexample(
                            inputBits: caseName, inputValue: "auto-α", expectedCode: "argmin of the documented criterion",
                            expectedValue: "", gotCode: "\(auto.alpha)", gotValue: d, note: scenario.id)
                    }
                }
                var p = eval.layer.parameters()
                p["scenario"] = scenario.id
                p["calibration"] = scenario.calibrationDescription
                p["alphaSearchTokens"] = "\(eval.searchShape.rows)"
                p["activations"] = q.rawValue
                p["weights"] = "int8/per-channel"
                p["autoAlpha"] = "\(auto.alpha)"
                p["autoAlphaSource"] = auto.source
                p["MSE α=0.5"] = "\(smoothed)"
                p["MSE auto-α"] = "\(autoMSE)"
                p["mean(Y²)"] = "\(eval.meanSquare)"
                p["golden"] = expect.map { "gain α=0.5 ≥ \($0.gainHalf.minimum), gain auto-α ≥ \($0.gainAuto.minimum)" } ?? "none for this scenario"
                rec.addCovered(UInt64(eval.exact.entries.count))
                results.append(rec.result(
                    suite: name, caseName: caseName, metrics: metrics, parameters: p, wallSeconds: Date().timeIntervalSince(t0)))
            }
        }
        return results
    }

    static func formatFactor(_ f: Double) -> String { f == f.rounded() ? "\(Int(f))" : "\(f)" }
}

/// `alpha-sweep`: relative output MSE against α ∈ {0, 0.05, …, 1} for one scenario (f = 50,
/// INT8 per tensor and per token), as chart data: metrics named `rel MSE@alpha=<α>`.
public enum AlphaSweepSuite {
    public static let name = "alpha-sweep"
    public static let outlierFactor: Double = 50

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try run(scenario: o.exhaustive ? .exhaustive : .quick, threads: o.threads, implementation: .production)
    }

    public static func run(
        scenario: MSEGainSuite.Scenario, quantizations: [ActivationQuantization] = [.int8PerTensor, .int8PerToken],
        threads: Int, implementation impl: FakeQuantLayerImplementation
    ) throws -> [SuiteResult] {
        let eval = try FakeQuantEvaluation(
            layer: scenario.layer(outlierFactor: outlierFactor), calibration: scenario.calibrationLayer(outlierFactor: outlierFactor),
            searchTokens: scenario.alphaSearchTokens,
            impl: impl, threads: threads)
        return try quantizations.map { q in
            let t0 = Date()
            let plain = try eval.mse(factors: nil, quantization: q) / eval.meanSquare
            var metrics: [Metric] = []
            var best = (alpha: 0.0, rel: Double.infinity)
            var nonFinite = 0
            var curve: [Double] = []
            for alpha in FakeQuantEvaluation.alphaGrid {
                let rel = try eval.mse(factors: eval.factors(alpha: alpha), quantization: q) / eval.meanSquare
                if !rel.isFinite { nonFinite += 1 }
                if rel < best.rel { best = (alpha, rel) }
                curve.append(rel)
                metrics.append(Metric(name: "rel MSE@alpha=\(String(format: "%.2f", alpha))", value: rel))
            }
            var p = eval.layer.parameters()
            p["scenario"] = scenario.id
            p["activations"] = q.rawValue
            p["weights"] = "int8/per-channel"
            p["rel MSE plain"] = "\(plain)"
            p["best α on evaluation data"] = "\(best.alpha)"
            var rec = MismatchRecorder()
            rec.addCovered(UInt64(FakeQuantEvaluation.alphaGrid.count))
            rec.addMismatches(UInt64(nonFinite))
            return rec.result(
                suite: name, caseName: "\(q.rawValue)/f=\(MSEGainSuite.formatFactor(outlierFactor))",
                expected: UInt64(FakeQuantEvaluation.alphaGrid.count), metrics: metrics, parameters: p,
                wallSeconds: Date().timeIntervalSince(t0),
                series: [DataSeries(
                    chart: "relative output MSE against α (f = 50)", name: q.rawValue, xLabel: "α", yLabel: "MSE / mean(Y²)",
                    x: FakeQuantEvaluation.alphaGrid, y: curve, logY: true)],
                alsoRequire: plain.isFinite)
        }
    }
}

/// X·Wᵀ in binary64 from Float32 inputs. Each output is summed in a fixed order — four lanes
/// (lane l takes j ≡ l mod 4 within whole groups of 4), combined as (l0 + l1) + (l2 + l3), then
/// the tail in order — and rows are split over threads, so the result does not depend on the
/// thread count. Products of Float32 values are exact in binary64; the sums carry a relative
/// error ≤ γ_n(binary64) of Σ|x_j w_j| (≈ 1e-13 for n = 1024), negligible against the
/// quantization errors measured with it.
enum Float64Matmul {
    static func product(_ x: [Float], rows: Int, _ w: [Float], outputs: Int, inner: Int, threads: Int) -> [Double] {
        let result = UnsafeMutableBufferPointer<Double>.allocate(capacity: rows * outputs)
        defer { result.deallocate() }
        let xd = x.map(Double.init), wd = w.map(Double.init)
        let workers = max(1, min(threads, rows / 16))
        let per = (rows + workers - 1) / workers
        let out = SendableBuffer(result)
        let whole = inner & ~3
        xd.withUnsafeBufferPointer { xp in
            wd.withUnsafeBufferPointer { wp in
                let X = SendableConstBuffer(xp), W = SendableConstBuffer(wp)
                DispatchQueue.concurrentPerform(iterations: workers) { k in
                    let xb = X.p.baseAddress!, wb = W.p.baseAddress!
                    for t in (k * per)..<min(rows, (k + 1) * per) {
                        let xr = xb + t * inner
                        for o in 0..<outputs {
                            let wr = wb + o * inner
                            var l0 = 0.0, l1 = 0.0, l2 = 0.0, l3 = 0.0
                            var j = 0
                            while j < whole {
                                l0 += xr[j] * wr[j]
                                l1 += xr[j + 1] * wr[j + 1]
                                l2 += xr[j + 2] * wr[j + 2]
                                l3 += xr[j + 3] * wr[j + 3]
                                j += 4
                            }
                            var s = (l0 + l1) + (l2 + l3)
                            while j < inner {
                                s += xr[j] * wr[j]
                                j += 1
                            }
                            out.p[t * outputs + o] = s
                        }
                    }
                }
            }
        }
        return Array(result)
    }
}

/// Exact products computed once per process per synthetic layer (the gain and sweep suites
/// share scenarios).
enum ExactProductCache {
    private static let cache = Locked<[SyntheticLayer: ExactMatrix]>([:])

    /// Two threads asking for the same new layer may both compute it (the lock is not held
    /// during the product); both results are equal, and the last one is kept.
    static func product(layer: SyntheticLayer, a: [Float], w: [Float]) throws -> ExactMatrix {
        if let y = cache.withLock({ $0[layer] }) { return y }
        let y = try ExactReference.matrix(a, rows: layer.tokens, w, outputs: layer.outFeatures, inner: layer.inFeatures)
        cache.withLock { $0[layer] = y }
        return y
    }
}
