import Formats
@testable import Quant

/// n floats, normal-ish (sum of uniforms), seeded.
func randomFloats(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<n).map { _ in
        var s: Float = 0
        for _ in 0..<4 { s += Float.random(in: -1...1, using: &rng) }
        return s * scale
    }
}

func shape(_ d: Int...) -> TensorShape { try! TensorShape(d) }

