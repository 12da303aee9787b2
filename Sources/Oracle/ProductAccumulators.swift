/// The state both product accumulators share: the fixed-point lanes, the number of terms
/// added since they were last normalised, and the record of non-finite terms (which decide
/// the sum alone: NaN, or an infinity of one sign). Each accumulator supplies how a finite
/// product is added to the lanes and how often they must be normalised.
struct ProductRegister: Sendable {
    var lanes: FixedPointLanes
    var pending = 0
    var nonFinite = NonFiniteTracker()
    let normaliseEvery: Int

    init(laneCount: Int, unitExponent: Int, normaliseEvery: Int) {
        lanes = FixedPointLanes(laneCount: laneCount, unitExponent: unitExponent)
        self.normaliseEvery = normaliseEvery
    }

    /// Adds a·b: a non-finite factor is recorded; a finite product is added by `addFinite` to
    /// the lanes, which are normalised every `normaliseEvery` terms.
    @inline(__always)
    mutating func add<F: FloatingPoint>(_ a: F, times b: F, _ addFinite: (UnsafeMutableBufferPointer<Int64>) -> Void) {
        if !a.isFinite || !b.isFinite {
            nonFinite.recordProduct(a, b)
            return
        }
        lanes.lanes.withUnsafeMutableBufferPointer { addFinite($0) }
        pending += 1
        if pending == normaliseEvery { lanes.normalise(); pending = 0 }
    }

    /// The exact sum so far, and its single rounding to Double.
    var sum: ExactSum {
        if nonFinite.isSpecial { return nonFinite.result }
        var copy = lanes
        return copy.finish()
    }

    mutating func reset() {
        lanes.reset()
        pending = 0
        nonFinite = NonFiniteTracker()
    }
}

/// Exact sum of products of Float32 values: a Kulisch accumulator over 32-bit lanes.
///
/// A finite Float32 is m·2^e with an integer |m| < 2^24 and e ∈ [−149, 104], so a product is
/// an integer |m_a·m_b| < 2^48 times 2^(e_a+e_b) with e_a+e_b ∈ [−298, 208]: every product,
/// and every sum of them, is an integer multiple of 2^−298 below 2^256·n. The register holds
/// that integer exactly (20 lanes of 32 bits, 640 bits: room for 2^84 terms), so the sum has
/// no rounding at all; `sum` rounds it once.
///
/// Adding a product m·2^p (p = e_a+e_b+298 ≥ 0, p = 32·d + s) splits the signed 48-bit m as
/// m = hi·2^(32−s) + lo with 0 ≤ lo < 2^(32−s): then m·2^p = hi·2^(32(d+1)) + (lo·2^s)·2^(32d),
/// two lane additions without carries. Lanes are normalised every 2^14 terms, before any can
/// exceed 2^62 in magnitude.
public struct Float32ProductAccumulator: Sendable {
    static let laneCount = 20
    static let unitExponent = -298
    static let normaliseEvery = 1 << 14

    var register = ProductRegister(laneCount: laneCount, unitExponent: unitExponent, normaliseEvery: normaliseEvery)

    public init() {}

    /// Adds a·b exactly.
    public mutating func add(_ a: Float, times b: Float) {
        register.add(a, times: b) { lanes in
            let x = Self.decode(a.bitPattern), y = Self.decode(b.bitPattern)
            Self.addProduct(x.m &* y.m, shift: Int(x.e &+ y.e), into: lanes)
        }
    }

    /// Adds x exactly (as x·1).
    public mutating func add(_ x: Float) { add(x, times: 1) }

    /// The exact sum so far, and its single rounding to Double.
    public var sum: ExactSum { register.sum }

    public mutating func reset() { register.reset() }

    /// A finite Float32 as a signed integer significand and its exponent offset by +149
    /// (so that the offset exponent of a product, e_a + e_b + 298, is the sum of two offsets).
    @inline(__always)
    static func decode(_ bits: UInt32) -> (m: Int64, e: Int32) {
        let field = (bits >> 23) & 0xFF
        let fraction = Int64(bits & 0x7F_FFFF)
        let magnitude = field == 0 ? fraction : fraction | 0x80_0000
        let e = field == 0 ? Int32(0) : Int32(field) - 1          // (field − 150) + 149
        return (bits >> 31 != 0 ? -magnitude : magnitude, e)
    }

    @inline(__always)
    static func addProduct(_ m: Int64, shift p: Int, into lanes: UnsafeMutableBufferPointer<Int64>) {
        let d = p &>> 5, s = p & 31
        let lo = (m & ((1 &<< (32 &- s)) &- 1)) &<< s
        let hi = m &>> (32 &- s)
        lanes[d] &+= lo
        lanes[d &+ 1] &+= hi
    }
}

/// Exact sum of products of Float64 values: a Kulisch accumulator over 32-bit lanes.
///
/// A finite Float64 is m·2^e with |m| < 2^53, e ∈ [−1074, 971]; a product is |m_a·m_b| < 2^106
/// times 2^(e_a+e_b), e_a+e_b ∈ [−2148, 1942], so sums are integer multiples of 2^−2148 below
/// 2^2048·n. The register has 134 lanes (4288 bits: room for 2^90 terms). A product is
/// computed exactly as a 128-bit integer (`multipliedFullWidth`), shifted by s = p mod 32 and
/// added or subtracted as five 32-bit pieces; lanes are normalised every 2^29 terms.
public struct Float64ProductAccumulator: Sendable {
    static let laneCount = 134
    static let unitExponent = -2148
    static let normaliseEvery = 1 << 29

    var register = ProductRegister(laneCount: laneCount, unitExponent: unitExponent, normaliseEvery: normaliseEvery)

    public init() {}

    /// Adds a·b exactly.
    public mutating func add(_ a: Double, times b: Double) {
        register.add(a, times: b) { lanes in
            let x = Self.decode(a.bitPattern), y = Self.decode(b.bitPattern)
            Self.addProduct(x.m, y.m, negative: x.negative != y.negative, shift: x.e + y.e, into: lanes)
        }
    }

    /// Adds x exactly (as x·1).
    public mutating func add(_ x: Double) { add(x, times: 1) }

    /// The exact sum so far, and its single rounding to Double.
    public var sum: ExactSum { register.sum }

    public mutating func reset() { register.reset() }

    /// A finite Float64 as sign, integer significand and exponent offset by +1074.
    @inline(__always)
    static func decode(_ bits: UInt64) -> (m: UInt64, e: Int, negative: Bool) {
        let field = (bits >> 52) & 0x7FF
        let fraction = bits & 0xF_FFFF_FFFF_FFFF
        let m = field == 0 ? fraction : fraction | (1 << 52)
        let e = field == 0 ? 0 : Int(field) - 1                  // (field − 1075) + 1074
        return (m, e, bits >> 63 != 0)
    }

    @inline(__always)
    static func addProduct(_ a: UInt64, _ b: UInt64, negative: Bool, shift p: Int,
                           into lanes: UnsafeMutableBufferPointer<Int64>) {
        let (high, low) = a.multipliedFullWidth(by: b)
        let d = p >> 5, s = p & 31
        let w0 = low << s
        let w1 = s == 0 ? high : (high << s) | (low >> (64 - s))
        let w2 = s == 0 ? 0 : high >> (64 - s)
        let mask: UInt64 = 0xFFFF_FFFF
        let pieces = (Int64(w0 & mask), Int64(w0 >> 32), Int64(w1 & mask), Int64(w1 >> 32), Int64(w2))
        if negative {
            lanes[d] -= pieces.0; lanes[d + 1] -= pieces.1; lanes[d + 2] -= pieces.2
            lanes[d + 3] -= pieces.3; lanes[d + 4] -= pieces.4
        } else {
            lanes[d] += pieces.0; lanes[d + 1] += pieces.1; lanes[d + 2] += pieces.2
            lanes[d + 3] += pieces.3; lanes[d + 4] += pieces.4
        }
    }
}
