import Foundation
import Formats
import Testing
@testable import Quant

@Suite("SmoothQuant")
struct SmoothQuantTests {
    let aMax: [Float] = [4, 9, 0.25, 0, 2]
    let wMax: [Float] = [0.5, 4, 1, 3, 0]

    @Test("closed forms: α = 0 → 1/max|W_j|, α = 1 → max|A_j|; α = ½ hand-checked")
    func closedForms() throws {
        let s0 = try SmoothQuant.factors(activationMax: aMax, weightMax: wMax, config: .init(alpha: 0))
        #expect(s0[0] == 2 && s0[1] == 0.25 && s0[2] == 1)
        let s1 = try SmoothQuant.factors(activationMax: aMax, weightMax: wMax, config: .init(alpha: 1))
        #expect(Array(s1[0...2]) == [4, 9, 0.25])
        let sh = try SmoothQuant.factors(activationMax: aMax, weightMax: wMax, config: .init(alpha: 0.5))
        // √4/√0.5 = 2√2, √9/√4 = 1.5, √0.25/√1 = 0.5
        #expect(sh[0] == Float(2 * 2.0.squareRoot()) && sh[1] == 1.5 && sh[2] == 0.5)
        // Zero activation channel → ε; zero weight channel → activation max (llm-compressor).
        for s in [s0, s1, sh] {
            #expect(s[3] == 1e-5)
            #expect(s[4] == 2)
        }
        // Negative control: the naive formula gives ∞/NaN on those channels.
        let naive = zip(aMax, wMax).map { a, w in pow(Double(a), 0.5) / pow(Double(w), 0.5) }
        #expect(!naive[4].isFinite)
    }

    @Test("α outside [0, 1] or NaN is a typed error, never clamped", arguments: [-0.01, 1.01, Double.nan, Double.infinity])
    func alphaErrors(alpha: Double) {
        #expect(throws: QuantError.alphaOutOfRange(alpha)) { try SmoothQuantConfig(alpha: alpha) }
    }

    @Test("no non-finite factor from extreme finite inputs")
    func extremes() throws {
        let a: [Float] = [.greatestFiniteMagnitude, .leastNonzeroMagnitude, 1, .greatestFiniteMagnitude]
        let w: [Float] = [.leastNonzeroMagnitude, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        for alpha in stride(from: 0.0, through: 1.0, by: 0.25) {
            let s = try SmoothQuant.factors(activationMax: a, weightMax: w, config: .init(alpha: alpha))
            #expect(s.allSatisfy { $0.isFinite && $0 >= 1e-5 })
        }
        #expect(throws: QuantError.nonFiniteInput(what: "activation maxima", index: 0, value: .nan)) {
            try SmoothQuant.factors(activationMax: [.nan], weightMax: [1], config: .init())
        }
        #expect(throws: QuantError.lengthMismatch(what: "weight channel maxima", expected: 1, actual: 2)) {
            try SmoothQuant.factors(activationMax: [1], weightMax: [1, 2], config: .init())
        }
        #expect(throws: QuantError.self) { try SmoothQuantConfig(alpha: 0.5, epsilon: 0) }
    }

    @Test("smoothing preserves A·Wᵀ; 2-D and batched 3-D agree; folding into the norm")
    func smoothingIdentity() throws {
        let tokens = 6, features = 8, out = 5
        let a = randomFloats(tokens * features, seed: 11)
        let w = randomFloats(out * features, seed: 12, scale: 0.1)
        let ashape = shape(tokens, features), wshape = shape(out, features)
        var cal = SmoothQuantCalibrator()
        try cal.observe(layer: "fc", activations: a, shape: ashape)
        let s = try cal.factors(layer: "fc", weights: [(w, wshape)], config: .init(alpha: 0.5))
        let at = try SmoothQuant.smoothedActivations(a, shape: ashape, factors: s)
        let wt = try SmoothQuant.smoothedWeights(w, shape: wshape, factors: s)
        for t in 0..<tokens {
            for o in 0..<out {
                var y = 0.0, yt = 0.0
                for j in 0..<features {
                    y += Double(a[t * features + j]) * Double(w[o * features + j])
                    yt += Double(at[t * features + j]) * Double(wt[o * features + j])
                }
                #expect(abs(y - yt) <= 1e-5 * (abs(y) + 1e-3))
            }
        }
        let a3 = try SmoothQuant.smoothedActivations(a, shape: shape(2, 3, features), factors: s)
        #expect(a3 == at)
        // LayerNorm folding: γ/s, β/s.
        var norm = try NormParameters(gamma: [Float](repeating: 2, count: features), beta: [Float](repeating: 1, count: features))
        try SmoothQuant.foldIntoNorm(&norm, factors: s)
        for j in 0..<features {
            #expect(norm.gamma[j] == 2 / s[j] && norm.beta![j] == 1 / s[j])
        }
        #expect(throws: QuantError.lengthMismatch(what: "smoothing factors", expected: 3, actual: features)) {
            var n3 = try NormParameters(gamma: [1, 1, 1])
            try SmoothQuant.foldIntoNorm(&n3, factors: s)
        }
    }

    @Test("shared norm feeding q/k/v uses one s from the max over their weights")
    func sharedNorm() throws {
        let features = 4
        let q: [Float] = [1, 0, 0, 0, 0, 0, 0, 0]
        let k: [Float] = [0, 2, 0, 0]
        let v: [Float] = [0, 0, 0, 0.5, 0, 0, 3, 0]
        var weights: [(values: [Float], shape: TensorShape)] = [(q, shape(2, features)), (k, shape(1, features)), (v, shape(2, features))]
        var norm = try NormParameters(gamma: [1, 1, 1, 1])
        let s = try SmoothQuant.smooth(norm: &norm, weights: &weights, activationMax: [1, 4, 9, 16], config: .init(alpha: 0.5))
        // max|W_j| over q,k,v = [1, 2, 3, 0.5]; s = √a/√w
        #expect(s == [1, Float(2 / 2.0.squareRoot()), Float(3 / 3.0.squareRoot()), Float(4 / 0.5.squareRoot())])
        #expect(weights[1].values == [0, 2 * s[1], 0, 0])
        #expect(norm.gamma == s.map { 1 / $0 })
        #expect(norm.beta == nil)
    }

    @Test("calibrator: running max over batches, merge = union, JSON round trip, errors")
    func calibrator() throws {
        var c = SmoothQuantCalibrator()
        try c.observe(layer: "l", activations: [1, -5, 2, 0.5, 3, -1], shape: shape(2, 3))
        try c.observe(layer: "l", activations: [-4, 1, 1], shape: shape(1, 3))
        #expect(try c.activationMax(layer: "l") == [4, 5, 2])
        #expect(c.layers["l"]!.tokens == 3 && c.layers["l"]!.batches == 2)
        // merge of shards = one pass over everything
        var a = SmoothQuantCalibrator(), b = SmoothQuantCalibrator()
        try a.observe(layer: "l", activations: [1, -5, 2, 0.5, 3, -1], shape: shape(2, 3))
        try b.observe(layer: "l", activations: [-4, 1, 1], shape: shape(1, 3))
        try b.observe(layer: "m", activations: [7], shape: shape(1))
        try a.merge(b)
        #expect(try a.activationMax(layer: "l") == c.activationMax(layer: "l"))
        #expect(a.layerNames == ["l", "m"])
        let json = try a.jsonData()
        #expect(try SmoothQuantCalibrator(jsonData: json) == a)
        // errors
        let before = c
        #expect(throws: QuantError.featureCountMismatch(layer: "l", expected: 3, actual: 4)) {
            try c.observe(layer: "l", activations: [1, 2, 3, 4], shape: shape(1, 4))
        }
        #expect(throws: QuantError.nonFiniteInput(what: "activations of layer 'l'", index: 4, value: .nan)) {
            try c.observe(layer: "l", activations: [1, 2, 3, 99, .nan, 1], shape: shape(2, 3))
        }
        #expect(c == before)  // 99 was not committed
        #expect(throws: QuantError.unknownLayer("nope")) { try c.activationMax(layer: "nope") }
        var d = SmoothQuantCalibrator()
        try d.observe(layer: "l", activations: [1, 2], shape: shape(1, 2))
        #expect(throws: QuantError.featureCountMismatch(layer: "l", expected: 3, actual: 2)) { try c.merge(d) }
        let bad = Data(#"{"layers":{"x":{"features":2,"absMax":[1],"tokens":1,"batches":1}}}"#.utf8)
        #expect(throws: DecodingError.self) { try SmoothQuantCalibrator(jsonData: bad) }
    }

    @Test("wide calibration batch: vector column max equals scalar reference")
    func wideBatch() throws {
        let rows = 33, cols = 200
        let x = randomFloats(rows * cols, seed: 5)
        var c = SmoothQuantCalibrator()
        try c.observe(layer: "w", activations: x, shape: shape(rows, cols))
        let ref = (0..<cols).map { j in (0..<rows).map { abs(x[$0 * cols + j]) }.max()! }
        #expect(try c.activationMax(layer: "w") == ref)
    }
}

@Suite("SmoothQuant α search")
struct SmoothQuantSearchTests {
    /// Activations with a few outlier channels (the SmoothQuant setting) and small weights.
    func data(seed: UInt64, tokens: Int = 32, features: Int = 16, outlier: Float = 40) -> [Float] {
        var a = randomFloats(tokens * features, seed: seed)
        for t in 0..<tokens { for j in [2, 9] { a[t * features + j] *= outlier } }
        return a
    }

    @Test("grid, curve and the best α; smoothing beats no smoothing (α = 0 vs best) on outliers")
    func search() throws {
        let features = 16, out = 8
        let batches = (0..<3).map { (data(seed: 100 + UInt64($0)), shape(32, features)) }
        let w = randomFloats(out * features, seed: 7, scale: 0.02)
        let r = try SmoothQuant.searchAlpha(calibration: batches, weights: w, weightShape: shape(out, features), activationScaling: .perTensor)
        #expect(r.curve.count == 21)
        #expect(r.curve.map(\.alpha) == (0...20).map { Double($0) / 20 })
        #expect(r.curve.allSatisfy { $0.mse.isFinite && $0.mse >= 0 })
        #expect(r.bestMSE == r.curve.map(\.mse).min())
        #expect(r.curve.first { $0.mse == r.bestMSE }!.alpha == r.bestAlpha)
        // With per-tensor INT8 activations and 40× outlier channels, migrating difficulty helps.
        let alphaHalf = r.curve[10].mse
        #expect(alphaHalf < r.curve[0].mse)
        // Recompute the α = 0.5 point independently from the public pieces.
        let aMax = try SmoothQuant.weightChannelMax(batches.map { ($0.0, $0.1) }, features: features)  // column max |A|
        let wMax = try SmoothQuant.weightChannelMax([(w, shape(out, features))], features: features)
        let s = try SmoothQuant.factors(activationMax: aMax, weightMax: wMax, config: .init(alpha: 0.5))
        let wq = try IntegerQuantizer.fakeQuantize(SmoothQuant.smoothedWeights(w, shape: shape(out, features), factors: s),
                                                   shape: shape(out, features), granularity: .perChannel)
        var sum = 0.0, n = 0
        for (a, sh) in batches {
            let aq = try IntegerQuantizer.fakeQuantize(SmoothQuant.smoothedActivations(a, shape: sh, factors: s), shape: sh)
            for t in 0..<32 {
                for o in 0..<out {
                    var y = 0.0, yq = 0.0
                    for j in 0..<features {
                        y += Double(a[t * features + j]) * Double(w[o * features + j])
                        yq += Double(aq[t * features + j]) * Double(wq[o * features + j])
                    }
                    sum += (yq - y) * (yq - y)
                    n += 1
                }
            }
        }
        #expect(abs(sum / Double(n) - alphaHalf) <= 1e-12 * alphaHalf)
        // Non-dividing step includes 1.
        let r3 = try SmoothQuant.searchAlpha(calibration: batches, weights: w, weightShape: shape(out, features), step: 0.3)
        #expect(r3.curve.map(\.alpha) == [0, 0.3, 0.6, 0.8999999999999999, 1])
    }

    @Test("α search errors")
    func errors() throws {
        let w = randomFloats(8, seed: 1)
        #expect(throws: QuantError.invalidArgument(name: "step", value: "0.0", reason: "must be in (0, 1]")) {
            try SmoothQuant.searchAlpha(calibration: [([1, 2], shape(1, 2))], weights: w, weightShape: shape(4, 2), step: 0)
        }
        #expect(throws: QuantError.emptyInput(what: "calibration batches")) {
            try SmoothQuant.searchAlpha(calibration: [], weights: w, weightShape: shape(4, 2))
        }
        #expect(throws: QuantError.featureCountMismatch(layer: "calibration batch 0", expected: 2, actual: 4)) {
            try SmoothQuant.searchAlpha(calibration: [([1, 2, 3, 4], shape(1, 4))], weights: w, weightShape: shape(4, 2))
        }
    }

    @Test("smoothed weights into FP8 blocks (E4M3, E5M2) and INT8 per channel")
    func smoothedWeightQuant() throws {
        let w = randomFloats(4 * 40, seed: 5, scale: 0.1)
        let s = (0..<40).map { Float(1 + $0 % 3) }
        let smoothed = try SmoothQuant.smoothedWeights(w, shape: shape(4, 40), factors: s)
        for f in [FloatFormat.e4m3fn, .e5m2] {
            let t = try SmoothQuant.quantizeSmoothedWeightsFP8(w, shape: shape(4, 40), factors: s, format: f)
            #expect(t.scales.count == 8)  // 2 blocks (32 + ragged 8) per row
            #expect(t == (try FP8Scaling.quantize(smoothed, shape: shape(4, 40), format: f, granularity: .blockwise(size: 32))))
        }
        let q = try SmoothQuant.quantizeSmoothedWeightsINT8(w, shape: shape(4, 40), factors: s)
        #expect(q.scales.count == 4 && q.granularity == .perChannel)
    }
}
