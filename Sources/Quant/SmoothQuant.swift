import Foundation
import QuantKernels

/// SmoothQuant configuration (Xiao et al., "SmoothQuant: Accurate and Efficient Post-Training
/// Quantization for Large Language Models", ICML 2023, Eq. 4).
///
/// - `alpha` — migration strength α ∈ [0, 1]: 0 puts all the difficulty on the weights,
///   1 on the activations. Typical: 0.5 (OPT/BLOOM), 0.75 (GLM-130B), 0.8 (LLaMA), 0.85–0.9
///   (Llama-2/3).
/// - `epsilon` — the floor ε applied to every factor (default 1e-5, as mit-han-lab and
///   llm-compressor).
///
/// α outside [0, 1] or NaN throws `alphaOutOfRange`; it is never clamped. ε must be finite and
/// positive (`invalidArgument`).
public struct SmoothQuantConfig: Hashable, Sendable, Codable {
    public let alpha: Double
    public let epsilon: Float

    public init(alpha: Double = 0.5, epsilon: Float = 1e-5) throws {
        guard alpha >= 0 && alpha <= 1 else { throw QuantError.alphaOutOfRange(alpha) }
        guard epsilon.isFinite && epsilon > 0 else {
            throw QuantError.invalidArgument(name: "epsilon", value: "\(epsilon)", reason: "must be finite and > 0")
        }
        self.alpha = alpha
        self.epsilon = epsilon
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(alpha: c.decode(Double.self, forKey: .alpha), epsilon: c.decode(Float.self, forKey: .epsilon))
    }
}

/// Per-input-channel smoothing (SmoothQuant). For a linear layer Y = A·Wᵀ with activations
/// A [tokens, in] and weight W [out, in], the factors s ∈ ℝ^in give
///
///     Ã = A · diag(s)⁻¹,   W̃ = W · diag(s),   Ã·W̃ᵀ = A·Wᵀ   (exactly in real arithmetic).
///
/// All functions validate their inputs and throw `QuantError`.
public enum SmoothQuant {
    // MARK: - Factors

    /// The smoothing factors, computed in Float64 and rounded once to Float32:
    ///
    ///     s_j = max|A_j|^α / max|W_j|^(1−α)          if max|A_j| > 0 and max|W_j| > 0
    ///     s_j = max|A_j|                             if max|W_j| = 0  (llm-compressor fallback:
    ///                                                 a dead weight channel keeps the activation scale)
    ///     s_j = ε                                    if max|A_j| = 0  (all-zero activation channel)
    ///
    /// then s_j ← max(s_j, ε) and, if the Float32 result would overflow, s_j ←
    /// `Float.greatestFiniteMagnitude`: finite inputs never give a NaN, ∞ or zero factor.
    ///
    /// Closed forms: α = 0 → s_j = 1 / max|W_j|; α = 1 → s_j = max|A_j| (both before the floor).
    ///
    /// Throws `lengthMismatch` if the two vectors differ in length, `emptyInput` for no
    /// channels, `nonFiniteInput` / `valueOutOfRange` for NaN, ±∞ or negative maxima.
    public static func factors(activationMax: [Float], weightMax: [Float], config: SmoothQuantConfig) throws -> [Float] {
        guard !activationMax.isEmpty else { throw QuantError.emptyInput(what: "activation maxima") }
        guard weightMax.count == activationMax.count else {
            throw QuantError.lengthMismatch(what: "weight channel maxima", expected: activationMax.count, actual: weightMax.count)
        }
        try validateMaxima(activationMax, what: "activation maxima")
        try validateMaxima(weightMax, what: "weight channel maxima")
        let alpha = config.alpha
        let eps = Double(config.epsilon)
        return zip(activationMax, weightMax).map { a32, w32 in
            let a = Double(a32), w = Double(w32)
            var s: Double
            if a == 0 {
                s = eps
            } else if w == 0 {
                s = a
            } else {
                // pow(a, 1) and pow(w, 0) are exact, so the closed forms hold up to the final
                // Float32 rounding of one Float64 quotient.
                s = pow(a, alpha) / pow(w, 1 - alpha)
            }
            s = max(s, eps)
            return s >= Double(Float.greatestFiniteMagnitude) ? .greatestFiniteMagnitude : Float(s)
        }
    }

    /// Factors for one or more weights fed by the same activations (e.g. q, k, v projections
    /// behind one LayerNorm): max|W_j| is taken over all of them, so one s serves them all.
    public static func factors(activationMax: [Float], weights: [(values: [Float], shape: TensorShape)], config: SmoothQuantConfig) throws -> [Float] {
        try factors(activationMax: activationMax, weightMax: weightChannelMax(weights, features: activationMax.count), config: config)
    }

    /// max_o |W[o][j]| per input channel j over one or more weights [out_k, in] (all with the same
    /// `in` = `features`).
    public static func weightChannelMax(_ weights: [(values: [Float], shape: TensorShape)], features: Int) throws -> [Float] {
        guard !weights.isEmpty else { throw QuantError.emptyInput(what: "weights") }
        var bits = [UInt32](repeating: 0, count: features)
        for (k, w) in weights.enumerated() {
            try requireWeight(w.shape, count: w.values.count, features: features, what: "weights[\(k)]")
            try w.values.withUnsafeBufferPointer { p in
                let bad = alg_column_absmax_update_f32(p.baseAddress, w.shape.rows, features, &bits)
                if bad >= 0 { throw QuantError.nonFiniteInput(what: "weights[\(k)]", index: Int(bad), value: Double(p[Int(bad)])) }
            }
        }
        return bits.map { Float(bitPattern: $0) }
    }

    // MARK: - Applying the factors

    /// A ← A / s along the last dimension (features), in place. Any rank ≥ 1: 2-D [tokens, in]
    /// and batched 3-D [batch, tokens, in] alike. One Float32 division per element.
    public static func smoothActivations(_ a: inout [Float], shape: TensorShape, factors s: [Float]) throws {
        try shape.validate(count: a.count, what: "activations")
        try validateFactors(s, features: shape.columns)
        let cols = shape.columns
        a.withUnsafeMutableBufferPointer { p in
            for r in 0..<shape.rows {
                let base = r * cols
                for j in 0..<cols { p[base + j] /= s[j] }
            }
        }
    }

    /// Copying form of `smoothActivations`.
    public static func smoothedActivations(_ a: [Float], shape: TensorShape, factors s: [Float]) throws -> [Float] {
        var out = a
        try smoothActivations(&out, shape: shape, factors: s)
        return out
    }

    /// W ← W · s along the input-channel (last) dimension, in place: W̃[o][j] = W[o][j] · s_j.
    /// 2-D [out, in] or batched 3-D [experts, out, in]. One Float32 multiplication per element.
    public static func smoothWeights(_ w: inout [Float], shape: TensorShape, factors s: [Float]) throws {
        try shape.validate(count: w.count, what: "weights")
        try validateFactors(s, features: shape.columns)
        let cols = shape.columns
        w.withUnsafeMutableBufferPointer { p in
            for r in 0..<shape.rows {
                let base = r * cols
                for j in 0..<cols { p[base + j] *= s[j] }
            }
        }
    }

    /// Copying form of `smoothWeights`.
    public static func smoothedWeights(_ w: [Float], shape: TensorShape, factors s: [Float]) throws -> [Float] {
        var out = w
        try smoothWeights(&out, shape: shape, factors: s)
        return out
    }

    // MARK: - Offline folding

    /// Folds 1/s into the preceding LayerNorm/RMSNorm: γ_j ← γ_j / s_j and β_j ← β_j / s_j
    /// (RMSNorm: no β). The norm's output then equals the smoothed activations A/s.
    public static func foldIntoNorm(_ norm: inout NormParameters, factors s: [Float]) throws {
        try validateFactors(s, features: norm.gamma.count)
        for j in 0..<s.count { norm.gamma[j] /= s[j] }
        if norm.beta != nil {
            for j in 0..<s.count { norm.beta![j] /= s[j] }
        }
    }

    /// The whole offline transform of one norm and the linear layers it feeds (e.g. q/k/v):
    /// computes s from the calibrated activation maxima and the max over all weights, folds
    /// 1/s into the norm and multiplies every weight by s. Returns s.
    @discardableResult
    public static func smooth(
        norm: inout NormParameters, weights: inout [(values: [Float], shape: TensorShape)],
        activationMax: [Float], config: SmoothQuantConfig
    ) throws -> [Float] {
        let s = try factors(activationMax: activationMax, weights: weights, config: config)
        guard norm.gamma.count == s.count else {
            throw QuantError.lengthMismatch(what: "norm gamma", expected: s.count, actual: norm.gamma.count)
        }
        // All validation precedes the first mutation.
        try foldIntoNorm(&norm, factors: s)
        for k in weights.indices { try smoothWeights(&weights[k].values, shape: weights[k].shape, factors: s) }
        return s
    }

    // MARK: - Validation

    static func validateMaxima(_ m: [Float], what: String) throws {
        for (i, v) in m.enumerated() {
            guard v.isFinite else { throw QuantError.nonFiniteInput(what: what, index: i, value: Double(v)) }
            guard v >= 0 else { throw QuantError.valueOutOfRange(what: what, index: i, value: Double(v), allowed: "[0, +inf)") }
        }
    }

    static func validateFactors(_ s: [Float], features: Int) throws {
        guard s.count == features else {
            throw QuantError.lengthMismatch(what: "smoothing factors", expected: features, actual: s.count)
        }
        for (i, v) in s.enumerated() {
            guard v.isFinite else { throw QuantError.nonFiniteInput(what: "smoothing factors", index: i, value: Double(v)) }
            guard v > 0 else { throw QuantError.valueOutOfRange(what: "smoothing factors", index: i, value: Double(v), allowed: "(0, +inf)") }
        }
    }

    static func requireWeight(_ shape: TensorShape, count: Int, features: Int, what: String) throws {
        try shape.validate(count: count, what: what)
        guard shape.columns == features else {
            throw QuantError.featureCountMismatch(layer: what, expected: features, actual: shape.columns)
        }
    }
}

/// Affine parameters of a LayerNorm (γ, β) or RMSNorm (γ only), one per feature.
public struct NormParameters: Hashable, Sendable, Codable {
    public var gamma: [Float]
    public var beta: [Float]?

    /// Throws `lengthMismatch` if β's length differs from γ's, `emptyInput` for no features.
    public init(gamma: [Float], beta: [Float]? = nil) throws {
        guard !gamma.isEmpty else { throw QuantError.emptyInput(what: "norm gamma") }
        if let b = beta, b.count != gamma.count {
            throw QuantError.lengthMismatch(what: "norm beta", expected: gamma.count, actual: b.count)
        }
        self.gamma = gamma
        self.beta = beta
    }
}

/// Online per-layer, per-channel calibration of max|A_j| over batches (SmoothQuant's
/// `get_act_scales`). Mergeable across threads/shards (max is exact, so any split gives the
/// same result bit for bit) and `Codable` (JSON via `jsonData()` / `init(jsonData:)`).
///
/// Errors: a batch whose feature count differs from the layer's first batch →
/// `featureCountMismatch`; NaN/±∞ → `nonFiniteInput` (the layer's state is unchanged);
/// querying an unseen layer → `unknownLayer`.
public struct SmoothQuantCalibrator: Hashable, Sendable, Codable {
    /// The running state of one layer.
    public struct LayerState: Hashable, Sendable, Codable {
        public let features: Int
        /// max |A_j| per feature.
        public internal(set) var absMax: [Float]
        /// Rows (tokens) seen.
        public internal(set) var tokens: Int
        public internal(set) var batches: Int
    }

    public private(set) var layers: [String: LayerState] = [:]

    public init() {}

    /// Layer names, sorted.
    public var layerNames: [String] { layers.keys.sorted() }

    /// Adds a batch of activations for `layer`, shape [..., features] (rows = tokens).
    public mutating func observe(layer: String, activations: [Float], shape: TensorShape) throws {
        try activations.withUnsafeBufferPointer { try observe(layer: layer, activations: $0, shape: shape) }
    }

    /// Buffer form of `observe` (no copy of the batch; vectorised column max).
    public mutating func observe(layer: String, activations: UnsafeBufferPointer<Float>, shape: TensorShape) throws {
        try shape.validate(count: activations.count, what: "activations")
        let features = shape.columns
        var state = layers[layer] ?? LayerState(features: features, absMax: [Float](repeating: 0, count: features), tokens: 0, batches: 0)
        guard state.features == features else {
            throw QuantError.featureCountMismatch(layer: layer, expected: state.features, actual: features)
        }
        // Update a scratch copy of the running maxima (bit patterns of non-negative floats order
        // like the values), and commit only if the batch was finite.
        var bits = state.absMax.map(\.bitPattern)
        let bad = alg_column_absmax_update_f32(activations.baseAddress, shape.rows, features, &bits)
        if bad >= 0 {
            throw QuantError.nonFiniteInput(what: "activations of layer '\(layer)'", index: Int(bad), value: Double(activations[Int(bad)]))
        }
        state.absMax = bits.map { Float(bitPattern: $0) }
        state.tokens += shape.rows
        state.batches += 1
        layers[layer] = state
    }

    /// max |A_j| of a calibrated layer.
    public func activationMax(layer: String) throws -> [Float] {
        guard let s = layers[layer] else { throw QuantError.unknownLayer(layer) }
        return s.absMax
    }

    /// Smoothing factors of a calibrated layer for the weights it feeds.
    public func factors(layer: String, weights: [(values: [Float], shape: TensorShape)], config: SmoothQuantConfig) throws -> [Float] {
        try SmoothQuant.factors(activationMax: activationMax(layer: layer), weights: weights, config: config)
    }

    /// Merges another calibrator: per-layer element-wise max, token and batch counts added.
    /// Throws `featureCountMismatch` (self unchanged) if a shared layer differs in features.
    public mutating func merge(_ other: SmoothQuantCalibrator) throws {
        for (name, o) in other.layers {
            if let s = layers[name], s.features != o.features {
                throw QuantError.featureCountMismatch(layer: name, expected: s.features, actual: o.features)
            }
        }
        for (name, o) in other.layers {
            if var s = layers[name] {
                for j in 0..<s.features { s.absMax[j] = max(s.absMax[j], o.absMax[j]) }
                s.tokens += o.tokens
                s.batches += o.batches
                layers[name] = s
            } else {
                layers[name] = o
            }
        }
    }

    /// JSON with sorted keys (stable across runs).
    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(self)
    }

    /// Decodes and validates JSON from `jsonData()`.
    public init(jsonData: Data) throws {
        self = try JSONDecoder().decode(SmoothQuantCalibrator.self, from: jsonData)
    }

    private enum CodingKeys: String, CodingKey { case layers }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let layers = try c.decode([String: LayerState].self, forKey: .layers)
        for (name, s) in layers {
            // Counters within 0…2^53, so that observing and merging cannot overflow `Int`.
            let counters = 0...(1 << 53)
            guard s.features >= 1, s.absMax.count == s.features, counters.contains(s.tokens), counters.contains(s.batches),
                  s.absMax.allSatisfy({ $0.isFinite && $0 >= 0 })
            else {
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "layer '\(name)': inconsistent calibration state"))
            }
        }
        self.layers = layers
    }
}
