/// SplitMix64 (Steele, Lea, Flood 2014): a seeded, counter-based generator. Element i of a
/// bulk stochastic conversion with seed S draws `mix(S &+ i &* golden)`, so results do not
/// depend on thread count or chunking.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    public static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0 &+ golden
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The draw for element `index` of a stream seeded with `seed`.
    @inline(__always)
    public static func draw(seed: UInt64, index: UInt64) -> UInt64 {
        mix(seed &+ index &* golden)
    }

    public mutating func next() -> UInt64 {
        state &+= Self.golden
        return Self.mix(state &- Self.golden)
    }
}
