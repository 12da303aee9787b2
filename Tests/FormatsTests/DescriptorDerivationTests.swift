import Testing
@testable import Formats

/// The descriptor's derived limits against values written out independently from the specs
/// (OCP OFP8 rev 1.0 Table 1, OCP MX v1.0 §5.3–5.4 Tables 1–2, IEEE 754-2019 Table 3.5, ml_dtypes
/// `float8.h`), never computed from the descriptor arithmetic.
@Suite struct DerivedLimits {
    struct Expected: Sendable, CustomStringConvertible {
        var name: String
        var bitWidth: Int
        var bias: Int
        /// ⌊log2 max finite⌋.
        var emax: Int
        /// Exponent of the smallest normal.
        var emin: Int
        var maxFinite: Double
        var maxFiniteMagnitudeCode: UInt16
        /// nil: no subnormals.
        var minSubnormal: Double?
        var hasZero: Bool
        var hasNegativeZero: Bool
        var description: String { name }
    }

    static let table: [Expected] = [
        // OFP8 Table 1: E4M3 max S.1111.110 = 1.75·2^8 = 448, min normal 2^-6, min subnormal 2^-9.
        .init(name: "e4m3fn", bitWidth: 8, bias: 7, emax: 8, emin: -6, maxFinite: 448, maxFiniteMagnitudeCode: 0x7E,
              minSubnormal: 0x1p-9, hasZero: true, hasNegativeZero: true),
        // OFP8 Table 1: E5M2 max S.11110.11 = 1.75·2^15 = 57344, min normal 2^-14, min subnormal 2^-16.
        .init(name: "e5m2", bitWidth: 8, bias: 15, emax: 15, emin: -14, maxFinite: 57344, maxFiniteMagnitudeCode: 0x7B,
              minSubnormal: 0x1p-16, hasZero: true, hasNegativeZero: true),
        // fnuz: bias 8, 0x7F = 1.875·2^7 = 240; no −0 (0x80 is the NaN).
        .init(name: "e4m3fnuz", bitWidth: 8, bias: 8, emax: 7, emin: -7, maxFinite: 240, maxFiniteMagnitudeCode: 0x7F,
              minSubnormal: 0x1p-10, hasZero: true, hasNegativeZero: false),
        // fnuz: bias 16, 0x7F = 1.75·2^15 = 57344.
        .init(name: "e5m2fnuz", bitWidth: 8, bias: 16, emax: 15, emin: -15, maxFinite: 57344, maxFiniteMagnitudeCode: 0x7F,
              minSubnormal: 0x1p-17, hasZero: true, hasNegativeZero: false),
        // bias 11: 0x7F = 1.875·2^4 = 30.
        .init(name: "e4m3b11fnuz", bitWidth: 8, bias: 11, emax: 4, emin: -10, maxFinite: 30, maxFiniteMagnitudeCode: 0x7F,
              minSubnormal: 0x1p-13, hasZero: true, hasNegativeZero: false),
        // IEEE-like E4M3: 0x77 = 0.1110.111 = 1.875·2^7 = 240 (0x78 is ∞).
        .init(name: "e4m3", bitWidth: 8, bias: 7, emax: 7, emin: -6, maxFinite: 240, maxFiniteMagnitudeCode: 0x77,
              minSubnormal: 0x1p-9, hasZero: true, hasNegativeZero: true),
        // IEEE-like E3M4: 0x6F = 0.110.1111 = 1.9375·2^3 = 15.5 (0x70 is ∞).
        .init(name: "e3m4", bitWidth: 8, bias: 3, emax: 3, emin: -2, maxFinite: 15.5, maxFiniteMagnitudeCode: 0x6F,
              minSubnormal: 0x1p-6, hasZero: true, hasNegativeZero: true),
        // MX §5.4 E8M0: 2^-127 (0x00) … 2^127 (0xFE), 0xFF NaN, no zero, no subnormals, unsigned.
        .init(name: "e8m0fnu", bitWidth: 8, bias: 127, emax: 127, emin: -127, maxFinite: 0x1p127, maxFiniteMagnitudeCode: 0xFE,
              minSubnormal: nil, hasZero: false, hasNegativeZero: false),
        // MX Table 2 FP6 E2M3: max 1.875·2^2 = 7.5, min normal 1, min subnormal 0.125.
        .init(name: "e2m3fn", bitWidth: 6, bias: 1, emax: 2, emin: 0, maxFinite: 7.5, maxFiniteMagnitudeCode: 0x1F,
              minSubnormal: 0x1p-3, hasZero: true, hasNegativeZero: true),
        // MX Table 2 FP6 E3M2: max 1.75·2^4 = 28, min normal 0.25, min subnormal 0.0625.
        .init(name: "e3m2fn", bitWidth: 6, bias: 3, emax: 4, emin: -2, maxFinite: 28, maxFiniteMagnitudeCode: 0x1F,
              minSubnormal: 0x1p-4, hasZero: true, hasNegativeZero: true),
        // MX Table 2 FP4 E2M1: max 1.5·2^2 = 6, min normal 1, min subnormal 0.5.
        .init(name: "e2m1fn", bitWidth: 4, bias: 1, emax: 2, emin: 0, maxFinite: 6, maxFiniteMagnitudeCode: 0x7,
              minSubnormal: 0.5, hasZero: true, hasNegativeZero: true),
        // IEEE 754 binary16: emax 15, emin −14, max 65504, min subnormal 2^-24.
        .init(name: "binary16", bitWidth: 16, bias: 15, emax: 15, emin: -14, maxFinite: 65504, maxFiniteMagnitudeCode: 0x7BFF,
              minSubnormal: 0x1p-24, hasZero: true, hasNegativeZero: true),
        // bfloat16 (binary32's exponent, 7 fraction bits): max (2 − 2^-7)·2^127, min subnormal 2^-133.
        .init(name: "bfloat16", bitWidth: 16, bias: 127, emax: 127, emin: -126, maxFinite: 0x1.FEp127, maxFiniteMagnitudeCode: 0x7F7F,
              minSubnormal: 0x1p-133, hasZero: true, hasNegativeZero: true),
    ]

    @Test func everyFormatIsPinned() {
        #expect(FloatFormat.all.map(\.name) == Self.table.map(\.name))
    }

    @Test(arguments: table)
    func limits(_ e: Expected) throws {
        let f = try FloatFormat(named: e.name)
        #expect(try FloatFormat(named: f.mlDtypesName) == f)
        #expect(f.bitWidth == e.bitWidth)
        #expect(f.bias == e.bias)
        #expect(f.emax == e.emax)
        #expect(f.minNormalExponent == e.emin)
        #expect(f.maxFinite == e.maxFinite)
        #expect(f.maxFiniteMagnitudeCode == e.maxFiniteMagnitudeCode)
        #expect(f.minNormal == Double(sign: .plus, exponent: e.emin, significand: 1))
        #expect(f.minSubnormal == e.minSubnormal)
        #expect(f.minPositive == (e.minSubnormal ?? Double(sign: .plus, exponent: e.emin, significand: 1)))
        #expect(f.hasZero == e.hasZero)
        #expect(f.hasSubnormals == (e.minSubnormal != nil))
        #expect(f.hasNegativeZero == e.hasNegativeZero)
    }

    /// The derived limits agree with the codes themselves: max finite is the largest finite
    /// value of any code, emax its binade, min positive the smallest positive value.
    @Test(arguments: FloatFormat.all)
    func limitsAreTheExtremesOfTheCodes(_ f: FloatFormat) {
        let values = (0..<f.codeCount).compactMap { f.finiteValue(of: UInt16($0)) }.map(FloatFormat.double)
        #expect(values.max() == f.maxFinite)
        #expect(values.filter { $0 > 0 }.min() == f.minPositive)
        #expect(f.maxFinite >= Double(sign: .plus, exponent: f.emax, significand: 1))
        #expect(f.maxFinite < Double(sign: .plus, exponent: f.emax + 1, significand: 1))
        #expect(values.contains(0) == f.hasZero)
    }

    /// E8M0FNU (OCP MX v1.0 §5.4): no zero — ±0 converts to NaN, and no code decodes to 0.
    @Test func e8m0HasNoZero() {
        let f = FloatFormat.e8m0fnu
        #expect(!f.hasZero && !f.hasSubnormals)
        #expect(f.zeroCode(negative: false) == nil)
        #expect(f.codeForZero(negative: false) == 0xFF)
        #expect(f.classify(0x00) == .normal)
        #expect(f.finiteValue(of: 0x00).map(FloatFormat.double) == 0x1p-127)
    }
}

/// The family constructors rebuild every built-in format exactly: the descriptors below are the
/// explicit field-by-field definitions the registry held before the families existed.
@Suite struct FormatFamilies {
    static let explicit: [FloatFormat] = [
        FloatFormat(name: "e4m3fn", mlDtypesName: "float8_e4m3fn", exponentBits: 4, mantissaBits: 3, bias: 7,
                    infinity: .none, nan: .allOnes),
        FloatFormat(name: "e5m2", mlDtypesName: "float8_e5m2", exponentBits: 5, mantissaBits: 2, bias: 15,
                    infinity: .ieee, nan: .ieee),
        FloatFormat(name: "e4m3fnuz", mlDtypesName: "float8_e4m3fnuz", exponentBits: 4, mantissaBits: 3, bias: 8,
                    infinity: .none, nan: .negativeZero),
        FloatFormat(name: "e5m2fnuz", mlDtypesName: "float8_e5m2fnuz", exponentBits: 5, mantissaBits: 2, bias: 16,
                    infinity: .none, nan: .negativeZero),
        FloatFormat(name: "e4m3b11fnuz", mlDtypesName: "float8_e4m3b11fnuz", exponentBits: 4, mantissaBits: 3,
                    bias: 11, infinity: .none, nan: .negativeZero),
        FloatFormat(name: "e4m3", mlDtypesName: "float8_e4m3", exponentBits: 4, mantissaBits: 3, bias: 7,
                    infinity: .ieee, nan: .ieee),
        FloatFormat(name: "e3m4", mlDtypesName: "float8_e3m4", exponentBits: 3, mantissaBits: 4, bias: 3,
                    infinity: .ieee, nan: .ieee),
        FloatFormat(name: "e8m0fnu", mlDtypesName: "float8_e8m0fnu", exponentBits: 8, mantissaBits: 0, bias: 127,
                    isSigned: false, infinity: .none, nan: .allOnes, hasZero: false),
        FloatFormat(name: "e2m3fn", mlDtypesName: "float6_e2m3fn", exponentBits: 2, mantissaBits: 3, bias: 1,
                    infinity: .none, nan: .none),
        FloatFormat(name: "e3m2fn", mlDtypesName: "float6_e3m2fn", exponentBits: 3, mantissaBits: 2, bias: 3,
                    infinity: .none, nan: .none),
        FloatFormat(name: "e2m1fn", mlDtypesName: "float4_e2m1fn", exponentBits: 2, mantissaBits: 1, bias: 1,
                    infinity: .none, nan: .none),
        FloatFormat(name: "binary16", mlDtypesName: "float16", exponentBits: 5, mantissaBits: 10, bias: 15,
                    infinity: .ieee, nan: .ieee, mlDtypesCast: .numpy),
        FloatFormat(name: "bfloat16", mlDtypesName: "bfloat16", exponentBits: 8, mantissaBits: 7, bias: 127,
                    infinity: .ieee, nan: .ieee),
    ]

    @Test func familiesReproduceTheExplicitDescriptors() {
        #expect(FloatFormat.all == Self.explicit)
    }

    @Test func familyDefaultsAndNames() {
        #expect(FloatFormat.ieeeBias(exponentBits: 4) == 7 && FloatFormat.ieeeBias(exponentBits: 8) == 127)
        // A non-default fnuz bias is named; the default is not.
        #expect(FloatFormat.fnuz(exponentBits: 4, mantissaBits: 3, bias: 8).name == "e4m3fnuz")
        #expect(FloatFormat.fnuz(exponentBits: 4, mantissaBits: 3, bias: 11).mlDtypesName == "float8_e4m3b11fnuz")
        // binary16 is an IEEE-like format under other names.
        let e5m10 = FloatFormat.ieeeLike(exponentBits: 5, mantissaBits: 10)
        #expect(e5m10.name == "e5m10" && e5m10.mlDtypesName == "float16_e5m10")
        #expect(e5m10.hasSameEncoding(as: .binary16) && e5m10 != .binary16)
        #expect(!FloatFormat.e4m3.hasSameEncoding(as: .e4m3fn))
    }

    /// A family member that is not built in: its limits follow from the parameters alone.
    @Test func familiesAreParametric() {
        let e5m0 = FloatFormat.scaleFormat(exponentBits: 5)  // 2^-15 … 2^15, 0x1F NaN
        #expect(e5m0.name == "e5m0fnu" && e5m0.mlDtypesName == "float5_e5m0fnu")
        #expect(e5m0.codeCount == 32 && e5m0.emax == 15 && e5m0.minNormalExponent == -15)
        #expect(e5m0.maxFinite == 0x1p15 && e5m0.canonicalNaN(negative: false) == 0x1F)
        let e3m3 = FloatFormat.ocpStyle(exponentBits: 3, mantissaBits: 3, nan: .allOnes)  // S.111.111 NaN
        #expect(e3m3.bias == 3 && e3m3.maxFiniteMagnitudeCode == 0x3E && e3m3.maxFinite == 1.75 * 0x1p4)
    }
}

/// The profile rules are data: `.ocp` is the specification everywhere; each ml_dtypes profile
/// follows from the library that implements each cast and from its release's data
/// (Golden/mldtypes/README.md rules 1, 4, 5, 6 and "What changed in 0.7.0").
@Suite struct ProfileRuleData {
    @Test(arguments: FloatFormat.all)
    func ocpIsTheSpecification(_ f: FloatFormat) {
        let r = f.rules(for: .ocp)
        #expect(r == .specification)
        #expect(!r.roundsFloat64ThroughFloat32 && r.tieBreak == .evenCode && r.smallValueRule == .grid)
        #expect(r.nanWithoutEncoding == .zeroOfSameSign && r.nanPayload == .canonical && !r.saturationKeepsInfinity)
    }

    @Test(arguments: FloatFormat.all)
    func mlDtypes0_6(_ f: FloatFormat) {
        let r = f.rules(for: .mlDtypes0_6)
        let isNumpyHalf = f.name == "binary16", isE8M0 = f.name == "e8m0fnu"
        #expect(r.roundsFloat64ThroughFloat32 == !isNumpyHalf)        // rule 1, rule 6
        #expect(r.nanPayload == (isNumpyHalf ? .keptFromFloat32AndFloat64 : .canonical))
        #expect(r.tieBreak == (isNumpyHalf ? .evenCode : .evenSignificand))  // rule 5
        #expect(r.smallValueRule == (isE8M0 ? .aboveSmallestRoundsUp : .grid))
        #expect(r.nanWithoutEncoding == .zeroOfOppositeSign)         // rule 4
        #expect(r.saturationKeepsInfinity)
    }

    /// 0.7.0 = 0.6.0 without the Float32 step for Float64 and without the subnormal path for
    /// E8M0FNU; every other rule is unchanged.
    @Test(arguments: FloatFormat.all)
    func mlDtypes0_7(_ f: FloatFormat) {
        let r = f.rules(for: .mlDtypes0_7)
        var expected = f.rules(for: .mlDtypes0_6)
        expected.roundsFloat64ThroughFloat32 = false
        expected.smallValueRule = .grid
        #expect(r == expected)
        #expect((r != f.rules(for: .mlDtypes0_6)) == (f.name != "binary16"))  // numpy's float16: same casts
    }

    /// Names: results spell the release; `ml_dtypes` is accepted as the newest release.
    @Test func profileNames() {
        #expect(CompatibilityProfile.allCases.map(\.rawValue) == ["ocp", "ml_dtypes-0.6", "ml_dtypes-0.7"])
        #expect(CompatibilityProfile(name: "ml_dtypes") == .mlDtypes0_7 && CompatibilityProfile.mlDtypes == .mlDtypes0_7)
        #expect(CompatibilityProfile(name: "ml_dtypes-0.6") == .mlDtypes0_6 && CompatibilityProfile(name: "ocp") == .ocp)
        #expect(CompatibilityProfile(name: "ml_dtypes-0.5") == nil && CompatibilityProfile(name: "ML_DTYPES") == nil)
        #expect(CompatibilityProfile(rawValue: "ml_dtypes") == nil)  // the alias never reaches results
        #expect(CompatibilityProfile.acceptedNames == ["ocp", "ml_dtypes-0.6", "ml_dtypes-0.7", "ml_dtypes (= ml_dtypes-0.7)"])
        #expect(CompatibilityProfile.mlDtypes0_6.mlDtypesRelease?.version == "0.6.0")
        #expect(CompatibilityProfile.mlDtypes0_7.mlDtypesRelease?.shortVersion == "0.7" && CompatibilityProfile.ocp.mlDtypesRelease == nil)
    }

    /// The special-value functions read the rules: rule 4 (MX FP4 NaN → opposite zero) and ∞
    /// under saturation.
    @Test func specialValuesFollowTheRules() {
        #expect(FloatFormat.e2m1fn.codeForNaN(negative: false, profile: .ocp) == 0x0)
        #expect(FloatFormat.e2m1fn.codeForNaN(negative: false, profile: .mlDtypes0_6) == 0x8)
        #expect(FloatFormat.e2m1fn.codeForNaN(negative: false, profile: .mlDtypes0_7) == 0x8)
        let sat = ConversionPolicy(overflow: .saturating)
        var mlSat = sat
        mlSat.profile = .mlDtypes0_7
        #expect(FloatFormat.e5m2.codeForInfinity(negative: false, policy: sat) == 0x7B)
        #expect(FloatFormat.e5m2.codeForInfinity(negative: false, policy: mlSat) == 0x7C)
    }
}
