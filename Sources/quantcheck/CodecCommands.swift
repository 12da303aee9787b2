import ArgumentParser
import Formats
import Foundation
import Harness
import Quant

/// What `encode` and `decode` both use: the format of the codes and the worker threads.
struct FormatOptions: ParsableArguments {
    @Option(help: "Target format, e.g. e4m3fn or float8_e4m3fn.")
    var format: String

    @Option(help: "Worker threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
}

/// The conversion policy: `encode` only. Decoding is exact — every code has one value whatever
/// the policy — so `decode` has none of these options, and refuses them (exit 2, one line).
struct EncodePolicyOptions: ParsableArguments {
    @Option(help: "Overflow policy: sat or nonsat (OCP OFP8 §5.2.1).")
    var mode: String = OverflowPolicy.nonSaturating.rawValue

    @Option(help: "Rounding: rne, rtz, up, down or stochastic.")
    var rounding: String = RoundingRule.toNearestOrEven.rawValue

    @Option(help: "Seed of stochastic rounding (element i draws SplitMix64(seed + i·φ)); only with --rounding stochastic (default 0).")
    var seed: UInt64?

    @Option(help: "Compatibility profile: ocp, ml_dtypes-0.6, ml_dtypes-0.7, or ml_dtypes (the newest release, = ml_dtypes-0.7).")
    var profile: String = CompatibilityProfile.ocp.rawValue

    func policy() throws -> ConversionPolicy {
        guard let o = OverflowPolicy(rawValue: mode) else { throw BadOption(name: "--mode", value: mode, allowed: OverflowPolicy.allCases.map(\.rawValue)) }
        guard let r = RoundingRule(rawValue: rounding) else { throw BadOption(name: "--rounding", value: rounding, allowed: RoundingRule.allCases.map(\.rawValue)) }
        guard let p = CompatibilityProfile(name: profile) else { throw BadOption(name: "--profile", value: profile, allowed: CompatibilityProfile.acceptedNames) }
        // A seed only changes stochastic rounding: given with another rule it would be silently
        // ignored, which hides a mistaken command line.
        if seed != nil, r != .stochastic {
            throw CLIUsageError("--seed applies only to --rounding stochastic (rounding is \(r.rawValue))")
        }
        return ConversionPolicy(rounding: r, overflow: o, profile: p)
    }
}

struct BadOption: Error, CustomStringConvertible {
    let name: String, value: String, allowed: [String]
    var description: String { DiagnosticText.oneLine("\(name) '\(value)' is not one of: \(allowed.joined(separator: ", "))") }
}

/// `quantcheck encode`: float32/float64/float16/bfloat16 → codes (uint8 for formats of ≤ 8
/// bits, else uint16).
///
/// Streams (`FileConversion`): the input is read, converted and written a piece at a time, so
/// memory stays bounded for files of any size, and a file output appears, complete, only when
/// every element is converted.
struct EncodeCommand: ParsableCommand, ConversionFileHelp {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Convert a float array (.npy or raw) to format codes.")

    static let inputHelp = "Input .npy (float32, float64, float16, or bfloat16 as ml_dtypes saves it: <V2), or a raw little-endian file with --dtype; '-' reads standard input."
    static let outputHelp = "Output file: .npy with uint8/uint16 codes (raw little-endian codes with --dtype); '-' writes standard output."
    static let dtypeHelp = "Raw input dtype: float32, float64, float16 or bfloat16 (input and output are then raw files)."

    @OptionGroup var formatOptions: FormatOptions
    @OptionGroup var policyOptions: EncodePolicyOptions
    @OptionGroup var files: ConversionFiles<EncodeCommand>

    func run() throws {
        let codec = NarrowFloatCodec(format: try FloatFormat(named: formatOptions.format), policy: try policyOptions.policy())
        let source = try files.open(accepted: FileConversion.encodeInputs)
        try FileConversion.encode(
            source, to: files.output, raw: files.dtype != nil, codec: codec, seed: policyOptions.seed ?? 0,
            threads: formatOptions.threads, durability: files.durability)
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

/// The file options `encode` and `decode` share (`--input`, `--output`, `--dtype`, `--sync`),
/// each command with its own help text.
struct ConversionFiles<Help: ConversionFileHelp>: ParsableArguments {
    @Option(help: ArgumentHelp(Help.inputHelp)) var input: String
    @Option(help: ArgumentHelp(Help.outputHelp)) var output: String
    @Option(help: ArgumentHelp(Help.dtypeHelp)) var dtype: String?
    @Flag(help: "fsync the output before it replaces the old file, so it also survives a power loss (slower: one device flush).")
    var sync = false

    var durability: Durability { sync ? .crashSafe : .processSafe }

    /// The opened input (`.npy`, or raw with `--dtype`; `-` is standard input), whose element
    /// type must be one of `accepted` (each with the name the refusal lists).
    func open(accepted: [(type: NPYDType, name: String)]) throws -> any NPYElementSource {
        if sync, try OutputTarget.resolve(output).isStream {
            throw CLIUsageError("--sync applies to a file output; '\(output)' is a stream, written in place")
        }
        let source = try NPYInput.open(input, rawDType: try rawDType(dtype))
        guard accepted.contains(where: { $0.type == source.dtype }) else {
            throw BadOption(name: "input dtype", value: source.dtype.descr, allowed: accepted.map(\.name))
        }
        return source
    }
}

/// The policy options of `encode`, hidden in `decode` so that giving one there is refused with
/// a line that says why (ArgumentParser's own "Unknown option '--seed'" would suggest
/// '--sync' instead).
struct EncodeOnlyOptions: ParsableArguments {
    @Option(help: .hidden) var mode: String?
    @Option(help: .hidden) var rounding: String?
    @Option(help: .hidden) var seed: String?
    @Option(help: .hidden) var profile: String?

    func refuse() throws {
        let given = [("--mode", mode), ("--rounding", rounding), ("--seed", seed), ("--profile", profile)]
        if let (name, _) = given.first(where: { $0.1 != nil }) {
            throw CLIUsageError("\(name) does not apply to decode: decoding is exact (every code has one value, whatever the encode policy)")
        }
    }
}

/// `quantcheck decode`: codes → float32 (exact), streamed a piece at a time like `encode`.
struct DecodeCommand: ParsableCommand, ConversionFileHelp {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Convert format codes (.npy uint8/uint16, or raw) to float32 exactly.",
        discussion: "Decoding is exact (every code has one value), so the encode policy options --mode, --rounding, --seed and --profile do not apply here.")

    static let inputHelp = "Input .npy of uint8/uint16 codes (or <V1, as np.save writes ml_dtypes float8 arrays), or a raw file with --dtype uint8|uint16; '-' reads standard input."
    static let outputHelp = "Output float32 .npy (raw little-endian with --dtype); '-' writes standard output."
    static let dtypeHelp = "Raw input dtype: uint8 or uint16."

    @OptionGroup var formatOptions: FormatOptions
    @OptionGroup var files: ConversionFiles<DecodeCommand>
    @OptionGroup var refused: EncodeOnlyOptions

    func run() throws {
        try refused.refuse()
        let codec = NarrowFloatCodec(format: try FloatFormat(named: formatOptions.format))
        let source = try files.open(accepted: FileConversion.decodeInputs)
        try FileConversion.decode(
            source, to: files.output, raw: files.dtype != nil, codec: codec,
            threads: formatOptions.threads, durability: files.durability)
    }
}
