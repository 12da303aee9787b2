/// Format families as parametric constructors: a family is one function of its parameters, and
/// every built-in format (`Registry.swift`) is one call. Each constructor fixes the family's
/// bias rule, special-value encodings and naming; the limits then follow from the descriptor
/// (`FloatFormat.emax`, `maxFinite`, …). New families (e.g. IEEE P3109 `Binary{K}p{P}`) are
/// added here the same way.
extension FloatFormat {
    /// The IEEE 754 bias of a w-bit exponent field, 2^(w−1) − 1 (§3.3: emax = bias).
    public static func ieeeBias(exponentBits w: Int) -> Int { (1 << (w - 1)) - 1 }

    /// The ml_dtypes-style names of a format: `e{E}m{M}{suffix}` and
    /// `float{bitWidth}_e{E}m{M}{suffix}` (ml_dtypes `float8_e4m3fn`, `float6_e2m3fn`, …).
    static func conventionalNames(exponentBits: Int, mantissaBits: Int, isSigned: Bool, suffix: String)
        -> (name: String, mlDtypesName: String)
    {
        let name = "e\(exponentBits)m\(mantissaBits)\(suffix)"
        let width = (isSigned ? 1 : 0) + exponentBits + mantissaBits
        return (name, "float\(width)_\(name)")
    }

    /// IEEE 754-style binary format (§3.3–3.4 generalised to any width): bias 2^(w−1) − 1,
    /// exponent all-ones for ±∞ (mantissa 0) and NaN (mantissa ≠ 0), ±0 and subnormals.
    /// Members: E5M2 (OCP OFP8), ml_dtypes' E4M3 and E3M4, binary16, bfloat16.
    /// Names default to `e{E}m{M}` / `float{W}_e{E}m{M}`.
    public static func ieeeLike(
        exponentBits: Int, mantissaBits: Int, name: String? = nil, mlDtypesName: String? = nil,
        mlDtypesCast: MLDtypesCast = .mlDtypes
    ) -> FloatFormat {
        let names = conventionalNames(exponentBits: exponentBits, mantissaBits: mantissaBits, isSigned: true, suffix: "")
        return FloatFormat(
            name: name ?? names.name, mlDtypesName: mlDtypesName ?? names.mlDtypesName,
            exponentBits: exponentBits, mantissaBits: mantissaBits, bias: ieeeBias(exponentBits: exponentBits),
            infinity: .ieee, nan: .ieee, mlDtypesCast: mlDtypesCast)
    }

    /// OCP finite ("fn") formats: IEEE bias, no infinities, so the top exponent field holds
    /// numbers; the NaN is either the all-ones magnitude S.1111.111 (OCP OFP8 rev 1.0 E4M3,
    /// `nan: .allOnes`) or absent (OCP MX v1.0 §5.3 FP6/FP4, `nan: .none`). ±0, subnormals.
    public static func ocpStyle(exponentBits: Int, mantissaBits: Int, nan: NaNEncoding) -> FloatFormat {
        precondition(nan == .allOnes || nan == .none, "OCP finite formats have an all-ones NaN or none")
        let names = conventionalNames(exponentBits: exponentBits, mantissaBits: mantissaBits, isSigned: true, suffix: "fn")
        return FloatFormat(
            name: names.name, mlDtypesName: names.mlDtypesName, exponentBits: exponentBits,
            mantissaBits: mantissaBits, bias: ieeeBias(exponentBits: exponentBits), infinity: .none, nan: nan)
    }

    /// "fnuz" formats (Graphcore/AMD; ml_dtypes `float8_*fnuz`): no infinities, no −0, the
    /// single NaN is the code −0 would have (0x80). The bias defaults to the IEEE bias + 1;
    /// another bias is named in the format (`e4m3b11fnuz`).
    public static func fnuz(exponentBits: Int, mantissaBits: Int, bias: Int? = nil) -> FloatFormat {
        let conventional = ieeeBias(exponentBits: exponentBits) + 1
        let b = bias ?? conventional
        let names = conventionalNames(
            exponentBits: exponentBits, mantissaBits: mantissaBits, isSigned: true,
            suffix: b == conventional ? "fnuz" : "b\(b)fnuz")
        return FloatFormat(
            name: names.name, mlDtypesName: names.mlDtypesName, exponentBits: exponentBits,
            mantissaBits: mantissaBits, bias: b, infinity: .none, nan: .negativeZero)
    }

    /// Unsigned power-of-two scale formats (OCP MX v1.0 §5.4 E8M0): no sign, no mantissa, no
    /// zero (exponent field 0 is 2^−bias), IEEE bias, the all-ones code is the only NaN.
    public static func scaleFormat(exponentBits: Int) -> FloatFormat {
        let names = conventionalNames(exponentBits: exponentBits, mantissaBits: 0, isSigned: false, suffix: "fnu")
        return FloatFormat(
            name: names.name, mlDtypesName: names.mlDtypesName, exponentBits: exponentBits, mantissaBits: 0,
            bias: ieeeBias(exponentBits: exponentBits), isSigned: false, infinity: .none, nan: .allOnes,
            hasZero: false)
    }
}
