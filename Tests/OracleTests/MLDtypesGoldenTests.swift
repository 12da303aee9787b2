import Foundation
import Testing
import TestSupport
import Formats
@testable import Oracle

/// The oracle under each ml_dtypes profile against that release's recorded output
/// (`Golden/mldtypes/<release>/<format>/{f32,f64,f16,bf16}.txt`, see its README).
enum MLDtypesGolden {
    /// The ml_dtypes profiles, each read from the directory of its release (`0.6`, `0.7`).
    static let profiles: [CompatibilityProfile] = CompatibilityProfile.allCases.filter { $0.mlDtypesRelease != nil }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Golden/mldtypes")

    struct Case { let input: OracleInput; let code: UInt16; let line: Int }

    /// Parses one golden file. With `sampled`, a run contributes its first, middle and last
    /// input only (the debug unit test); otherwise every input.
    static func cases(release: MLDtypesRelease, format: FloatFormat, file: String, sampled: Bool) throws -> [Case] {
        let url = root.appendingPathComponent(release.shortVersion).appendingPathComponent(format.name).appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let text = try String(contentsOf: url, encoding: .utf8)
        func input(_ bits: UInt64) -> OracleInput {
            switch file {
            case "f32.txt": return .float32(bits: UInt32(bits))
            case "f64.txt": return .float64(bits: bits)
            case "f16.txt": return .binary16(bits: UInt16(bits))
            default: return .bfloat16(bits: UInt16(bits))
            }
        }
        var out: [Case] = []
        for (i, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let f = line.split(separator: " ")
            if f.first == "P", f.count == 3 {
                out.append(Case(input: input(UInt64(f[1], radix: 16)!), code: UInt16(f[2], radix: 16)!, line: i + 1))
            } else if f.first == "R", f.count == 6 {
                let lo = UInt64(f[1], radix: 16)!, hi = UInt64(f[2], radix: 16)!, step = UInt64(f[3], radix: 16)!
                let code = Int(f[4], radix: 16)!, delta = Int(f[5], radix: 16)!
                let n = (hi - lo) / step
                let picks: [UInt64] = sampled ? Array(Set([0, n / 2, n])).sorted() : Array(0...n)
                for k in picks {
                    out.append(Case(input: input(lo + k * step), code: UInt16(code + Int(k) * delta), line: i + 1))
                }
            } else {
                Issue.record("unparsed line \(i + 1) of \(format.name)/\(file): \(line)")
            }
        }
        return out
    }

    /// Cases where the oracle disagrees. For the binary16 target, NaN inputs are compared by
    /// class only (numpy propagates NaN payloads, which the profile does not model).
    static func mismatches(format: FloatFormat, sampled: Bool, profile: CompatibilityProfile) throws -> (checked: Int, bad: [String]) {
        let release = profile.mlDtypesRelease!
        let oracle = try RoundingOracle(format: format, policy: ConversionPolicy(profile: profile))
        let scratch = GridScratch()
        var checked = 0
        var bad: [String] = []
        for file in ["f32.txt", "f64.txt", "f16.txt", "bf16.txt"] {
            for c in try cases(release: release, format: format, file: file, sampled: sampled) {
                checked += 1
                let got = oracle.trace(c.input, scratch: scratch).code
                if format == .binary16 && c.input.exactValue.isNaN {
                    if ExactValueTable.value(of: got, in: format).codeClass != .nan { bad.append("\(file):\(c.line) \(c.input)") }
                } else if got != c.code {
                    bad.append("\(file):\(c.line) \(c.input) expected \(hex(c.code)) got \(hex(got))")
                }
            }
        }
        return (checked, bad)
    }
}

@Suite struct MLDtypesProfileGolden {
    @Test(arguments: MLDtypesGolden.profiles, FloatFormat.all)
    func oracleReproducesMLDtypes(_ profile: CompatibilityProfile, _ f: FloatFormat) throws {
        let (checked, bad) = try MLDtypesGolden.mismatches(format: f, sampled: true, profile: profile)
        #expect(checked > 0, "no golden data for \(f.name)")
        #expect(bad.isEmpty, "\(profile.rawValue) \(f.name): \(bad.count) mismatches, e.g. \(bad.prefix(5))")
    }

    /// Negative control: the oracle under one release's rules disagrees with the other
    /// release's tables wherever the rules differ (sampled runs: at least the probes).
    @Test(arguments: [(CompatibilityProfile.mlDtypes0_6, MLDtypesRelease.v0_7), (.mlDtypes0_7, .v0_6)])
    func otherReleaseIsCaught(_ profile: CompatibilityProfile, _ tables: MLDtypesRelease) throws {
        for f in [FloatFormat.e4m3fn, .e8m0fnu, .bfloat16] {
            let oracle = try RoundingOracle(format: f, policy: ConversionPolicy(profile: profile))
            let scratch = GridScratch()
            let wrong = try MLDtypesGolden.cases(release: tables, format: f, file: "f64.txt", sampled: true)
                .filter { oracle.trace($0.input, scratch: scratch).code != $0.code }
            #expect(!wrong.isEmpty, "\(profile.rawValue) on \(tables.shortVersion)/\(f.name)/f64.txt")
        }
    }

    /// The rules of `ProfileRules` per release, as named facts from the golden tables.
    @Test func namedFacts() throws {
        let e8 = try RoundingOracle(format: .e8m0fnu, policy: ConversionPolicy(profile: .mlDtypes0_6))
        #expect(e8.code(forFloat32Bits: 0x0040_0000) == 0x00)            // 2^-127
        #expect(e8.code(forFloat32Bits: 0x0040_0001) == 0x01)            // just above 2^-127
        #expect(e8.code(forFloat32: 0x1.8p-127) == 0x01)
        #expect(e8.code(forFloat32: 1.5) == 0x80 && e8.code(forFloat32: 3) == 0x81)
        #expect(e8.code(forFloat32Bits: 0x7F3F_FFFF) == 0xFE)
        #expect(e8.code(forFloat32: 0x1.8p127) == 0xFF)
        #expect(e8.code(forFloat64: 1e-50) == 0xFF)                      // Float32 zero → NaN
        let ocp8 = try RoundingOracle(format: .e8m0fnu)
        #expect(ocp8.code(forFloat64: 1e-50) == 0x00)
        let bf = try RoundingOracle(format: .bfloat16, policy: ConversionPolicy(profile: .mlDtypes0_6))
        #expect(bf.code(forFloat64: 1 + 0x1p-8 + 0x1p-40) == 0x3F80)
        for p in MLDtypesGolden.profiles {
            let h = try RoundingOracle(format: .binary16, policy: ConversionPolicy(profile: p))
            #expect(h.code(forFloat64: 1 + 0x1p-11 + 0x1p-40) == 0x3C01)  // numpy: no Float32 step
        }
        // 0.7.0: Float64 rounded once; Float32 subnormals to nearest; ties still up.
        let e8v7 = try RoundingOracle(format: .e8m0fnu, policy: ConversionPolicy(profile: .mlDtypes0_7))
        #expect(e8v7.code(forFloat64: 1e-50) == 0x00)
        #expect(e8v7.code(forFloat32Bits: 0x0040_0001) == 0x00 && e8v7.code(forFloat32Bits: 0x005F_FFFF) == 0x00)
        #expect(e8v7.code(forFloat32Bits: 0x0060_0000) == 0x01)           // 1.5·2^-127: the tie goes up
        #expect(e8v7.code(forFloat32: 1.5) == 0x80 && e8v7.code(forFloat32: 3) == 0x81 && e8v7.code(forFloat32: 0x1.8p127) == 0xFF)
        let bfv7 = try RoundingOracle(format: .bfloat16, policy: ConversionPolicy(profile: .mlDtypes0_7))
        #expect(bfv7.code(forFloat64: 1 + 0x1p-8 + 0x1p-40) == 0x3F81)
    }
}
