import Formats

/// The one generic narrow-float codec: every format is a `FloatFormat` descriptor, every
/// behaviour a `ConversionPolicy`. No per-format conversion code exists anywhere.
///
/// Conversion of a finite, non-zero input x = (−1)^s · M · 2^E (integer M) follows the steps
/// below; the bulk kernels in `QuantKernels` implement the same steps lane-wise.
///
/// 1. Non-finite, zero and unsigned-negative inputs take the special-value rules of
///    `FloatFormat` (OCP OFP8 rev 1.0 §5.2.1 Table 3; `codeForNaN`, `codeForInfinity`, …).
/// 2. Quantum. With e_x = ⌊log2 |x|⌋, the target quantum exponent is
///    q = max(e_x, e_minNormal) − p  (p = mantissa bits): a fixed quantum below the normal range
///    is what makes subnormals, and the exponent is unbounded above so that overflow is detected
///    *after* rounding ("round first, then range-check").
/// 3. Split. K = ⌊M · 2^(E−q)⌋ and the remainder R = M·2^(E−q) − K ∈ [0, 1) (exact integers).
/// 4. Floor code. Codes are monotone in magnitude, and with O = p + bias − 1 the code of
///    K · 2^q is `((q + O) << p) + K` for normals, subnormals (q + O = 0) and E8M0 alike, so the
///    next value up is always floor code + 1 — the mantissa carry into the exponent is free.
/// 5. Round. Nearest-even: up iff R > ½, or R = ½ and the floor code is odd (ties go to the even
///    *code*); toward zero: never; up/down: iff R ≠ 0 and the sign points that way; stochastic:
///    iff u < R for a uniform u.
/// 6. Range. A rounded code above the largest finite magnitude is an overflow
///    (`codeForOverflow`); code 0 is a zero of the input's sign (`codeForZero`; fnuz has +0 only).
/// 7. Sign. OR the sign bit into the magnitude.
///
/// Float64 input is rounded directly from its exact value (no double rounding through Float32;
/// cf. ml_dtypes #401: −431.99999999999994 → E4M3FN gives −416) except under the ml_dtypes 0.6
/// profile (`.mlDtypes0_6`). The ml_dtypes profiles reproduce each release's `astype` choices code
/// for code: the codec reads the
/// profile's rules from `FloatFormat.rules(for:)` (`ProfileRules`, evidence in
/// `Golden/mldtypes/README.md`) and computes their codes in `MLDtypesProfile`.
public struct NarrowFloatCodec: Sendable {
    public let format: FloatFormat
    public let policy: ConversionPolicy

    // Derived constants of the steps above.
    @usableFromInline let p: Int
    @usableFromInline let minQuantumExponent: Int
    @usableFromInline let codeOffset: Int
    @usableFromInline let maxMagnitude: Int
    @usableFromInline let signMask: UInt16
    @usableFromInline let tieParityFromSignificand: Bool
    /// The profile's rules for this format (data shared with the oracle and the suites).
    @usableFromInline let rules: ProfileRules
    /// Set when `rules.smallValueRule` is `.aboveSmallestRoundsUp`.
    @usableFromInline let smallValueBounds: MLDtypesProfile.SmallValueBounds?
    /// `smallValueBounds.twiceSmallest`, or 0 without the rule: the hot path tests the rule with
    /// one unsigned comparison (`a < 0` is never true), which keeps formats without it as fast as
    /// before the rule became data.
    @usableFromInline let smallValueLimit: UInt32
    @usableFromInline let tables: DecodeTables

    public init(format: FloatFormat, policy: ConversionPolicy = ConversionPolicy()) {
        self.format = format
        self.policy = policy
        p = format.mantissaBits
        minQuantumExponent = format.minNormalExponent - format.mantissaBits
        codeOffset = format.mantissaBits + format.bias - 1
        maxMagnitude = Int(format.maxFiniteMagnitudeCode)
        signMask = format.signMask
        rules = format.rules(for: policy.profile)
        tieParityFromSignificand = rules.tieBreak == .evenSignificand
        smallValueBounds = rules.smallValueRule == .aboveSmallestRoundsUp ? MLDtypesProfile.SmallValueBounds(format) : nil
        smallValueLimit = smallValueBounds?.twiceSmallest ?? 0
        tables = DecodeTables.shared(for: format)
    }

    // MARK: - Scalar encode

    /// Float32 → code under `policy` (stochastic rounding draws its uniform from a hash of the
    /// input bits; use `encode(_:randomBits:)` to supply your own).
    public func encode(_ x: Float) -> UInt16 {
        encode(x, randomBits: policy.rounding == .stochastic ? SplitMix64.mix(UInt64(x.bitPattern)) : 0)
    }

    /// Float32 → code, with the 64 uniform random bits used by stochastic rounding.
    public func encode(_ x: Float, randomBits: UInt64) -> UInt16 {
        let bits = x.bitPattern
        let negative = bits >> 31 != 0
        let a = bits & 0x7FFF_FFFF
        if a >= 0x7F80_0000 {
            if a > 0x7F80_0000 && rules.nanPayload == .keptFromFloat32AndFloat64 {
                return MLDtypesProfile.nanKeepingPayload(format, negative: negative, fraction: UInt64(a & 0x7F_FFFF), fractionBits: 23)
            }
            return nonFinite(negative: negative, isNaN: a > 0x7F80_0000)
        }
        let expField = Int(a >> 23)
        let m = UInt64(a & 0x7F_FFFF)
        if _slowPath(a < smallValueLimit), a != 0 && !negative, let bounds = smallValueBounds,
           let code = MLDtypesProfile.smallValueCode(magnitudeBits: a, bounds: bounds) {
            return code
        }
        return encodeNumber(
            negative: negative, significand: expField == 0 ? m : m | 0x80_0000,
            exponent: expField == 0 ? -149 : expField - 150, randomBits: randomBits)
    }

    /// Float64 → code, correctly rounded from the exact input (see type doc for the ml_dtypes profiles).
    public func encode(_ x: Double) -> UInt16 {
        encode(x, randomBits: policy.rounding == .stochastic ? SplitMix64.mix(x.bitPattern) : 0)
    }

    public func encode(_ x: Double, randomBits: UInt64) -> UInt16 {
        if rules.roundsFloat64ThroughFloat32 {
            return encode(Float(x), randomBits: randomBits)
        }
        let bits = x.bitPattern
        let negative = bits >> 63 != 0
        let a = bits & 0x7FFF_FFFF_FFFF_FFFF
        if a >= 0x7FF0_0000_0000_0000 {
            if a > 0x7FF0_0000_0000_0000 && rules.nanPayload == .keptFromFloat32AndFloat64 {
                return MLDtypesProfile.nanKeepingPayload(format, negative: negative, fraction: a & 0xF_FFFF_FFFF_FFFF, fractionBits: 52)
            }
            return nonFinite(negative: negative, isNaN: a > 0x7FF0_0000_0000_0000)
        }
        let expField = Int(a >> 52)
        let m = a & 0xF_FFFF_FFFF_FFFF
        return encodeNumber(
            negative: negative, significand: expField == 0 ? m : m | (1 << 52),
            exponent: expField == 0 ? -1074 : expField - 1075, randomBits: randomBits)
    }

    /// IEEE binary16 bit pattern → code (exact widening to Float32, then one rounding).
    public func encode(float16Bits h: UInt16) -> UInt16 {
        encode(Float(bitPattern: Self.float32Bits(fromFloat16Bits: h)))
    }

    /// bfloat16 bit pattern → code (a bfloat16 is the top half of a Float32).
    public func encode(bfloat16Bits b: UInt16) -> UInt16 {
        if b & 0x7FFF > 0x7F80 && rules.nanPayload == .keptFromFloat32AndFloat64 {
            // Only numpy's Float32/Float64 casts keep payloads; bfloat16 → float16 is ml_dtypes'
            // cast (Eigen::half), which gives the canonical NaN.
            return format.codeForNaN(negative: b & 0x8000 != 0, profile: policy.profile)
        }
        return encode(Float(bitPattern: UInt32(b) << 16))
    }

    @inline(__always)
    func nonFinite(negative: Bool, isNaN: Bool) -> UInt16 {
        if isNaN { return format.codeForNaN(negative: negative, profile: policy.profile) }
        return format.codeForInfinity(negative: negative, policy: policy)
    }

    /// Steps 2–7 for |x| = M · 2^E (M may be 0).
    @inline(__always)
    func encodeNumber(negative: Bool, significand m: UInt64, exponent e: Int, randomBits: UInt64) -> UInt16 {
        if negative && !format.isSigned { return format.canonicalNaN(negative: true)! }
        if m == 0 { return format.codeForZero(negative: negative) }
        // 2. quantum
        let msb = 63 - m.leadingZeroBitCount
        let q = Swift.max(e + msb, format.minNormalExponent) - p
        // 3. split into K and the remainder, as an exact comparison with ½ (`half`) and, for
        //    stochastic rounding, the top 64 bits of the fraction.
        let s = q - e
        var k: UInt64
        var aboveHalf = false, atHalf = false, inexact = false
        var fraction64: UInt64 = 0
        if s <= 0 {
            k = m << UInt64(-s)  // exact: K < 2^(p+1) by construction of q
        } else if s <= 64 {
            k = s == 64 ? 0 : m >> UInt64(s)
            let r = s == 64 ? m : m & ((1 << UInt64(s)) - 1)
            let half: UInt64 = 1 << UInt64(s - 1)
            aboveHalf = r > half
            atHalf = r == half
            inexact = r != 0
            fraction64 = s == 64 ? r : r << UInt64(64 - s)
        } else {
            k = 0  // M < 2^64 ≤ 2^(s−1): strictly below half, non-zero
            inexact = true
            fraction64 = s - 64 < 64 ? m >> UInt64(s - 64) : 0
        }
        // 4. floor code (may be −1 for E8M0 values below 2^−127: "below the smallest code")
        let floorCode = ((q + codeOffset) << p) + Int(k)
        // 5. round
        let up: Bool
        switch policy.rounding {
        case .toNearestOrEven:
            let odd = tieParityFromSignificand ? (k & 1 != 0) : (floorCode & 1 != 0)
            up = aboveHalf || (atHalf && odd)
        case .towardZero: up = false
        case .up: up = inexact && !negative
        case .down: up = inexact && negative
        case .stochastic: up = inexact && randomBits < fraction64
        }
        let code = floorCode + (up ? 1 : 0)
        // 6. range
        if code > maxMagnitude {
            return format.codeForOverflow(
                negative: negative, roundedAway: policy.rounding.carriesOverflowAway(negative: negative),
                policy: policy)
        }
        if format.hasZero {
            if code == 0 { return format.codeForZero(negative: negative) }
        } else if code < 0 {
            return 0  // no zero (E8M0FNU): 2^−127 is the nearest and only candidate
        }
        // 7. sign
        return UInt16(code) | (negative ? signMask : 0)
    }

    // MARK: - Scalar decode

    /// Code → Float32, exact for every code of every format (binary16/bfloat16 included);
    /// NaN codes give a quiet NaN with the code's sign. Codes ≥ `format.codeCount` are invalid:
    /// use the throwing bulk API for untrusted codes.
    public func decodeFloat(_ code: UInt16) -> Float {
        precondition(Int(code) < format.codeCount, "code \(code) out of range for \(format.name)")
        return tables.float32[Int(code)]
    }

    /// Code → Float64, exact.
    public func decodeDouble(_ code: UInt16) -> Double {
        precondition(Int(code) < format.codeCount, "code \(code) out of range for \(format.name)")
        return tables.float64[Int(code)]
    }

    // MARK: - Helpers

    /// Exact binary16 → binary32 bit conversion.
    public static func float32Bits(fromFloat16Bits h: UInt16) -> UInt32 {
        let sign = UInt32(h & 0x8000) << 16
        let e = Int((h >> 10) & 0x1F)
        let m = UInt32(h & 0x3FF)
        if e == 0x1F { return sign | 0x7F80_0000 | (m << 13) }
        if e == 0 {
            if m == 0 { return sign }
            let shift = m.leadingZeroBitCount - 21  // bring the leading 1 to bit 10
            let mm = (m << UInt32(shift)) & 0x3FF
            return sign | (UInt32(127 - 15 - shift + 1) << 23) | (mm << 13)
        }
        return sign | (UInt32(e - 15 + 127) << 23) | (m << 13)
    }
}

/// Exact decode tables of a format, built once from the descriptor's definition.
@usableFromInline
final class DecodeTables: Sendable {
    let float32: [Float]
    let float64: [Double]

    init(format: FloatFormat) {
        var f64 = [Double](repeating: 0, count: format.codeCount)
        for c in 0..<format.codeCount {
            let code = UInt16(c)
            switch format.classify(code) {
            case .nan: f64[c] = format.sign(of: code) ? -Double.nan : Double.nan
            case .infinity: f64[c] = format.sign(of: code) ? -.infinity : .infinity
            default: f64[c] = FloatFormat.double(format.finiteValue(of: code)!)
            }
        }
        float64 = f64
        float32 = f64.map { Float($0) }  // exact: every value is a Float32 (checked in tests)
    }

    /// The tables of the registry's formats, each built on first use: building all of them up
    /// front (2 × 65,536 codes for binary16 and bfloat16 alone) cost every process — a
    /// one-format `quantcheck encode` included — several milliseconds at start-up.
    private static let cache = Locked<[String: DecodeTables]>([:])

    static func shared(for format: FloatFormat) -> DecodeTables {
        guard FloatFormat.all.contains(format) else { return DecodeTables(format: format) }
        return cache.withLock { tables in
            if let t = tables[format.name] { return t }
            let t = DecodeTables(format: format)
            tables[format.name] = t
            return t
        }
    }
}
