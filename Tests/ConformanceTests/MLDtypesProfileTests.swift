import Foundation
import Testing
import Formats
import Quant
import Conformance

// Each ml_dtypes profile against its own release's golden tables
// (`Golden/mldtypes/<release>/`, read by `Conformance.MLDtypesGoldenTable`; format and
// provenance: `Golden/mldtypes/README.md`; the tables were made once with Python, which no test
// runs). Three checks per release:
// 1. the profile (RNE, NONSAT) reproduces every golden code;
// 2. the inputs where `.ocp` differs from the golden codes are exactly those explained by the
//    documented rules, in exactly the documented numbers (`<release>/differences.txt`);
// 3. negative controls: deliberately wrong encoders, the other release's rules, and corrupted
//    tables are caught.

/// The ml_dtypes profiles, each with its release.
let mlDtypesProfiles: [CompatibilityProfile] = ProfileSuite.profiles

func mlRelease(_ p: CompatibilityProfile) -> MLDtypesRelease { p.mlDtypesRelease! }

/// Encodes one golden input with `codec`, through the entry point of its input type.
func mlGoldenEncode(_ codec: NarrowFloatCodec, _ input: MLDtypesGoldenTable.Input, _ bits: UInt64) -> UInt16 {
    switch input {
    case .f32: return codec.encode(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
    case .f64: return codec.encode(Double(bitPattern: bits))
    case .f16: return codec.encode(float16Bits: UInt16(truncatingIfNeeded: bits))
    case .bf16: return codec.encode(bfloat16Bits: UInt16(truncatingIfNeeded: bits))
    }
}

/// Golden entries on which `encode` disagrees, described for a failure message.
func mlGoldenMismatches(_ table: MLDtypesGoldenTable, encode: (UInt64) -> UInt16) -> (count: Int, first: [String]) {
    var count = 0
    var first: [String] = []
    let digits = table.input.hexDigits
    for e in table.entries {
        let got = encode(e.input)
        if got != e.code {
            count += 1
            if first.count < 8 {
                let hex = String(e.input, radix: 16, uppercase: true)
                first.append("\(table.format.name) \(table.input.rawValue) 0x\(String(repeating: "0", count: max(0, digits - hex.count)))\(hex)"
                    + " (\(mlGoldenValue(table.input, e.input))): ml_dtypes 0x\(String(e.code, radix: 16, uppercase: true))"
                    + " got 0x\(String(got, radix: 16, uppercase: true))")
            }
        }
    }
    return (count, first)
}

func mlGoldenValue(_ input: MLDtypesGoldenTable.Input, _ bits: UInt64) -> String { input.valueText(bits) }

// MARK: - Difference classes (README "Differences from OCP")

/// Why ml_dtypes (the golden code) and the OCP rule differ on an input. Precedence: in a release
/// that rounds Float64 through Float32, a Float64 input whose OCP code changes when it is first
/// rounded to Float32 is `f64ViaF32`, and every other difference is judged on the Float32 value
/// the input becomes; otherwise a Float64 is judged on its own value.
enum MLDtypesDifference: String, CaseIterable {
    case f64ViaF32 = "f64-via-f32"
    case e8m0TieUp = "e8m0-tie-up"
    case e8m0SubnormalUp = "e8m0-subnormal-up"
    case nanToOppositeZero = "nan-to-opposite-zero"
    case f16NaNPayload = "f16-nan-payload"
    case unexplained = "UNEXPLAINED"

    static func classify(
        format: FloatFormat, input: MLDtypesGoldenTable.Input, bits: UInt64, ocp: NarrowFloatCodec, release: MLDtypesRelease
    ) -> MLDtypesDifference {
        switch input {
        case .f64:
            let x = Double(bitPattern: bits)
            if format.mlDtypesCast == .numpy { return x.isNaN ? .f16NaNPayload : .unexplained }  // numpy: direct
            guard release.castsFloat64ThroughFloat32 else { return classifyValue(format: format, x, release: release) }
            if ocp.encode(x) != ocp.encode(Double(Float(x))) { return .f64ViaF32 }
            return classifyValue(format: format, Float(x), release: release)
        case .f32:
            return classifyValue(format: format, Float(bitPattern: UInt32(truncatingIfNeeded: bits)), release: release)
        case .f16:
            let x = Float(bitPattern: NarrowFloatCodec.float32Bits(fromFloat16Bits: UInt16(truncatingIfNeeded: bits)))
            if format.mlDtypesCast == .numpy && x.isNaN { return .f16NaNPayload }  // bit copy
            return classifyValue(format: format, x, release: release)
        case .bf16:
            return classifyValue(format: format, Float(bitPattern: UInt32(truncatingIfNeeded: bits) << 16), release: release)
        }
    }

    /// A Float32 (or, without the Float32 step, a Float64) value's class. E8M0FNU: the
    /// subnormal rule (0.6, Float32 only) covers (2^-127, 1.5·2^-127]; a tie 1.5·2^k differs
    /// from OCP when the lower biased exponent k + 127 is even.
    static func classifyValue<T: BinaryFloatingPoint>(format: FloatFormat, _ x: T, release: MLDtypesRelease) -> MLDtypesDifference {
        if x.isNaN {
            if format.nan == .none { return .nanToOppositeZero }
            if format.mlDtypesCast == .numpy { return .f16NaNPayload }
            return .unexplained
        }
        if format == .e8m0fnu && x > 0 && x.isFinite {
            if release.float32SubnormalsTakeSubnormalPath && T.self == Float.self && x > 0x1p-127 && x <= 0x1.8p-127 { return .e8m0SubnormalUp }
            if x.significand == 1.5 && (Int(x.exponent) + 127) % 2 == 0 && x.exponent >= -127 && x.exponent <= 127 { return .e8m0TieUp }
        }
        return .unexplained
    }
}

// MARK: - Tests

@Suite struct MLDtypesProfileGolden {
    static func policy(_ profile: CompatibilityProfile) -> ConversionPolicy {
        ConversionPolicy(rounding: .toNearestOrEven, overflow: .nonSaturating, profile: profile)
    }

    @Test(arguments: mlDtypesProfiles)
    func tablesCoverWhatTheReadmeSays(_ profile: CompatibilityProfile) throws {
        for format in FloatFormat.all {
            for input in MLDtypesGoldenTable.inputs(for: format) {
                let t = try MLDtypesGoldenTable.load(mlRelease(profile), format, input)
                let inputs = t.entries.map(\.input)
                #expect(Set(inputs).count == inputs.count, "\(format.name)/\(input): an input appears twice")
                switch input {
                case .f32:
                    // the sweep is exactly the 65,536 bfloat16-representable patterns, then probes
                    #expect(t.sweepCount == 65_536)
                    #expect(t.entries.prefix(65_536).map(\.input) == (0...UInt64(0xFFFF)).map { $0 << 16 })
                    #expect(t.entries.count > 65_536)
                case .f16, .bf16:
                    #expect(t.sweepCount == 65_536)
                    #expect(t.entries.map(\.input) == Array(0...UInt64(0xFFFF)))
                case .f64:
                    #expect(t.sweepCount == 0)
                    #expect(t.entries.count >= 2_000)
                }
                #expect(t.entries.allSatisfy { Int($0.code) < format.codeCount })
            }
        }
    }

    /// The releases' tables hold the same inputs (generate.py builds the list without the
    /// library), so their codes can be compared input by input.
    @Test(arguments: FloatFormat.all)
    func releasesShareTheirInputs(_ format: FloatFormat) throws {
        for input in MLDtypesGoldenTable.inputs(for: format) {
            let a = try MLDtypesGoldenTable.load(.v0_6, format, input), b = try MLDtypesGoldenTable.load(.v0_7, format, input)
            #expect(a.entries.map(\.input) == b.entries.map(\.input))
        }
    }

    /// Check 1: each profile reproduces every code of its release.
    @Test(arguments: mlDtypesProfiles, FloatFormat.all)
    func profileReproducesEveryGoldenCode(_ profile: CompatibilityProfile, _ format: FloatFormat) throws {
        let ml = NarrowFloatCodec(format: format, policy: Self.policy(profile))
        for input in MLDtypesGoldenTable.inputs(for: format) {
            let t = try MLDtypesGoldenTable.load(mlRelease(profile), format, input)
            let m = mlGoldenMismatches(t) { mlGoldenEncode(ml, input, $0) }
            #expect(m.count == 0, "\(m.count) of \(t.entries.count) codes differ from ml_dtypes \(mlRelease(profile).version):\n\(m.first.joined(separator: "\n"))")
        }
    }

    /// Check 2: where `.ocp` differs from a release, a documented rule of that release explains
    /// it, and the numbers per rule are exactly those of its `differences.txt`.
    @Test(arguments: mlDtypesProfiles, FloatFormat.all)
    func ocpDiffersExactlyWhereDocumented(_ profile: CompatibilityProfile, _ format: FloatFormat) throws {
        let ocp = NarrowFloatCodec(format: format, policy: Self.policy(.ocp))
        let documented = try MLDtypesGoldenTable.documentedDifferences(mlRelease(profile))
        var found: [String: Int] = [:]
        var unexplained: [String] = []
        for input in MLDtypesGoldenTable.inputs(for: format) {
            let t = try MLDtypesGoldenTable.load(mlRelease(profile), format, input)
            for e in t.entries where mlGoldenEncode(ocp, input, e.input) != e.code {
                let why = MLDtypesDifference.classify(format: format, input: input, bits: e.input, ocp: ocp, release: mlRelease(profile))
                found["\(format.name) \(input.rawValue) \(why.rawValue)", default: 0] += 1
                if why == .unexplained && unexplained.count < 8 {
                    unexplained.append("\(input.rawValue) 0x\(String(e.input, radix: 16, uppercase: true)) (\(mlGoldenValue(input, e.input))): "
                        + "ml_dtypes 0x\(String(e.code, radix: 16, uppercase: true)), ocp 0x\(String(mlGoldenEncode(ocp, input, e.input), radix: 16, uppercase: true))")
                }
            }
        }
        #expect(unexplained.isEmpty, "differences no documented rule explains:\n\(unexplained.joined(separator: "\n"))")
        let expected = documented.filter { $0.key.hasPrefix("\(format.name) ") }
        #expect(found == expected, "ocp vs ml_dtypes \(mlRelease(profile).version) differences by class: found \(found.sorted { $0.key < $1.key }), documented \(expected.sorted { $0.key < $1.key })")
    }

    /// The anchors named in the README, spelled out, for both releases.
    @Test func readmeAnchors() {
        let ml6 = { (f: FloatFormat) in NarrowFloatCodec(format: f, policy: Self.policy(.mlDtypes0_6)) }
        let ml7 = { (f: FloatFormat) in NarrowFloatCodec(format: f, policy: Self.policy(.mlDtypes0_7)) }
        let ocp = { (f: FloatFormat) in NarrowFloatCodec(format: f, policy: Self.policy(.ocp)) }
        #expect(ml6(.e4m3fn).encode(-431.99999999999994 as Double) == 0xFE)  // #401
        #expect(ml7(.e4m3fn).encode(-431.99999999999994 as Double) == 0xFD)  // fixed in 0.7
        #expect(ocp(.e4m3fn).encode(-431.99999999999994 as Double) == 0xFD)
        #expect(ml6(.bfloat16).encode(1 + 0x1p-8 + 0x1p-40 as Double) == 0x3F80)
        #expect(ml7(.bfloat16).encode(1 + 0x1p-8 + 0x1p-40 as Double) == 0x3F81)
        for ml in [ml6, ml7] {
            #expect(ml(.binary16).encode(1 + 0x1p-11 + 0x1p-40 as Double) == 0x3C01)  // numpy: direct
            #expect(ml(.e8m0fnu).encode(Float(3.0)) == 0x81)  // tie up
            #expect(ml(.e8m0fnu).encode(Float(0x1p-127)) == 0x00)
            #expect(ml(.e8m0fnu).encode(Float(0x1.8p-127)) == 0x01)  // the bottom tie, up
            #expect(ml(.e8m0fnu).encode(Float(0x1.8p127)) == 0xFF)
            #expect(ml(.e2m1fn).encode(Float.nan) == 0x8)
            #expect(ml(.e2m1fn).encode(-Float.nan) == 0x0)
            #expect(ml(.binary16).encode(Float(bitPattern: 0x7F80_0001)) == 0x7C01)  // payload kept
            #expect(ml(.binary16).encode(float16Bits: 0x7C01) == 0x7C01)  // bit copy
            #expect(ml(.binary16).encode(bfloat16Bits: 0x7F81) == 0x7E00)  // ml_dtypes' own cast: canonical
        }
        #expect(ocp(.e8m0fnu).encode(Float(3.0)) == 0x80)  // tie to even
        #expect(ml6(.e8m0fnu).encode(1e-50 as Double) == 0xFF)  // Float32 zero → NaN
        #expect(ml7(.e8m0fnu).encode(1e-50 as Double) == 0x00)  // directly: below 2^-127 → 2^-127
        #expect(ml6(.e8m0fnu).encode(Float(0x1.4p-127)) == 0x01)  // 0.6: Float32 subnormal above 2^-127 up
        #expect(ml7(.e8m0fnu).encode(Float(0x1.4p-127)) == 0x00)  // 0.7: nearest
        #expect(ml7(.e8m0fnu).encode(0x1.8p-127 as Double) == 0x01 && ml7(.e8m0fnu).encode(3 as Double) == 0x81)  // Float64 ties up
    }
}

@Suite struct MLDtypesProfileNegativeControls {
    /// A Float64 encoder without the Float32 step (the OCP codec, or the 0.7 profile) must fail
    /// on 0.6's e4m3fn f64 table, and on the #401 input in particular.
    @Test func directFloat64RoundingIsCaughtBy0_6() throws {
        let t = try MLDtypesGoldenTable.load(.v0_6, .e4m3fn, .f64)
        for p in [CompatibilityProfile.ocp, .mlDtypes0_7] {
            let direct = NarrowFloatCodec(format: .e4m3fn, policy: .init(profile: p))
            #expect(mlGoldenMismatches(t) { mlGoldenEncode(direct, .f64, $0) }.count > 0)
        }
        #expect(t.entries.contains(.init(input: (-431.99999999999994 as Double).bitPattern, code: 0xFE)))
    }

    /// The Float32 step (0.6) must fail on 0.7's f64 tables.
    @Test func float64ThroughFloat32IsCaughtBy0_7() throws {
        let t = try MLDtypesGoldenTable.load(.v0_7, .e4m3fn, .f64)
        let ml6 = NarrowFloatCodec(format: .e4m3fn, policy: .init(profile: .mlDtypes0_6))
        #expect(mlGoldenMismatches(t) { mlGoldenEncode(ml6, .f64, $0) }.count == 1016)
        #expect(t.entries.contains(.init(input: (-431.99999999999994 as Double).bitPattern, code: 0xFD)))
    }

    /// Ties to even in E8M0FNU (the OCP rule) must fail on the f32 table of both releases; 0.6's
    /// subnormal rule must fail on 0.7's.
    @Test func e8m0RulesAreCaught() throws {
        let ocp = NarrowFloatCodec(format: .e8m0fnu, policy: .init(profile: .ocp))
        for r in [MLDtypesRelease.v0_6, .v0_7] {
            let t = try MLDtypesGoldenTable.load(r, .e8m0fnu, .f32)
            #expect(mlGoldenMismatches(t) { mlGoldenEncode(ocp, .f32, $0) }.count > 0)
        }
        let ml6 = NarrowFloatCodec(format: .e8m0fnu, policy: .init(profile: .mlDtypes0_6))
        let t7 = try MLDtypesGoldenTable.load(.v0_7, .e8m0fnu, .f32)
        #expect(mlGoldenMismatches(t7) { mlGoldenEncode(ml6, .f32, $0) }.count == 35)
    }

    /// NaN → zero of the NaN's sign (the OCP choice) must fail for FP4.
    @Test(arguments: [MLDtypesRelease.v0_6, .v0_7])
    func nanSignIsCaught(_ r: MLDtypesRelease) throws {
        let t = try MLDtypesGoldenTable.load(r, .e2m1fn, .f32)
        let ocp = NarrowFloatCodec(format: .e2m1fn, policy: .init(profile: .ocp))
        #expect(mlGoldenMismatches(t) { mlGoldenEncode(ocp, .f32, $0) }.count > 0)
    }

    /// An encoder that flushes subnormal results to zero, or rounds toward zero, must fail.
    @Test(arguments: [FloatFormat.e4m3fn, .e5m2, .e2m3fn, .bfloat16])
    func wrongRoundingIsCaught(_ format: FloatFormat) throws {
        for p in mlDtypesProfiles {
            let t = try MLDtypesGoldenTable.load(mlRelease(p), format, .f32)
            let ml = NarrowFloatCodec(format: format, policy: .init(profile: p))
            let rtz = NarrowFloatCodec(format: format, policy: .init(rounding: .towardZero, profile: p))
            let ftz = mlGoldenMismatches(t) { bits in
                let c = mlGoldenEncode(ml, .f32, bits)
                return format.classify(c) == .subnormal ? (c & format.signMask) : c
            }
            #expect(ftz.count > 0)
            #expect(mlGoldenMismatches(t) { mlGoldenEncode(rtz, .f32, $0) }.count > 0)
        }
    }

    /// The classifier must not explain an arbitrary difference, nor one rule of 0.6 under 0.7.
    @Test func classifierRejectsUndocumentedDifferences() {
        let ocp = NarrowFloatCodec(format: .e4m3fn, policy: .init(profile: .ocp))
        for r in [MLDtypesRelease.v0_6, .v0_7] {
            #expect(MLDtypesDifference.classify(format: .e4m3fn, input: .f32, bits: UInt64(Float(1.0).bitPattern), ocp: ocp, release: r) == .unexplained)
            #expect(MLDtypesDifference.classify(format: .e4m3fn, input: .f32, bits: UInt64(Float.nan.bitPattern), ocp: ocp, release: r) == .unexplained)
        }
        let e8 = NarrowFloatCodec(format: .e8m0fnu, policy: .init(profile: .ocp))
        #expect(MLDtypesDifference.classify(format: .e8m0fnu, input: .f32, bits: UInt64(Float(1.5).bitPattern), ocp: e8, release: .v0_6) == .unexplained)  // e odd: no difference
        #expect(MLDtypesDifference.classify(format: .e8m0fnu, input: .f32, bits: UInt64(Float(3.0).bitPattern), ocp: e8, release: .v0_6) == .e8m0TieUp)
        let sub = UInt64(Float(0x1.4p-127).bitPattern)
        #expect(MLDtypesDifference.classify(format: .e8m0fnu, input: .f32, bits: sub, ocp: e8, release: .v0_6) == .e8m0SubnormalUp)
        #expect(MLDtypesDifference.classify(format: .e8m0fnu, input: .f32, bits: sub, ocp: e8, release: .v0_7) == .unexplained)
        let doubled = (-431.99999999999994 as Double).bitPattern
        #expect(MLDtypesDifference.classify(format: .e4m3fn, input: .f64, bits: doubled, ocp: ocp, release: .v0_6) == .f64ViaF32)
        #expect(MLDtypesDifference.classify(format: .e4m3fn, input: .f64, bits: doubled, ocp: ocp, release: .v0_7) == .unexplained)
    }

    /// Corrupted tables are typed errors naming file and line, never silently skipped.
    @Test func malformedLinesAreTypedErrors() {
        #expect(throws: MLDtypesGoldenTable.LoadError.malformed(file: "t", line: 2, text: "P 3F80000G 38")) {
            _ = try MLDtypesGoldenTable.parse("# c\nP 3F80000G 38\n", name: "t")
        }
        #expect(throws: MLDtypesGoldenTable.LoadError.malformed(file: "t", line: 1, text: "R 10 0 1 00 0")) {
            _ = try MLDtypesGoldenTable.parse("R 10 0 1 00 0\n", name: "t")  // hi < lo
        }
        #expect(throws: MLDtypesGoldenTable.LoadError.malformed(file: "t", line: 1, text: "X 1 2")) {
            _ = try MLDtypesGoldenTable.parse("X 1 2\n", name: "t")
        }
        #expect(throws: MLDtypesGoldenTable.LoadError.malformed(file: "t", line: 1, text: "R 0 2 1 FFFF 1")) {
            _ = try MLDtypesGoldenTable.parse("R 0 2 1 FFFF 1\n", name: "t")  // codes beyond 16 bits
        }
        let ok = try? MLDtypesGoldenTable.parse("R 0 20000 10000 05 1\nP 7 9\n", name: "t")
        #expect(ok?.entries == [.init(input: 0, code: 5), .init(input: 0x10000, code: 6), .init(input: 0x20000, code: 7), .init(input: 7, code: 9)])
        #expect(ok?.sweep == 3)
    }
}
