@testable import Quant

/// Seeded SplitMix64 for reproducible test data.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// n floats, normal-ish (sum of uniforms), seeded.
func randomFloats(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SeededRNG(seed: seed)
    return (0..<n).map { _ in
        var s: Float = 0
        for _ in 0..<4 { s += Float.random(in: -1...1, using: &rng) }
        return s * scale
    }
}

func shape(_ d: Int...) -> TensorShape { try! TensorShape(d) }

