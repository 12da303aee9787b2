import Support
import Foundation
import Quant

/// Counter-based seeded draws: element `i` of a stream depends only on `(seed, i)`, so data
/// generated in parallel slices, in any order or thread count, is bit-identical.
enum SeededDraw {
    /// Uniform in (0, 1]: the top 53 bits of the draw, plus one ulp, times 2^−53.
    @inline(__always)
    static func openUniform(seed: UInt64, index: UInt64) -> Double {
        Double((SplitMix64.draw(seed: seed, index: index) >> 11) + 1) * 0x1p-53
    }

    /// Uniform in [0, 1).
    @inline(__always)
    static func uniform(seed: UInt64, index: UInt64) -> Double {
        Double(SplitMix64.draw(seed: seed, index: index) >> 11) * 0x1p-53
    }

    /// Standard normal N(0, 1) by Box–Muller on the draws `2i` and `2i + 1`
    /// (z = √(−2 ln u₁) · cos(2π u₂), u₁ ∈ (0, 1], u₂ ∈ [0, 1)). glibc's `log`/`cos` are
    /// deterministic functions, so the value is reproducible on a given platform.
    @inline(__always)
    static func normal(seed: UInt64, index: UInt64) -> Double {
        let u1 = openUniform(seed: seed, index: 2 &* index)
        let u2 = uniform(seed: seed, index: 2 &* index &+ 1)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}

/// The tail of the base activation distribution.
public enum ActivationTail: Hashable, Sendable, Codable, CustomStringConvertible {
    /// N(0, 1).
    case gaussian
    /// Student's t with ν degrees of freedom (ν ≥ 1): z / √(χ²_ν / ν), χ²_ν the sum of ν
    /// squared independent normals — heavy tails (ν = 3, 4 are typical of LLM activations).
    case studentT(degreesOfFreedom: Int)

    public var description: String {
        switch self {
        case .gaussian: return "gaussian"
        case .studentT(let nu): return "student-t(\(nu))"
        }
    }
}

/// A seeded synthetic linear layer Y = A·Wᵀ with realistic activation outliers (the
/// phenomenon SmoothQuant targets: a few input channels carry values 20–100× larger than the
/// rest, persistently across tokens).
///
///     A[t][j] = z[t][j] · (j ∈ outliers ? f : 1),   z ~ base distribution (`tail`)
///     W[o][j] ~ N(0, weightStd²)
///
/// The outlier channels and W depend only on `modelSeed` (a "model"); the activation values on
/// `dataSeed` (a "batch"), so calibration and evaluation batches of one model share their
/// outlier channels. Everything is a pure function of the fields (bit-identical across runs and
/// thread counts).
public struct SyntheticLayer: Hashable, Sendable, Codable, CustomStringConvertible {
    public var tokens: Int
    public var inFeatures: Int
    public var outFeatures: Int
    /// Number of persistent outlier channels k.
    public var outlierChannels: Int
    /// Outlier magnitude factor f (1 = no outliers).
    public var outlierFactor: Double
    public var tail: ActivationTail
    public var weightStd: Double
    public var modelSeed: UInt64
    public var dataSeed: UInt64

    public init(
        tokens: Int, inFeatures: Int, outFeatures: Int, outlierChannels: Int = 8, outlierFactor: Double = 1,
        tail: ActivationTail = .gaussian, weightStd: Double = 0.02, modelSeed: UInt64 = 0x5A0_07E1, dataSeed: UInt64 = 0xDA7A
    ) {
        precondition(tokens >= 1 && inFeatures >= 1 && outFeatures >= 1, "layer sizes must be at least 1")
        precondition((0...inFeatures).contains(outlierChannels), "outlier count must be in 0...inFeatures")
        if case .studentT(let nu) = tail { precondition(nu >= 1, "Student-t needs ν ≥ 1") }
        self.tokens = tokens
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.outlierChannels = outlierChannels
        self.outlierFactor = outlierFactor
        self.tail = tail
        self.weightStd = weightStd
        self.modelSeed = modelSeed
        self.dataSeed = dataSeed
    }

    public var description: String {
        "A[\(tokens)×\(inFeatures)] \(tail), \(outlierChannels) outlier channels ×\(outlierFactor); "
            + "W[\(outFeatures)×\(inFeatures)] N(0, \(weightStd)²); model seed \(Describe.hex(modelSeed, digits: 1)), "
            + "data seed \(Describe.hex(dataSeed, digits: 1))"
    }

    /// The same model with another batch of data.
    public func batch(dataSeed: UInt64, tokens: Int? = nil) -> SyntheticLayer {
        var c = self
        c.dataSeed = dataSeed
        if let tokens { c.tokens = tokens }
        return c
    }

    /// The outlier channels, ascending: a seeded partial Fisher–Yates shuffle of 0..<in.
    public var outlierIndices: [Int] {
        var perm = Array(0..<inFeatures)
        var rng = SplitMix64(seed: modelSeed ^ 0x0071_1E55)
        for i in 0..<outlierChannels {
            let j = i + Int(rng.next() % UInt64(inFeatures - i))
            perm.swapAt(i, j)
        }
        return perm[0..<outlierChannels].sorted()
    }

    /// A [tokens, in], row-major.
    public func activations() -> [Float] {
        var scale = [Double](repeating: 1, count: inFeatures)
        for j in outlierIndices { scale[j] = outlierFactor }
        let seed = dataSeed ^ 0xAC71_0000
        var a = [Float](repeating: 0, count: tokens * inFeatures)
        for i in 0..<a.count {
            let z: Double
            switch tail {
            case .gaussian:
                z = SeededDraw.normal(seed: seed, index: UInt64(i))
            case .studentT(let nu):
                // index space: element i uses normals (ν + 1)·i … (ν + 1)·i + ν.
                let base = UInt64(i) * UInt64(nu + 1)
                var chi2 = 0.0
                for k in 1...nu {
                    let g = SeededDraw.normal(seed: seed, index: base + UInt64(k))
                    chi2 += g * g
                }
                z = SeededDraw.normal(seed: seed, index: base) / (chi2 / Double(nu)).squareRoot()
            }
            a[i] = Float(z * scale[i % inFeatures])
        }
        return a
    }

    /// W [out, in], row-major, N(0, weightStd²).
    public func weights() -> [Float] {
        let seed = modelSeed ^ 0x3E16_4700
        return (0..<(outFeatures * inFeatures)).map { Float(SeededDraw.normal(seed: seed, index: UInt64($0)) * weightStd) }
    }

    /// The fields as result parameters (replay).
    public func parameters(prefix: String = "") -> [String: String] {
        [
            prefix + "tokens": "\(tokens)", prefix + "in": "\(inFeatures)", prefix + "out": "\(outFeatures)",
            prefix + "outlierChannels": "\(outlierChannels)", prefix + "outlierFactor": "\(outlierFactor)",
            prefix + "tail": tail.description, prefix + "weightStd": "\(weightStd)",
            prefix + "modelSeed": "\(modelSeed)", prefix + "dataSeed": "\(dataSeed)",
        ]
    }
}
