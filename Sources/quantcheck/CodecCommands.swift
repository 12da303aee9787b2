import ArgumentParser
import Formats
import Foundation
import Harness
import Quant

/// Options shared by encode and decode: which format and which conversion policy.
struct CodecOptions: ParsableArguments {
    @Option(help: "Target format, e.g. e4m3fn or float8_e4m3fn.")
    var format: String

    @Option(help: "Overflow policy: sat or nonsat (OCP OFP8 §5.2.1).")
    var mode: String = OverflowPolicy.nonSaturating.rawValue

    @Option(help: "Rounding: rne, rtz, up, down or stochastic.")
    var rounding: String = RoundingRule.toNearestOrEven.rawValue

    @Option(help: "Seed of stochastic rounding (element i draws SplitMix64(seed + i·φ)).")
    var seed: UInt64 = 0

    @Option(help: "Compatibility profile: ocp or ml_dtypes.")
    var profile: String = CompatibilityProfile.ocp.rawValue

    @Option(help: "Worker threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func codec() throws -> NarrowFloatCodec {
        let f = try FloatFormat(named: format)
        guard let o = OverflowPolicy(rawValue: mode) else { throw BadOption(name: "--mode", value: mode, allowed: OverflowPolicy.allCases.map(\.rawValue)) }
        guard let r = RoundingRule(rawValue: rounding) else { throw BadOption(name: "--rounding", value: rounding, allowed: RoundingRule.allCases.map(\.rawValue)) }
        guard let p = CompatibilityProfile(rawValue: profile) else { throw BadOption(name: "--profile", value: profile, allowed: CompatibilityProfile.allCases.map(\.rawValue)) }
        return NarrowFloatCodec(format: f, policy: ConversionPolicy(rounding: r, overflow: o, profile: p))
    }
}

struct BadOption: Error, CustomStringConvertible {
    let name: String, value: String, allowed: [String]
    var description: String { DiagnosticText.oneLine("\(name) '\(value)' is not one of: \(allowed.joined(separator: ", "))") }
}

/// Reads the input array: `.npy` by default, raw little-endian with `--dtype`.
func readArray(path: String, dtype: String?) throws -> NPYArray {
    if let dtype { return try NPY.readRaw(path: path, dtype: NPYDType(name: dtype)) }
    return try NPY.read(path: path)
}

func writeArray(_ array: NPYArray, path: String, raw: Bool) throws {
    if raw { try NPY.writeRaw(array, to: path) } else { try NPY.write(array, to: path) }
}

/// `quantcheck encode`: float32/float64/float16 → codes (uint8 for formats of ≤ 8 bits, else uint16).
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Convert a float array (.npy or raw) to format codes.")

    @OptionGroup var codecOptions: CodecOptions
    @Option(help: "Input .npy (float32, float64 or float16), or a raw little-endian file with --dtype.")
    var input: String
    @Option(help: "Output file: .npy with uint8/uint16 codes (raw little-endian codes with --dtype).")
    var output: String
    @Option(help: "Raw input dtype: float32, float64 or float16 (input and output are then raw files).")
    var dtype: String?

    func run() throws {
        let codec = try codecOptions.codec()
        let array = try readArray(path: input, dtype: dtype)
        let wide = codec.format.bitWidth > 8
        let seed = codecOptions.seed, threads = codecOptions.threads
        let storage: NPYArray.Storage
        switch array.storage {
        case .float64(let xs):
            if wide {
                var out = [UInt16](repeating: 0, count: xs.count)
                try xs.withUnsafeBufferPointer { i in try out.withUnsafeMutableBufferPointer { try codec.encode(i, into: $0, seed: seed, threads: threads) } }
                storage = .uint16(out)
            } else {
                var out = [UInt8](repeating: 0, count: xs.count)
                try xs.withUnsafeBufferPointer { i in try out.withUnsafeMutableBufferPointer { try codec.encode(i, into: $0, seed: seed, threads: threads) } }
                storage = .uint8(out)
            }
        case .float32, .float16:
            let xs = try array.float32()  // Float16 widens exactly
            storage = wide ? .uint16(try codec.encodeWide(xs, seed: seed, threads: threads))
                : .uint8(try codec.encode(xs, seed: seed, threads: threads))
        case .uint8, .uint16:
            throw BadOption(name: "input dtype", value: array.dtype.descr, allowed: ["float16", "float32", "float64"])
        }
        try writeArray(NPYArray(storage, shape: array.shape), path: output, raw: dtype != nil)
    }
}

/// `quantcheck decode`: codes → float32 (exact).
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Convert format codes (.npy uint8/uint16, or raw) to float32 exactly.")

    @OptionGroup var codecOptions: CodecOptions
    @Option(help: "Input .npy of uint8/uint16 codes, or a raw file with --dtype uint8|uint16.")
    var input: String
    @Option(help: "Output float32 .npy (raw little-endian with --dtype).")
    var output: String
    @Option(help: "Raw input dtype: uint8 or uint16.")
    var dtype: String?

    func run() throws {
        let codec = try codecOptions.codec()
        let array = try readArray(path: input, dtype: dtype)
        let values: [Float]
        switch array.storage {
        case .uint8(let c): values = try codec.decode(c, threads: codecOptions.threads)
        case .uint16(let c): values = try codec.decode(c, threads: codecOptions.threads)
        default: throw BadOption(name: "input dtype", value: array.dtype.descr, allowed: ["uint8", "uint16"])
        }
        try writeArray(NPYArray(.float32(values), shape: array.shape), path: output, raw: dtype != nil)
    }
}
