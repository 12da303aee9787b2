/// The formats QuantCheck knows, with the numbers of OCP OFP8 rev 1.0 Table 1, OCP MX v1.0
/// §5.3–5.4, IEEE 754-2019 and ml_dtypes 0.6. Adding a format means adding a descriptor here —
/// one call of a family constructor (`FormatFamilies.swift`) — and its golden table: the codec,
/// oracle and suites are generic.
extension FloatFormat {
    /// OCP OFP8 E4M3: bias 7, no infinity, NaN S.1111.111, max 448, −0.
    public static let e4m3fn = ocpStyle(exponentBits: 4, mantissaBits: 3, nan: .allOnes)
    /// OCP OFP8 E5M2: IEEE-style, bias 15, ±∞ S.11111.00, max 57344.
    public static let e5m2 = ieeeLike(exponentBits: 5, mantissaBits: 2)
    /// Graphcore/AMD "fnuz" E4M3: bias 8, NaN 0x80, no −0, no infinity, max 240.
    public static let e4m3fnuz = fnuz(exponentBits: 4, mantissaBits: 3)
    /// fnuz E5M2: bias 16, NaN 0x80, no −0, no infinity, max 57344.
    public static let e5m2fnuz = fnuz(exponentBits: 5, mantissaBits: 2)
    /// Graphcore E4M3 with bias 11, fnuz: max 30.
    public static let e4m3b11fnuz = fnuz(exponentBits: 4, mantissaBits: 3, bias: 11)
    /// IEEE-like E4M3 (ml_dtypes `float8_e4m3`): bias 7, ±∞, IEEE NaNs, max 240.
    public static let e4m3 = ieeeLike(exponentBits: 4, mantissaBits: 3)
    /// IEEE-like E3M4 (ml_dtypes `float8_e3m4`): bias 3, ±∞, IEEE NaNs, max 15.5.
    public static let e3m4 = ieeeLike(exponentBits: 3, mantissaBits: 4)
    /// OCP MX E8M0 scale: unsigned, bias 127, no zero, NaN 0xFF, 2^−127 … 2^127.
    public static let e8m0fnu = scaleFormat(exponentBits: 8)
    /// OCP MX FP6 E2M3: bias 1, no infinity, no NaN, max 7.5.
    public static let e2m3fn = ocpStyle(exponentBits: 2, mantissaBits: 3, nan: .none)
    /// OCP MX FP6 E3M2: bias 3, no infinity, no NaN, max 28.
    public static let e3m2fn = ocpStyle(exponentBits: 3, mantissaBits: 2, nan: .none)
    /// OCP MX FP4 E2M1: bias 1, no infinity, no NaN, max 6.
    public static let e2m1fn = ocpStyle(exponentBits: 2, mantissaBits: 1, nan: .none)
    /// IEEE 754 binary16 as a conversion target. Under ml_dtypes it is numpy's own `float16`,
    /// whose casts numpy implements (`ProfileRules`).
    public static let binary16 = ieeeLike(
        exponentBits: 5, mantissaBits: 10, name: "binary16", mlDtypesName: "float16", mlDtypesCast: .numpy)
    /// bfloat16 as a conversion target (ml_dtypes `bfloat16`).
    public static let bfloat16 = ieeeLike(exponentBits: 8, mantissaBits: 7, name: "bfloat16", mlDtypesName: "bfloat16")

    /// Every known format, narrow formats first.
    public static let all: [FloatFormat] = [
        .e4m3fn, .e5m2, .e4m3fnuz, .e5m2fnuz, .e4m3b11fnuz, .e4m3, .e3m4, .e8m0fnu,
        .e2m3fn, .e3m2fn, .e2m1fn, .binary16, .bfloat16,
    ]

    /// Looks a format up by its short name (`e4m3fn`) or ml_dtypes name (`float8_e4m3fn`),
    /// case-insensitively. `binary16` is also accepted as `float16`/`fp16`, `bfloat16` as `bf16`.
    public init(named rawName: String) throws(FormatError) {
        let key = rawName.lowercased()
        let aliases: [String: String] = ["fp16": "binary16", "half": "binary16", "bf16": "bfloat16"]
        let wanted = aliases[key] ?? key
        guard let f = Self.all.first(where: { $0.name == wanted || $0.mlDtypesName == wanted }) else {
            throw .unknownFormat(rawName)
        }
        self = f
    }
}

public enum FormatError: Error, Equatable, CustomStringConvertible, Sendable {
    case unknownFormat(String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .unknownFormat(let name):
            return "unknown format '\(name)'; known: \(FloatFormat.all.map(\.name).joined(separator: ", "))"
        }
    }
}
