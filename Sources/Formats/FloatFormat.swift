/// A narrow binary floating-point format described as data: the spec, not a codec.
///
/// A code is an unsigned integer of `bitWidth` bits (sub-byte codes live in the low bits of a
/// byte, as in ml_dtypes). Its fields, from the most significant bit down, are
/// `[sign (if signed)] [exponent: exponentBits] [mantissa: mantissaBits]`, and a finite code means
///
///     value = (−1)^s · 2^(e − bias) · (1 + m / 2^mantissaBits)   for e ≥ 1 (normal)
///     value = (−1)^s · 2^(1 − bias) · (m / 2^mantissaBits)       for e = 0 (subnormal)
///
/// except where the descriptor's special-value rules say otherwise:
/// - `infinity`: `.ieee` reserves exponent all-ones with mantissa zero for ±∞.
/// - `nan`: `.ieee` — exponent all-ones, mantissa non-zero; `.allOnes` — only the all-ones
///   magnitude (S.1111.111 in E4M3FN, 0xFF in E8M0FNU); `.negativeZero` — the single code
///   1.000…0 ("fnuz": no −0, the sign bit with a zero magnitude is the NaN); `.none`.
/// - `hasZero == false` (E8M0FNU only): exponent field 0 is the normal binade 2^(−bias), so the
///   format has neither a zero nor subnormals. With a zero, exponent field 0 holds the zero and
///   (given mantissa bits) the subnormals: `hasSubnormals` is derived, never stored.
///
/// The descriptor stores only these defining parameters; every limit (`emax`, `maxFinite`,
/// `minNormal`, `minSubnormal`, …) and every special code is derived from them, and format
/// families are built by the parametric constructors of `FormatFamilies.swift`.
///
/// Sources: OCP 8-bit Floating Point Specification (OFP8) rev 1.0 Table 1; OCP Microscaling
/// Formats (MX) v1.0 §5.3–5.4; IEEE 754-2019 §3.6 for binary16; ml_dtypes `float8.h` for the
/// fnuz, b11 and IEEE-like E4M3/E3M4 variants.
public struct FloatFormat: Sendable, Hashable, CustomStringConvertible {
    public enum InfinityEncoding: String, Sendable, Hashable, Codable {
        /// No infinities: overflow saturates or becomes NaN.
        case none
        /// Exponent all-ones with a zero mantissa.
        case ieee
    }

    public enum NaNEncoding: String, Sendable, Hashable, Codable {
        /// No NaN: every code is a number.
        case none
        /// Exponent all-ones with a non-zero mantissa, either sign.
        case ieee
        /// Only the all-ones magnitude, either sign (E4M3FN: S.1111.111; E8M0FNU: 0xFF).
        case allOnes
        /// Only the code with the sign bit set and a zero magnitude (0x80): the "fnuz" NaN.
        case negativeZero
    }

    /// Canonical short name, e.g. `e4m3fn`.
    public let name: String
    /// The ml_dtypes name, e.g. `float8_e4m3fn`.
    public let mlDtypesName: String
    public let exponentBits: Int
    public let mantissaBits: Int
    public let bias: Int
    public let isSigned: Bool
    public let infinity: InfinityEncoding
    public let nan: NaNEncoding
    /// Whether exponent field 0 holds zero (and, with mantissa bits, the subnormals). False only
    /// for a format whose exponent field 0 is a normal binade (E8M0FNU, OCP MX v1.0 §5.4): it
    /// has no zero and no subnormals.
    public let hasZero: Bool
    /// Which library implements `astype` into this format in the ml_dtypes ecosystem; it decides
    /// the format's rules under the ml_dtypes profiles (`ProfileRules`).
    public let mlDtypesCast: MLDtypesCast

    public init(
        name: String, mlDtypesName: String, exponentBits: Int, mantissaBits: Int, bias: Int,
        isSigned: Bool = true, infinity: InfinityEncoding, nan: NaNEncoding,
        hasZero: Bool = true, mlDtypesCast: MLDtypesCast = .mlDtypes
    ) {
        precondition(exponentBits >= 1 && mantissaBits >= 0, "format needs an exponent field")
        precondition((isSigned ? 1 : 0) + exponentBits + mantissaBits <= 16, "codes are at most 16 bits")
        precondition(!(infinity == .ieee && nan == .negativeZero), "fnuz formats have no infinity")
        precondition(hasZero || nan != .negativeZero, "the fnuz NaN takes the place of −0, so the format has a zero")
        self.name = name
        self.mlDtypesName = mlDtypesName
        self.exponentBits = exponentBits
        self.mantissaBits = mantissaBits
        self.bias = bias
        self.isSigned = isSigned
        self.infinity = infinity
        self.nan = nan
        self.hasZero = hasZero
        self.mlDtypesCast = mlDtypesCast
    }

    public var description: String { name }

    /// Whether `other` encodes every code as the same value (same fields, bias and special-value
    /// rules), whatever its names: what a kernel written for one layout can accept.
    public func hasSameEncoding(as other: FloatFormat) -> Bool {
        exponentBits == other.exponentBits && mantissaBits == other.mantissaBits && bias == other.bias
            && isSigned == other.isSigned && infinity == other.infinity && nan == other.nan
            && hasZero == other.hasZero
    }

    // MARK: - Field layout

    public var bitWidth: Int { (isSigned ? 1 : 0) + exponentBits + mantissaBits }
    /// Number of distinct codes, 2^bitWidth.
    public var codeCount: Int { 1 << bitWidth }
    public var signMask: UInt16 { isSigned ? UInt16(1) << UInt16(exponentBits + mantissaBits) : 0 }
    public var magnitudeMask: UInt16 { UInt16((1 << (exponentBits + mantissaBits)) - 1) }
    public var mantissaMask: UInt16 { UInt16((1 << mantissaBits) - 1) }
    public var maxExponentField: Int { (1 << exponentBits) - 1 }
    /// Whether the format has a distinct −0 code.
    public var hasNegativeZero: Bool { isSigned && hasZero && nan != .negativeZero }
    /// Whether exponent field 0 with a non-zero mantissa holds subnormals: a format with a zero
    /// and at least one mantissa bit (IEEE 754 §3.4). Derived: E8M0FNU has no zero and no
    /// mantissa, and a zero-only field 0 (no mantissa bits) has no subnormals either.
    public var hasSubnormals: Bool { hasZero && mantissaBits > 0 }

    public func sign(of code: UInt16) -> Bool { code & signMask != 0 }
    public func exponentField(of code: UInt16) -> Int { Int((code & magnitudeMask) >> UInt16(mantissaBits)) }
    public func mantissaField(of code: UInt16) -> Int { Int(code & mantissaMask) }

    // MARK: - Classification (the special-value rules)

    public enum CodeClass: String, Sendable, Hashable, Codable {
        case zero, subnormal, normal, infinity, nan
    }

    /// The class of `code` under this format's rules. Codes must be `< codeCount`.
    public func classify(_ code: UInt16) -> CodeClass {
        precondition(Int(code) < codeCount, "code \(code) out of range for \(name)")
        let magnitude = code & magnitudeMask
        let e = exponentField(of: code)
        let m = mantissaField(of: code)
        switch nan {
        case .ieee where e == maxExponentField && m != 0: return .nan
        case .allOnes where magnitude == magnitudeMask: return .nan
        case .negativeZero where code == signMask: return .nan
        default: break
        }
        if infinity == .ieee && e == maxExponentField && m == 0 { return .infinity }
        if !hasZero { return .normal }
        if e == 0 { return m == 0 ? .zero : .subnormal }
        return .normal
    }

    /// The exact value of a finite code as `(−1)^negative · significand · 2^exponent`, with an
    /// integer significand. `nil` for NaN and infinity. This is the definition above, used by
    /// descriptor cross-checks; the Oracle recomputes it in MPFR from the fields.
    public func finiteValue(of code: UInt16) -> (negative: Bool, significand: Int, exponent: Int)? {
        switch classify(code) {
        case .nan, .infinity: return nil
        case .zero, .subnormal:
            return (sign(of: code), mantissaField(of: code), 1 - bias - mantissaBits)
        case .normal:
            let e = exponentField(of: code)
            let implicit = 1 << mantissaBits
            return (sign(of: code), implicit | mantissaField(of: code), e - bias - mantissaBits)
        }
    }

    // MARK: - Limits (derived from the parameters above, never tabulated)

    /// The largest finite magnitude code: the largest magnitude the special-value rules leave
    /// finite (all-ones less the NaN/∞ codes: E4M3FN 0x7E, E5M2 0x7B, fnuz 0x7F, E8M0FNU 0xFE).
    public var maxFiniteMagnitudeCode: UInt16 {
        var c = magnitudeMask
        while true {
            let k = classify(c)
            if k != .nan && k != .infinity { return c }
            c -= 1
        }
    }

    /// emin, the exponent of the smallest normal binade: min normal = 2^minNormalExponent.
    /// 1 − bias when exponent field 0 holds zero (IEEE 754 §3.3), −bias when it is itself a
    /// normal binade (E8M0FNU: 2^−127).
    public var minNormalExponent: Int { hasZero ? 1 - bias : -bias }

    /// emax, the exponent of the largest finite binade: ⌊log2 maxFinite⌋ (IEEE 754 §3.3 emax;
    /// OCP MX v1.0 §5.3 emax_elem: E4M3 8, E5M2 15, E3M2 4, E2M3 2, E2M1 2). Formats without
    /// infinities keep the top exponent field for numbers, so their emax exceeds the IEEE
    /// 2^(w−1) − 1 (E4M3FN 8, not 7).
    public var emax: Int {
        let v = finiteValue(of: maxFiniteMagnitudeCode)!
        return v.exponent + (Int.bitWidth - 1 - v.significand.leadingZeroBitCount)
    }

    /// Largest finite value as a Double (exact: every format here fits in binary64).
    public var maxFinite: Double { Self.double(finiteValue(of: maxFiniteMagnitudeCode)!) }
    /// Smallest positive normal value, 2^minNormalExponent.
    public var minNormal: Double { Double(sign: .plus, exponent: minNormalExponent, significand: 1) }
    /// Smallest positive subnormal, 2^(minNormalExponent − mantissaBits); nil without subnormals.
    public var minSubnormal: Double? {
        hasSubnormals ? Double(sign: .plus, exponent: minNormalExponent - mantissaBits, significand: 1) : nil
    }
    /// Smallest positive value: the smallest subnormal where the format has them, else min normal.
    public var minPositive: Double { minSubnormal ?? minNormal }

    /// Exact `Double` of a finite value triple (every code of every format here is a Double).
    public static func double(_ v: (negative: Bool, significand: Int, exponent: Int)) -> Double {
        let magnitude = Double(sign: .plus, exponent: v.exponent, significand: Double(v.significand))
        return v.negative ? -magnitude : magnitude
    }

    /// Canonical NaN code for an input NaN with the given sign, per profile. OCP OFP8 §5.2.1
    /// leaves the NaN encoding and sign implementation-defined; we keep the sign where the
    /// format can and use the quiet pattern (mantissa MSB set) for IEEE-style NaNs. `nil` for
    /// formats without NaN (they map NaN input to a number: see `ConversionPolicy`).
    public func canonicalNaN(negative: Bool) -> UInt16? {
        let s: UInt16 = (negative && isSigned) ? signMask : 0
        switch nan {
        case .none: return nil
        case .negativeZero: return signMask
        case .allOnes: return s | magnitudeMask
        case .ieee:
            let quietBit: UInt16 = mantissaBits > 0 ? UInt16(1) << UInt16(mantissaBits - 1) : 0
            return s | (UInt16(maxExponentField) << UInt16(mantissaBits)) | quietBit
        }
    }

    /// ±∞ code, if the format has infinities.
    public func infinityCode(negative: Bool) -> UInt16? {
        guard infinity == .ieee else { return nil }
        return (negative ? signMask : 0) | (UInt16(maxExponentField) << UInt16(mantissaBits))
    }

    /// The code of zero with the requested sign (fnuz and unsigned formats only have +0).
    public func zeroCode(negative: Bool) -> UInt16? {
        guard hasZero else { return nil }
        return (negative && hasNegativeZero) ? signMask : 0
    }
}
