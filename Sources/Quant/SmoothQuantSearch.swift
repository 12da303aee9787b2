import Formats

/// One point of the α search curve.
public struct AlphaSearchPoint: Hashable, Sendable, Codable {
    public let alpha: Double
    /// Mean over all calibration outputs of (Ŷ − Y)², Y = A·Wᵀ of the unquantized layer.
    public let mse: Double
}

/// Result of `SmoothQuant.searchAlpha`.
public struct AlphaSearchResult: Hashable, Sendable, Codable {
    public let bestAlpha: Double
    public let bestMSE: Double
    /// Smoothing factors at `bestAlpha`.
    public let factors: [Float]
    /// Every α tried, ascending.
    public let curve: [AlphaSearchPoint]
}

extension SmoothQuant {
    /// Quantizes smoothed weights W·s [out, in] to INT8 per output channel (max-abs).
    public static func quantizeSmoothedWeightsINT8(_ w: [Float], shape: TensorShape, factors s: [Float]) throws -> QuantizedIntegerTensor {
        try IntegerQuantizer.quantize(smoothedWeights(w, shape: shape, factors: s), shape: shape, bits: .int8, granularity: .perChannel)
    }

    /// Quantizes smoothed weights W·s [out, in] to FP8 blocks along the input dimension
    /// (default E4M3, blocks of 32, Float32 scales; E5M2 or any ≤8-bit format allowed).
    public static func quantizeSmoothedWeightsFP8(
        _ w: [Float], shape: TensorShape, factors s: [Float], format: FloatFormat = .e4m3fn, blockSize: Int = 32,
        storage: ScaleStorage = .float32
    ) throws -> FP8Tensor {
        try FP8Scaling.quantize(smoothedWeights(w, shape: shape, factors: s), shape: shape, format: format,
                                granularity: .blockwise(size: blockSize), storage: storage)
    }

    /// Automatic α for one linear layer (in the spirit of Intel Neural Compressor's
    /// `alpha="auto"`): for α = 0, step, 2·step, …, 1 (1 always included), smooth with the
    /// calibration maxima, fake-quantize W·s to INT8 per channel and A/s to INT8 per tensor or
    /// per token (`fake_quant.py` rules), and measure
    ///
    ///     MSE(α) = mean over batches, tokens and outputs of (Ŷ − Y)²,
    ///     Y = A·Wᵀ,  Ŷ = Q(A/s)·Q(W·s)ᵀ     (products accumulated in Float64)
    ///
    /// Returns the α with the smallest MSE (ties → the smaller α) and the whole curve.
    /// Grids that divide 1 (e.g. 0.05) use α = k/n exactly rounded, not k·step.
    ///
    /// Throws: `emptyInput` (no batches), `shapeMismatch`/`featureCountMismatch` for batches
    /// whose last dimension is not in_features, `invalidArgument` for a step outside (0, 1],
    /// `nonFiniteInput` for NaN/∞ data.
    public static func searchAlpha(
        calibration batches: [(values: [Float], shape: TensorShape)], weights: [Float], weightShape: TensorShape,
        step: Double = 0.05, epsilon: Float = 1e-5, activationScaling: ActivationScaling = .perToken
    ) throws -> AlphaSearchResult {
        guard step > 0 && step <= 1 else {
            throw QuantError.invalidArgument(name: "step", value: "\(step)", reason: "must be in (0, 1]")
        }
        guard !batches.isEmpty else { throw QuantError.emptyInput(what: "calibration batches") }
        guard weightShape.rank == 2 else {
            throw QuantError.rankMismatch(what: "weights [out, in]", expected: "2", actual: weightShape.rank)
        }
        try weightShape.validate(count: weights.count, what: "weights")
        try requireFinite(weights, what: "weights")
        let inF = weightShape.columns, outF = weightShape.rows
        var calibrator = SmoothQuantCalibrator()
        for (k, b) in batches.enumerated() {
            guard b.shape.columns == inF else {
                throw QuantError.featureCountMismatch(layer: "calibration batch \(k)", expected: inF, actual: b.shape.columns)
            }
            try calibrator.observe(layer: "layer", activations: b.values, shape: b.shape)
        }
        let aMax = try calibrator.activationMax(layer: "layer")
        let wMax = try weightChannelMax([(weights, weightShape)], features: inF)
        // Reference outputs once.
        let references = batches.map { b in matmulTransposed(b.values, rows: b.shape.rows, weights, outF: outF, inF: inF) }

        let ratio = 1 / step
        let divides = abs(ratio.rounded() - ratio) < 1e-9
        let count = divides ? Int(ratio.rounded()) : Int(ratio.rounded(.down))
        var alphas = (0...count).map { k in divides ? Double(k) / Double(count) : Double(k) * step }
        if alphas.last != 1 { alphas.append(1) }

        var curve: [AlphaSearchPoint] = []
        var best: (alpha: Double, mse: Double, factors: [Float])? = nil
        for alpha in alphas {
            let cfg = try SmoothQuantConfig(alpha: alpha, epsilon: epsilon)
            let s = try factors(activationMax: aMax, weightMax: wMax, config: cfg)
            let wq = try quantizeSmoothedWeightsINT8(weights, shape: weightShape, factors: s).dequantized()
            var sum = 0.0, total = 0
            for (k, b) in batches.enumerated() {
                let at = try smoothedActivations(b.values, shape: b.shape, factors: s)
                let aq = try IntegerQuantizer.fakeQuantize(
                    at, shape: TensorShape(rows: b.shape.rows, columns: inF),
                    granularity: activationScaling == .perToken ? .perToken : .perTensor)
                let y = matmulTransposed(aq, rows: b.shape.rows, wq, outF: outF, inF: inF)
                for (u, v) in zip(y, references[k]) { sum += (u - v) * (u - v) }
                total += y.count
            }
            let mse = sum / Double(total)
            curve.append(AlphaSearchPoint(alpha: alpha, mse: mse))
            if best == nil || mse < best!.mse { best = (alpha, mse, s) }
        }
        return AlphaSearchResult(bestAlpha: best!.alpha, bestMSE: best!.mse, factors: best!.factors, curve: curve)
    }

    /// A [rows, inF] · Wᵀ (W [outF, inF]) in Float64.
    static func matmulTransposed(_ a: [Float], rows: Int, _ w: [Float], outF: Int, inF: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outF)
        for t in 0..<rows {
            for o in 0..<outF {
                var acc = 0.0
                for j in 0..<inF { acc += Double(a[t * inF + j]) * Double(w[o * inF + j]) }
                y[t * outF + o] = acc
            }
        }
        return y
    }
}
