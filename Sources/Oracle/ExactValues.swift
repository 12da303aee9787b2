import CMPFR
import Formats

/// The exact value of one code of a format, computed in MPFR from the code's fields.
///
/// For a code with sign bit s, exponent field e and mantissa field m (`M` mantissa bits):
///
///     normal     (e ≥ 1):            (−1)^s · 2^(e − bias) · (1 + m / 2^M)
///     subnormal  (e = 0, m ≠ 0):     (−1)^s · 2^(1 − bias) · (m / 2^M)
///     zero       (e = 0, m = 0):     (−1)^s · 0
///     no-subnormal formats (E8M0FNU): 2^(e − bias) for every e, including e = 0
///
/// NaN and infinity codes follow the descriptor's `classify`. Every code of every QuantCheck
/// format is exactly a binary64 number, and `double` holds it (checked when computed).
public struct CodeValue: Sendable, Hashable, CustomStringConvertible {
    public let code: UInt16
    public let codeClass: FloatFormat.CodeClass
    /// The code's sign bit (always false for unsigned formats).
    public let isNegative: Bool
    /// The exact value: ±0, ±∞, the finite value, or a NaN carrying the code's sign.
    public let double: Double

    /// The exact value as an MPFR number of `precision` bits (default 64 ≥ every format's 24).
    public func mpfr(precision: Int = 64) -> MPFRNumber {
        let x = MPFRNumber(precision: precision)
        let t = x.set(double, rounding: .nearestEven)
        precondition(t == 0, "precision \(precision) too small for \(double)")
        if codeClass == .nan { x.setNaN() }
        return x
    }

    /// Exact positional decimal (`448`, `-0.001953125`, `-0`), or `inf`/`-inf`, `nan`/`-nan`.
    public var exactDecimal: String {
        if codeClass == .nan { return isNegative ? "-nan" : "nan" }
        return mpfr().exactDecimalString
    }

    /// Exact normalised hex-float (`0x1.cp+8`, `-0x0p+0`), or `inf`/`-inf`, `nan`/`-nan`.
    public var hexFloat: String {
        if codeClass == .nan { return isNegative ? "-nan" : "nan" }
        return mpfr().hexFloatString
    }

    public var description: String { exactDecimal }
}

/// The exact values of all codes of one format, indexed by code.
public struct ExactValueTable: Sendable {
    public let format: FloatFormat
    /// `values[Int(code)]` for every code `0 ..< format.codeCount`.
    public let values: [CodeValue]

    public init(format: FloatFormat) {
        self.format = format
        let scratch = MPFRNumber(precision: 64)
        values = (0..<format.codeCount).map { Self.value(of: UInt16($0), in: format, scratch: scratch) }
    }

    public subscript(code: UInt16) -> CodeValue { values[Int(code)] }

    /// The largest finite value (the value of `format.maxFiniteMagnitudeCode`).
    public var maxFinite: Double { self[format.maxFiniteMagnitudeCode].double }

    /// The exact value of one code, computed in MPFR from its fields (see `CodeValue`).
    public static func value(of code: UInt16, in format: FloatFormat) -> CodeValue {
        value(of: code, in: format, scratch: MPFRNumber(precision: 64))
    }

    /// The exact value of a code as an MPFR number (NaN for NaN codes, ±∞, ±0 as classified).
    public static func mpfrValue(of code: UInt16, in format: FloatFormat, precision: Int = 64) -> MPFRNumber {
        let x = MPFRNumber(precision: precision)
        setValue(of: code, in: format, into: x)
        return x
    }

    static func value(of code: UInt16, in format: FloatFormat, scratch: MPFRNumber) -> CodeValue {
        let cls = setValue(of: code, in: format, into: scratch)
        let negative = format.sign(of: code)
        let d: Double
        if cls == .nan {
            d = negative ? -Double.nan : Double.nan
        } else {
            guard let exact = scratch.exactDouble else {
                preconditionFailure("\(format.name) code \(code) is not a binary64 number")
            }
            d = exact
        }
        return CodeValue(code: code, codeClass: cls, isNegative: negative, double: d)
    }

    /// Writes the exact value of `code` into `x` (precision ≥ mantissaBits + 1) and returns its
    /// class. The finite value is built as the integer significand times a power of two with
    /// `mpfr_set_si_2exp`, so it is exact by construction (ternary 0 checked).
    @discardableResult
    static func setValue(of code: UInt16, in format: FloatFormat, into x: MPFRNumber) -> FloatFormat.CodeClass {
        precondition(x.precision >= format.mantissaBits + 1, "precision too small for \(format.name)")
        let cls = format.classify(code)
        let negative = format.sign(of: code)
        let e = format.exponentField(of: code)
        let m = format.mantissaField(of: code)
        let M = format.mantissaBits
        let significand: Int
        let exponent: Int
        switch cls {
        case .nan:
            x.setNaN()
            return cls
        case .infinity:
            x.setInfinity(negative: negative)
            return cls
        case .zero:
            x.setZero(negative: negative)
            return cls
        case .subnormal:
            // (m / 2^M) · 2^(1 − bias)
            significand = m
            exponent = 1 - format.bias - M
        case .normal:
            // (1 + m / 2^M) · 2^(e − bias) = (2^M + m) · 2^(e − bias − M); for formats without
            // subnormals exponent field 0 is normal too and the same formula holds.
            significand = (1 << M) + m
            exponent = e - format.bias - M
        }
        let t = x.set(significand: negative ? -significand : significand, exponent: exponent, rounding: .nearestEven)
        precondition(t == 0, "inexact code value")
        return cls
    }

    // MARK: - Golden TSV

    /// Hex spelling of a code, zero-padded to the format's width (`0x7e`, `0x3c00`, `0x5`).
    public static func hex(code: UInt16, in format: FloatFormat) -> String {
        let digits = (format.bitWidth + 3) / 4
        let s = String(code, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    /// The golden table `Golden/formats/<format>.tsv`: one comment line stating the format and
    /// the formula, a header row, then one row per code in code order:
    ///
    ///     code	class	decimal	hexfloat
    ///     0x7e	normal	448	0x1.cp+8
    ///
    /// `decimal` is the exact positional decimal, `hexfloat` the exact normalised hex-float;
    /// NaNs print as `nan`/`-nan` (the code's sign bit), infinities as `inf`/`-inf`.
    public func goldenTSV() -> String {
        var out = "# " + Self.describe(format) + "\n"
        out += "code\tclass\tdecimal\thexfloat\n"
        for v in values {
            out += Self.hex(code: v.code, in: format) + "\t" + v.codeClass.rawValue + "\t"
                + v.exactDecimal + "\t" + v.hexFloat + "\n"
        }
        return out
    }

    static func describe(_ f: FloatFormat) -> String {
        var s = "QuantCheck exact values of \(f.name) (\(f.mlDtypesName)): "
        s += f.isSigned ? "sign 1, " : "unsigned, "
        s += "exponent \(f.exponentBits), mantissa \(f.mantissaBits), bias \(f.bias); "
        if f.hasZero {
            s += "value = (-1)^s * 2^(e-bias) * (1 + m/2^M) for e >= 1, (-1)^s * 2^(1-bias) * m/2^M for e = 0"
        } else {
            s += "value = 2^(e-bias) for every e (no zero, no subnormals)"
        }
        s += "; infinity \(f.infinity.rawValue), nan \(f.nan.rawValue)"
        return s
    }
}
