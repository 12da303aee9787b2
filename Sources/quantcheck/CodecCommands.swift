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

    @Option(help: "Compatibility profile: ocp, ml_dtypes-0.6, ml_dtypes-0.7, or ml_dtypes (the newest release, = ml_dtypes-0.7).")
    var profile: String = CompatibilityProfile.ocp.rawValue

    @Option(help: "Worker threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func codec() throws -> NarrowFloatCodec {
        let f = try FloatFormat(named: format)
        guard let o = OverflowPolicy(rawValue: mode) else { throw BadOption(name: "--mode", value: mode, allowed: OverflowPolicy.allCases.map(\.rawValue)) }
        guard let r = RoundingRule(rawValue: rounding) else { throw BadOption(name: "--rounding", value: rounding, allowed: RoundingRule.allCases.map(\.rawValue)) }
        guard let p = CompatibilityProfile(name: profile) else { throw BadOption(name: "--profile", value: profile, allowed: CompatibilityProfile.acceptedNames) }
        return NarrowFloatCodec(format: f, policy: ConversionPolicy(rounding: r, overflow: o, profile: p))
    }
}

struct BadOption: Error, CustomStringConvertible {
    let name: String, value: String, allowed: [String]
    var description: String { DiagnosticText.oneLine("\(name) '\(value)' is not one of: \(allowed.joined(separator: ", "))") }
}

/// Elements converted per step of `encode`/`decode`: the memory both use is a few buffers of
/// this many elements, whatever the size of the file (2 Mi: 16 MiB of Float64 input).
let streamChunkElements = 1 << 21

/// `quantcheck encode`: float32/float64/float16 → codes (uint8 for formats of ≤ 8 bits, else uint16).
///
/// Streams: the input is read, converted and written a chunk at a time (`NPYStreamReader`,
/// `NPYStreamWriter`), so memory stays bounded for files of any size and the output appears,
/// complete, only when every element is converted.
struct EncodeCommand: ParsableCommand, ConversionFileHelp {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Convert a float array (.npy or raw) to format codes.")

    static let inputHelp = "Input .npy (float32, float64, float16, or bfloat16 as ml_dtypes saves it: <V2), or a raw little-endian file with --dtype."
    static let outputHelp = "Output file: .npy with uint8/uint16 codes (raw little-endian codes with --dtype)."
    static let dtypeHelp = "Raw input dtype: float32, float64, float16 or bfloat16 (input and output are then raw files)."

    @OptionGroup var codecOptions: CodecOptions
    @OptionGroup var files: ConversionFiles<EncodeCommand>

    func run() throws {
        let (codec, reader) = try files.open(
            codecOptions, accepted: [(.float16, "float16"), (.bfloat16, "bfloat16"), (.float32, "float32"), (.float64, "float64")])
        let inType = reader.dtype
        let outType: NPYDType = codec.format.bitWidth > 8 ? .uint16 : .uint8
        let writer = try NPYStreamWriter(path: files.output, dtype: outType, shape: reader.shape, raw: files.dtype != nil)
        let chunk = streamChunkElements
        let inputBuffer = try ScratchBuffer(byteCount: chunk * inType.itemSize)
        let widened = try ScratchBuffer(byteCount: inType.itemSize == 2 ? chunk * 4 : 0)
        let outputBuffer = try ScratchBuffer(byteCount: chunk * outType.itemSize)
        let seed = codecOptions.seed, threads = codecOptions.threads
        var first: UInt64 = 0
        while reader.remaining > 0 {
            let n = try reader.read(into: inputBuffer.pointer, capacity: chunk)
            switch inType {
            case .float64:
                let xs = UnsafeBufferPointer(start: inputBuffer.pointer.assumingMemoryBound(to: Double.self), count: n)
                try encode(codec, xs, outType, outputBuffer.pointer, n, seed: seed, first: first, threads: threads)
            default:
                var xs = UnsafeBufferPointer(start: inputBuffer.pointer.assumingMemoryBound(to: Float.self), count: n)
                if inType.itemSize == 2 {
                    // Every binary16 and bfloat16 value is a Float32: widen exactly, then take
                    // the Float32 path.
                    let bits = inputBuffer.pointer.assumingMemoryBound(to: UInt16.self)
                    let wide = widened.pointer.assumingMemoryBound(to: Float.self)
                    if inType == .float16 {
                        for i in 0..<n { wide[i] = NPY.float(fromHalfBits: bits[i]) }
                    } else {
                        for i in 0..<n { wide[i] = Float(bitPattern: UInt32(bits[i]) << 16) }
                    }
                    xs = UnsafeBufferPointer(start: wide, count: n)
                }
                try encode(codec, xs, outType, outputBuffer.pointer, n, seed: seed, first: first, threads: threads)
            }
            try writer.append(elements: outputBuffer.pointer, count: n)
            first += UInt64(n)
        }
        try writer.commit()
    }

    private func encode(
        _ codec: NarrowFloatCodec, _ xs: UnsafeBufferPointer<Float>, _ outType: NPYDType, _ out: UnsafeMutableRawPointer,
        _ n: Int, seed: UInt64, first: UInt64, threads: Int
    ) throws {
        if outType == .uint16 {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt16.self), count: n), seed: seed, firstIndex: first, threads: threads)
        } else {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt8.self), count: n), seed: seed, firstIndex: first, threads: threads)
        }
    }

    private func encode(
        _ codec: NarrowFloatCodec, _ xs: UnsafeBufferPointer<Double>, _ outType: NPYDType, _ out: UnsafeMutableRawPointer,
        _ n: Int, seed: UInt64, first: UInt64, threads: Int
    ) throws {
        if outType == .uint16 {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt16.self), count: n), seed: seed, firstIndex: first, threads: threads)
        } else {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt8.self), count: n), seed: seed, firstIndex: first, threads: threads)
        }
    }
}

/// The `--dtype` of a raw input, parsed (nil: the input is `.npy`).
func rawDType(_ name: String?) throws -> NPYDType? {
    guard let name else { return nil }
    return try NPYDType(name: name)
}

/// The help texts of a command's `ConversionFiles` options.
protocol ConversionFileHelp {
    static var inputHelp: String { get }
    static var outputHelp: String { get }
    static var dtypeHelp: String { get }
}

/// The file options `encode` and `decode` share (`--input`, `--output`, `--dtype`), each
/// command with its own help text.
struct ConversionFiles<Help: ConversionFileHelp>: ParsableArguments {
    @Option(help: ArgumentHelp(Help.inputHelp)) var input: String
    @Option(help: ArgumentHelp(Help.outputHelp)) var output: String
    @Option(help: ArgumentHelp(Help.dtypeHelp)) var dtype: String?

    /// The codec of `options` and the opened input (`.npy`, or raw with `--dtype`), whose
    /// element type must be one of `accepted` (each with the name the refusal lists).
    func open(
        _ options: CodecOptions, accepted: [(type: NPYDType, name: String)]
    ) throws -> (NarrowFloatCodec, NPYStreamReader) {
        let codec = try options.codec()
        let reader = try NPYStreamReader(path: input, rawDType: try rawDType(dtype))
        guard accepted.contains(where: { $0.type == reader.dtype }) else {
            throw BadOption(name: "input dtype", value: reader.dtype.descr, allowed: accepted.map(\.name))
        }
        return (codec, reader)
    }
}

/// `quantcheck decode`: codes → float32 (exact), streamed a chunk at a time like `encode`.
struct DecodeCommand: ParsableCommand, ConversionFileHelp {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Convert format codes (.npy uint8/uint16, or raw) to float32 exactly.")

    static let inputHelp = "Input .npy of uint8/uint16 codes (or <V1, as np.save writes ml_dtypes float8 arrays), or a raw file with --dtype uint8|uint16."
    static let outputHelp = "Output float32 .npy (raw little-endian with --dtype)."
    static let dtypeHelp = "Raw input dtype: uint8 or uint16."

    @OptionGroup var codecOptions: CodecOptions
    @OptionGroup var files: ConversionFiles<DecodeCommand>

    func run() throws {
        let (codec, reader) = try files.open(codecOptions, accepted: [(.uint8, "uint8"), (.uint16, "uint16")])
        let inType = reader.dtype
        let writer = try NPYStreamWriter(path: files.output, dtype: .float32, shape: reader.shape, raw: files.dtype != nil)
        let chunk = streamChunkElements
        let inputBuffer = try ScratchBuffer(byteCount: chunk * inType.itemSize)
        let outputBuffer = try ScratchBuffer(byteCount: chunk * 4)
        var first = 0
        while reader.remaining > 0 {
            let n = try reader.read(into: inputBuffer.pointer, capacity: chunk)
            let out = UnsafeMutableBufferPointer(start: outputBuffer.pointer.assumingMemoryBound(to: Float.self), count: n)
            do {
                if inType == .uint8 {
                    try codec.decode(UnsafeBufferPointer(start: inputBuffer.pointer.assumingMemoryBound(to: UInt8.self), count: n),
                                     into: out, threads: codecOptions.threads)
                } else {
                    try codec.decode(UnsafeBufferPointer(start: inputBuffer.pointer.assumingMemoryBound(to: UInt16.self), count: n),
                                     into: out, threads: codecOptions.threads)
                }
            } catch {
                // Positions in the file, not in the chunk.
                if case .invalidCode(let index, let code, let format) = error as CodecError {
                    throw CodecError.invalidCode(index: first + index, code: code, format: format)
                }
                throw error
            }
            try writer.append(elements: outputBuffer.pointer, count: n)
            first += n
        }
        try writer.commit()
    }
}
