import CMPFR

/// An exactly computed real number from an exact accumulation (a dot product, a matrix entry),
/// stored as sign and magnitude digits, plus its single rounding to binary64.
///
///     |value| = Σ_i digits[i] · 2^(32·i + lowestExponent)
///
/// Non-finite results follow the extended reals of IEEE 754: any NaN term, ∞·0, or ∞ − ∞ give
/// NaN; otherwise an infinite term gives ±∞ (and the finite terms do not matter).
public struct ExactSum: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case finite, nan, positiveInfinity, negativeInfinity
    }

    public let kind: Kind
    /// Sign of a finite non-zero value (false for an exact zero: exact sums give +0).
    public let isNegative: Bool
    /// Magnitude digits, least significant first, without leading or trailing zero digits;
    /// empty for zero.
    public let digits: [UInt32]
    /// The weight of `digits[0]` is 2^lowestExponent.
    public let lowestExponent: Int
    /// The exact value rounded once to the nearest binary64 (ties to even; ±∞ beyond range).
    public let rounded: Double

    public var isZero: Bool { kind == .finite && digits.isEmpty }

    /// Bits needed to hold the magnitude exactly (0 for zero).
    public var bitLength: Int {
        guard let top = digits.last else { return 0 }
        return 32 * (digits.count - 1) + (32 - top.leadingZeroBitCount)
    }

    /// The exact value as an MPFR number whose precision holds it exactly (at least 2 bits).
    public func exact() -> MPFRNumber {
        switch kind {
        case .nan: return MPFRNumber(precision: 2)
        case .positiveInfinity, .negativeInfinity:
            let x = MPFRNumber(precision: 2)
            x.setInfinity(negative: kind == .negativeInfinity)
            return x
        case .finite:
            let x = MPFRNumber(precision: max(2, bitLength))
            Self.setExact(x, digits: digits[...], negative: isNegative, lowestExponent: lowestExponent)
            return x
        }
    }

    public var description: String {
        kind == .finite ? exact().exactDecimalString : kind.rawValue
    }

    init(kind: Kind, isNegative: Bool, digits: [UInt32], lowestExponent: Int, rounded: Double) {
        self.kind = kind
        self.isNegative = isNegative
        self.digits = digits
        self.lowestExponent = lowestExponent
        self.rounded = rounded
    }

    /// A finite sum from trimmed digits; rounds once through MPFR.
    init(negative: Bool, digits: [UInt32], lowestExponent: Int) {
        let rounded: Double
        if digits.isEmpty {
            rounded = 0
        } else {
            let x = MPFRNumber(precision: max(2, 32 * digits.count))
            Self.setExact(x, digits: digits[...], negative: negative, lowestExponent: lowestExponent)
            rounded = x.double(rounding: .nearestEven)    // mpfr_get_d: one correct rounding
        }
        self.init(kind: .finite, isNegative: negative && !digits.isEmpty, digits: digits,
                  lowestExponent: lowestExponent, rounded: rounded)
    }

    static func special(_ kind: Kind) -> ExactSum {
        let r: Double
        switch kind {
        case .nan: r = .nan
        case .positiveInfinity: r = .infinity
        case .negativeInfinity: r = -.infinity
        case .finite: preconditionFailure("not special")
        }
        return ExactSum(kind: kind, isNegative: kind == .negativeInfinity, digits: [], lowestExponent: 0, rounded: r)
    }

    /// x = ±(digits as a little-endian integer) · 2^lowestExponent, exactly: the digits are
    /// imported into a GMP integer (`mpz_import`) and set with `mpfr_set_z_2exp`.
    static func setExact(_ x: MPFRNumber, digits: ArraySlice<UInt32>, negative: Bool, lowestExponent: Int) {
        if digits.isEmpty { x.setZero(); return }
        let z = UnsafeMutablePointer<__mpz_struct>.allocate(capacity: 1)
        __gmpz_init(z)
        defer { __gmpz_clear(z); z.deallocate() }
        digits.withUnsafeBufferPointer { buffer in
            // order −1: least significant word first; 4-byte words; native endianness; no nails.
            __gmpz_import(z, buffer.count, -1, 4, 0, 0, buffer.baseAddress)
        }
        if negative { __gmpz_neg(z, z) }
        let t = mpfr_set_z_2exp(x.pointer, z, mpfr_exp_t(lowestExponent), MPFR_RNDN)
        precondition(t == 0, "exact sum does not fit the MPFR precision")
    }
}

/// Exact fixed-point lanes for sums of products (a Kulisch accumulator).
///
/// The register is a little-endian array of signed 64-bit lanes, lane i weighing 2^(32·i)
/// times the fixed-point unit 2^unitExponent. Terms are added as at most a few 32-bit-ish
/// pieces into consecutive lanes without carry propagation; `normalise()` propagates carries
/// (arithmetic shifts), leaving lanes 0…n−2 in [0, 2^32) and the signed rest in the top lane.
/// Callers normalise before any lane could exceed 2^62 in magnitude.
struct FixedPointLanes {
    var lanes: [Int64]
    let unitExponent: Int

    init(laneCount: Int, unitExponent: Int) {
        lanes = Array(repeating: 0, count: laneCount)
        self.unitExponent = unitExponent
    }

    mutating func reset() {
        for i in lanes.indices { lanes[i] = 0 }
    }

    mutating func normalise() {
        lanes.withUnsafeMutableBufferPointer { Self.normalise($0) }
    }

    static func normalise(_ l: UnsafeMutableBufferPointer<Int64>) {
        for i in 0..<(l.count - 1) {
            let carry = l[i] >> 32                 // floor division by 2^32
            l[i] -= carry << 32
            l[i + 1] += carry
        }
    }

    /// Normalises and returns the value as an `ExactSum`.
    mutating func finish() -> ExactSum {
        lanes.withUnsafeMutableBufferPointer { Self.finish($0, unitExponent: unitExponent) }
    }

    static func finish(_ l: UnsafeMutableBufferPointer<Int64>, unitExponent: Int) -> ExactSum {
        normalise(l)
        let negative = l[l.count - 1] < 0
        precondition(l[l.count - 1] >= -(1 << 31) && l[l.count - 1] < 1 << 31, "accumulator overflow")
        var digits = [UInt32](repeating: 0, count: l.count)
        if negative {
            // Two's complement negation over the digits: |v| = (~v) + 1.
            var carry: UInt64 = 1
            for i in 0..<l.count {
                let word = UInt64(truncatingIfNeeded: ~l[i]) & 0xFFFF_FFFF
                let s = word + carry
                digits[i] = UInt32(truncatingIfNeeded: s)
                carry = s >> 32
            }
        } else {
            for i in 0..<l.count { digits[i] = UInt32(truncatingIfNeeded: l[i]) }
        }
        // Trim: high zero digits, then low zero digits (moving the exponent).
        var hi = digits.count
        while hi > 0 && digits[hi - 1] == 0 { hi -= 1 }
        var lo = 0
        while lo < hi && digits[lo] == 0 { lo += 1 }
        if lo == hi { return ExactSum(negative: false, digits: [], lowestExponent: 0) }
        return ExactSum(negative: negative, digits: Array(digits[lo..<hi]), lowestExponent: unitExponent + 32 * lo)
    }
}

/// Tracks the IEEE extended-real outcome of a sum with non-finite terms.
struct NonFiniteTracker {
    var sawNaN = false
    var sawPositiveInfinity = false
    var sawNegativeInfinity = false

    /// Records the product a·b of two values of which at least one is not finite.
    mutating func recordProduct<F: FloatingPoint>(_ a: F, _ b: F) {
        recordProduct(aIsNaN: a.isNaN, bIsNaN: b.isNaN, aIsInf: a.isInfinite, bIsInf: b.isInfinite,
                      aIsZero: a == 0, bIsZero: b == 0, negative: (a.sign == .minus) != (b.sign == .minus))
    }

    mutating func recordProduct(aIsNaN: Bool, bIsNaN: Bool, aIsInf: Bool, bIsInf: Bool,
                                aIsZero: Bool, bIsZero: Bool, negative: Bool) {
        if aIsNaN || bIsNaN || (aIsInf && bIsZero) || (bIsInf && aIsZero) { sawNaN = true; return }
        if aIsInf || bIsInf {
            if negative { sawNegativeInfinity = true } else { sawPositiveInfinity = true }
        }
    }

    var isSpecial: Bool { sawNaN || sawPositiveInfinity || sawNegativeInfinity }

    var result: ExactSum {
        if sawNaN || (sawPositiveInfinity && sawNegativeInfinity) { return .special(.nan) }
        return .special(sawPositiveInfinity ? .positiveInfinity : .negativeInfinity)
    }
}
