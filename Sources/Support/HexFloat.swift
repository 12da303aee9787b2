/// Hexadecimal floating-point text for counterexamples and tables: one spelling for every
/// module, so that the same value reads the same in a suite's report, the oracle's golden tables
/// and a test's failure message.
///
/// The form is C99's `%a` for normal numbers (`0x1.cp+8`, `-0x1p-9`), with two deliberate
/// differences: subnormal Doubles are normalised (`0x1p-1074`, not `0x0.0000000000001p-1022`),
/// so a value prints the same whatever format holds it, and the specials are `inf`, `-inf`,
/// `nan`. Zeros are `0x0p+0` and `-0x0p+0`. The oracle's arbitrary-precision numbers
/// (`MPFRNumber.hexFloatString`) use the same spelling; a test holds the two equal.
public enum HexFloat {
    public static func string(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == 0 { return x.sign == .minus ? "-0x0p+0" : "0x0p+0" }
        let m = x.magnitude
        // Normalise: for a subnormal, shift the fraction left until its leading one becomes
        // the implicit bit; `exponent` already reports the normalised exponent.
        var fraction = m.significandBitPattern
        if m.isSubnormal {
            let shift = fraction.leadingZeroBitCount - 11   // leading one to bit 52
            fraction = (fraction << shift) & ((1 << 52) - 1)
        }
        var digits = String(fraction, radix: 16)
        digits = String(repeating: "0", count: 13 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        let e = Int(m.exponent)
        return (x < 0 ? "-" : "") + "0x1" + (digits.isEmpty ? "" : "." + digits)
            + "p" + (e < 0 ? "-" : "+") + String(e.magnitude)
    }

    /// `0x` and `digits` lowercase hex digits, zero-padded: `hex(0x7e, digits: 2) == "0x7e"`.
    public static func hex<T: BinaryInteger>(_ v: T, digits: Int) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}
