import Foundation
import Testing
import Conformance
import Formats
import Harness
import Quant
@testable import FileHost

/// Files as another framework writes them. Right outputs come from the production codec (the
/// oracle judges them); the wrong ones reproduce the field bugs of peers
/// (onnxruntime 1.32 `Cast`, gfloat 0.5.2; README "Check another framework from files").
enum Files {
    static let directory: String = {
        let d = NSTemporaryDirectory() + "quantcheck-filehost-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    static func path(_ name: String) -> String { "\(directory)/\(name)" }

    static func write(_ storage: NPYArray.Storage, _ name: String) throws -> String {
        let p = path(name)
        try NPY.write(try NPYArray(storage), to: p)
        return p
    }

    static func codes(_ codes: [UInt16], format: FloatFormat, _ name: String) throws -> String {
        try write(format.bitWidth <= 8 ? .uint8(codes.map { UInt8($0) }) : .uint16(codes), name)
    }

    static func host(
        _ format: FloatFormat, _ policy: ConversionPolicy = ConversionPolicy(), nan: NaNMatching = .canonical,
        inputs: String? = nil, outputs: String? = nil, f32: String? = nil, patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        f16: String? = nil, decoded: String? = nil
    ) throws -> FileHost {
        try FileHost(FileHostConfiguration(
            format: format, policy: policy, nanMatching: nan, inputs: inputs, outputs: outputs, float32Codes: f32,
            float32Patterns: patterns, float16Codes: f16, decodedValues: decoded))
    }
}

private let nonsat = ConversionPolicy(overflow: .nonSaturating)

@Suite("File host: pairs")
struct FileHostPairTests {
    /// Float32 inputs around E4M3FN's overflow threshold and the [480, 496) range onnxruntime
    /// 1.32 maps to 448 under saturate=0.
    static let overflowInputs: [Float] = stride(from: Float(440), through: 520, by: 0.5).flatMap { [$0, $0.nextUp, -$0] }

    @Test func rightPairsPass() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn, policy: nonsat)
        let xs = Self.overflowInputs
        let host = try Files.host(.e4m3fn, nonsat, inputs: Files.write(.float32(xs), "ok-in.npy"),
                                  outputs: Files.codes(xs.map(codec.encode), format: .e4m3fn, "ok-out.npy"))
        let r = try GivenInputsSuite.run(host, inputs: try #require(host.suppliedInputs), threads: 2)
        #expect(r.passed && r.covered == UInt64(xs.count) && r.mismatches == 0)
    }

    /// Negative control: onnxruntime's E4M3FN saturate=0 bug, [480, 496) → 0x7E (448).
    @Test func overflowToMaxUnderNonsatFails() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn, policy: nonsat)
        let xs = Self.overflowInputs
        let wrong = xs.map { x -> UInt16 in
            let a = abs(x)
            return a >= 480 && a < 496 ? (x < 0 ? 0xFE : 0x7E) : codec.encode(x)
        }
        let host = try Files.host(.e4m3fn, nonsat, nan: .anyNaN, inputs: Files.write(.float32(xs), "ort-in.npy"),
                                  outputs: Files.codes(wrong, format: .e4m3fn, "ort-out.npy"))
        let r = try GivenInputsSuite.run(host, inputs: try #require(host.suppliedInputs), threads: 2)
        #expect(!r.passed)
        #expect(r.mismatches == UInt64(xs.filter { abs($0) >= 480 && abs($0) < 496 }.count))
        let c = try #require(r.counterexamples.first)
        #expect(c.inputBits == "0x43f00000" && c.expectedCode == "0x7f" && c.gotCode == "0x7e")
    }

    /// Negative control: onnxruntime's E5M2 saturate=0 tie 61440 → NaN (the tie rounds to 2^16,
    /// which overflows to +∞).
    @Test func e5m2TieToNaNFails() throws {
        let codec = NarrowFloatCodec(format: .e5m2, policy: nonsat)
        let xs: [Float] = [57344, 61439.996, 61440, 61440.004, -61440, 65536]
        let wrong = xs.map { abs($0) == 61440 ? ($0 < 0 ? 0xFF : 0x7F) : codec.encode($0) }
        let host = try Files.host(.e5m2, nonsat, nan: .anyNaN, inputs: Files.write(.float32(xs), "tie-in.npy"),
                                  outputs: Files.codes(wrong, format: .e5m2, "tie-out.npy"))
        let r = try GivenInputsSuite.run(host, inputs: try #require(host.suppliedInputs), threads: 1)
        #expect(!r.passed && r.mismatches == 2)
        #expect(r.counterexamples.first?.expectedCode == "0x7c")
    }

    /// Negative control: Float64 inputs rounded through Float32 first (onnxruntime 1.32, and
    /// ml_dtypes 0.6): −431.99999999999994 → −416 instead of −448 among the float64 suite's probes.
    @Test func doubleRoundingThroughFloat32FailsTheFloat64Suite() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let xs = SuiteInputs.float64(format: .e4m3fn, randomCount: 1000)
        let wrong = xs.map { codec.encode(Float($0)) }
        let host = try Files.host(.e4m3fn, inputs: Files.write(.float64(xs), "dr-in.npy"),
                                  outputs: Files.codes(wrong, format: .e4m3fn, "dr-out.npy"))
        let r = try Float64Suite.run(host, randomCount: 1000, seed: Float64Suite.seed, threads: 2)
        #expect(!r.passed && r.covered == UInt64(xs.count))
        // ml_dtypes #401: through Float32 the input becomes the tie −432 and rounds to −448; −416 is right.
        let x = -431.99999999999994
        let one = try Files.host(.e4m3fn, inputs: Files.write(.float64([x]), "dr-one-in.npy"),
                                 outputs: Files.codes([codec.encode(Float(x))], format: .e4m3fn, "dr-one-out.npy"))
        let oneInputs = try #require(one.suppliedInputs)
        let c = try #require(try GivenInputsSuite.run(one, inputs: oneInputs, threads: 1).counterexamples.first)
        #expect(c.expectedValue == "-416" && c.gotValue == "-448")
        // The same pairs with the right codes pass the float64 suite, coverage complete.
        let right = try Files.host(.e4m3fn, inputs: Files.write(.float64(xs), "dr-in2.npy"),
                                   outputs: Files.codes(xs.map(codec.encode), format: .e4m3fn, "dr-out2.npy"))
        #expect(try Float64Suite.run(right, randomCount: 1000, seed: Float64Suite.seed, threads: 2).passed)
    }

    /// Negative control: gfloat 0.5.2's E8M0 of tiny Float32 inputs (0 < x < 2^−127) gives
    /// large codes.
    @Test func e8m0TinyInputsToLargeCodesFail() throws {
        let xs: [Float] = [0x1p-149, 0x1p-130, 0x1p-128, 0x1.8p-127, 1]
        let codec = NarrowFloatCodec(format: .e8m0fnu)
        let wrong = xs.map { $0 < 0x1p-126 ? UInt16(0xFE) : codec.encode($0) }
        let host = try Files.host(.e8m0fnu, inputs: Files.write(.float32(xs), "e8-in.npy"),
                                  outputs: Files.codes(wrong, format: .e8m0fnu, "e8-out.npy"))
        let r = try GivenInputsSuite.run(host, inputs: try #require(host.suppliedInputs), threads: 1)
        #expect(!r.passed && r.mismatches == 4)
        #expect(r.counterexamples.first?.gotCode == "0xfe")
    }

    /// A suite run on pairs that lack one of its inputs fails its coverage check and names it.
    @Test func aMissingInputFailsCoverage() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        var xs = SuiteInputs.float64(format: .e4m3fn, randomCount: 100)
        let dropped = xs.remove(at: 17)
        let host = try Files.host(.e4m3fn, inputs: Files.write(.float64(xs), "miss-in.npy"),
                                  outputs: Files.codes(xs.map(codec.encode), format: .e4m3fn, "miss-out.npy"))
        let r = try Float64Suite.run(host, randomCount: 100, seed: Float64Suite.seed, threads: 1)
        #expect(!r.passed && r.mismatches == 0 && r.covered == UInt64(xs.count))
        let absent = try #require(r.parameters["absent from the files"])
        #expect(absent.hasPrefix("1 inputs"))
        #expect(absent.contains(HexFloat.hex(dropped.bitPattern, digits: 16)))
    }

    /// Two different outputs for one input are a fault of that input.
    @Test func conflictingDuplicatesAreAFault() throws {
        let xs: [Float] = [1, 2, 1]
        let host = try Files.host(.e4m3fn, inputs: Files.write(.float32(xs), "dup-in.npy"),
                                  outputs: Files.codes([0x38, 0x40, 0x39], format: .e4m3fn, "dup-out.npy"))
        let r = try GivenInputsSuite.run(host, inputs: try #require(host.suppliedInputs), threads: 1)
        #expect(!r.passed)
        #expect(r.counterexamples.contains { $0.gotCode == "protocol" && $0.gotValue.contains("0x38 and 0x39") })
    }

    /// E5M2 NaN 0x7F (onnxruntime's) for the canonical 0x7E: right under `class`, wrong under
    /// `canonical`.
    @Test(arguments: [(NaNMatching.anyNaN, true), (.sign, true), (.canonical, false)])
    func nanCodesCompareByTheClaimedRule(_ rule: NaNMatching, passes: Bool) throws {
        let xs: [Float] = [.nan, -.nan, 1]
        let host = try Files.host(.e5m2, nan: rule, inputs: Files.write(.float32(xs), "nan-in-\(rule).npy"),
                                  outputs: Files.codes([0x7F, 0xFF, 0x3C], format: .e5m2, "nan-out-\(rule).npy"))
        let r = try GivenInputsSuite.run(host, inputs: try #require(host.suppliedInputs), threads: 1)
        #expect(r.passed == passes)
        #expect(r.parameters["nan"] == rule.rawValue)
    }

    @Test func mismatchedCountsAreRefused() throws {
        let i = try Files.write(.float32([1, 2, 3]), "cnt-in.npy")
        let o = try Files.codes([0x38, 0x40], format: .e4m3fn, "cnt-out.npy")
        #expect(throws: FileHostError.countMismatch(inputs: i, inputCount: 3, outputs: o, outputCount: 2)) {
            try Files.host(.e4m3fn, inputs: i, outputs: o)
        }
        #expect(throws: FileHostError.notInputs(path: o, dtype: "|u1")) { try Files.host(.e4m3fn, inputs: o, outputs: o) }
        #expect(throws: FileHostError.noFiles) { try Files.host(.e4m3fn) }
    }
}

@Suite("File host: exhaustive-order files")
struct FileHostExhaustiveTests {
    /// One shard of 2^20 patterns around 1.0.
    static let shard: Range<UInt64> = 0x3F80_0000..<0x3F90_0000

    static func shardCodes(_ format: FloatFormat, policy: ConversionPolicy = ConversionPolicy()) -> [UInt16] {
        let codec = NarrowFloatCodec(format: format, policy: policy)
        return shard.map { codec.encode(Float(bitPattern: UInt32($0))) }
    }

    @Test func aRightShardFilePasses() throws {
        let path = try Files.codes(Self.shardCodes(.e4m3fn), format: .e4m3fn, "shard.npy")
        let host = try Files.host(.e4m3fn, f32: path, patterns: Self.shard)
        let r = try ExhaustiveFloat32Suite.run(host, patterns: Self.shard, threads: 2)
        #expect(r.passed && r.covered == UInt64(Self.shard.count))
    }

    /// Raw files (no .npy header) hold codes of the format's storage width.
    @Test func aRawShardFilePasses() throws {
        let path = Files.path("shard.raw")
        try NPY.writeRaw(try NPYArray(.uint16(Self.shardCodes(.binary16))), to: path)
        let host = try Files.host(.binary16, f32: path, patterns: Self.shard)
        #expect(try ExhaustiveFloat32Suite.run(host, patterns: Self.shard, threads: 2).passed)
    }

    /// Negative control: one wrong code in the middle of the shard is found, with its input.
    @Test func aWrongCodeInTheShardIsFound() throws {
        var codes = Self.shardCodes(.e4m3fn)
        codes[0x4_0000] ^= 1
        let path = try Files.codes(codes, format: .e4m3fn, "shard-wrong.npy")
        let r = try ExhaustiveFloat32Suite.run(try Files.host(.e4m3fn, f32: path, patterns: Self.shard), patterns: Self.shard, threads: 2)
        #expect(!r.passed && r.mismatches == 1)
        #expect(r.counterexamples.first?.inputBits == "0x3f840000")
    }

    /// A file one code short does not cover the range: the case fails.
    @Test func aShortFileFails() throws {
        let path = try Files.codes(Array(Self.shardCodes(.e4m3fn).dropLast()), format: .e4m3fn, "shard-short.npy")
        let host = try Files.host(.e4m3fn, f32: path, patterns: Self.shard)
        let r = ConversionSuite.run([.exhaustiveFloat32], on: host, patterns: Self.shard, threads: 2)
        #expect(r.count == 1 && !r[0].passed)
        #expect(r[0].parameters["error"]?.contains("outside the implementation's domain") == true)
    }

    /// A uint16 file for an 8-bit format holding a value that is no code is a fault of that
    /// input, not a truncated code.
    @Test func aValueThatIsNoCodeIsAFault() throws {
        var codes = Self.shardCodes(.e4m3fn)
        codes[5] = 0x1238
        let path = try Files.write(.uint16(codes), "shard-u16.npy")
        let r = try ExhaustiveFloat32Suite.run(try Files.host(.e4m3fn, f32: path, patterns: Self.shard), patterns: Self.shard, threads: 2)
        #expect(!r.passed && r.mismatches == 1)
        #expect(r.counterexamples.first?.gotValue.contains("0x1238") == true)
    }

    /// All 65,536 binary16 inputs from a file, right and with one wrong code.
    @Test func halfInputFiles() throws {
        let codec = NarrowFloatCodec(format: .e5m2)
        var codes = (0...UInt16.max).map { codec.encode(float16Bits: $0) }
        let right = try Files.codes(codes, format: .e5m2, "f16.npy")
        #expect(try HalfInputSuite.run(kind: .float16, try Files.host(.e5m2, f16: right)).passed)
        codes[0x3C01] = 0x3D
        let wrong = try Files.codes(codes, format: .e5m2, "f16-wrong.npy")
        let r = try HalfInputSuite.run(kind: .float16, try Files.host(.e5m2, f16: wrong))
        #expect(!r.passed && r.mismatches == 1 && r.counterexamples.first?.inputBits == "0x3c01")
    }

    /// Decoded values: right, and with one wrong value.
    @Test func decodedValueFiles() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        var values = (0..<256).map { codec.decodeFloat(UInt16($0)) }
        let right = try Files.write(.float32(values), "dec.npy")
        #expect(try DecodeSuite.run(try Files.host(.e4m3fn, decoded: right), entries: [.decode]).passed)
        values[0x12] = values[0x13]
        let wrong = try Files.write(.float32(values), "dec-wrong.npy")
        let r = try DecodeSuite.run(try Files.host(.e4m3fn, decoded: wrong), entries: [.decode])
        #expect(!r.passed && r.mismatches == 1)
    }
}
