import ArgumentParser
import Conformance
import Formats
import Foundation
import Harness

/// `quantcheck inputs`: writes exactly the inputs a suite checks as `.npy`, so that another
/// framework computes its outputs in a few lines and `conform` checks them (README, "Check
/// another framework from files").
struct InputsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inputs",
        abstract: "Write the inputs a suite checks as .npy, for a framework to convert and 'conform' to check.",
        discussion: """
            Sets: \(InputSet.allCases.map { "\($0.rawValue) — \($0.summary)" }.joined(separator: "; ")).
            """)

    @Option(help: "Input set: \(InputSet.allCases.map(\.rawValue).joined(separator: ", ")).")
    var set: String

    @Option(help: "Format whose suites the inputs are for (float64, boundaries, roundtrip, decode).")
    var format: String?

    @Option(help: "Overflow policy (boundaries only): sat or nonsat.")
    var mode: String?

    @Option(help: "Rounding (boundaries only): rne, rtz, up or down.")
    var rounding: String?

    @Option(help: "Compatibility profile (boundaries only): ocp or ml_dtypes.")
    var profile: String?

    @Option(help: "Seeded random doubles after the midpoints (float64 only; default: what conform's float64 suite checks).")
    var random: Int?

    @Option(help: "Only shard K/N of the Float32 patterns (exhaustive-f32 only).")
    var shard: String?

    @Option(help: "Output .npy (written atomically).")
    var output: String

    enum InputSet: String, CaseIterable {
        case exhaustiveFloat32 = "exhaustive-f32"
        case exhaustiveFloat16 = "exhaustive-f16"
        case exhaustiveBFloat16 = "exhaustive-bf16"
        case float64
        case boundaries
        case roundtrip
        case decode

        var summary: String {
            switch self {
            case .exhaustiveFloat32: return "every Float32 pattern (of --shard) in order, float32; check the codes with conform --f32-codes"
            case .exhaustiveFloat16: return "the 65,536 binary16 patterns, float16; conform --f16-codes"
            case .exhaustiveBFloat16: return "the 65,536 bfloat16 patterns, bfloat16 (<V2); conform --bf16-codes"
            case .float64: return "the float64 suite's midpoints ±1, ±2 ulps and random doubles, float64; conform --inputs/--outputs --suite float64"
            case .boundaries: return "every value and midpoint of the format ±1 ulp under the policy, float32; conform --inputs/--outputs"
            case .roundtrip: return "the exact value of every code, float32; conform --inputs/--outputs --suite roundtrip"
            case .decode: return "every code, uint8/uint16; conform --decoded"
            }
        }

        var needsFormat: Bool { ![.exhaustiveFloat32, .exhaustiveFloat16, .exhaustiveBFloat16].contains(self) }
    }

    func run() throws {
        guard let set = InputSet(rawValue: self.set) else {
            throw BadOption(name: "--set", value: self.set, allowed: InputSet.allCases.map(\.rawValue))
        }
        // Options a set does not use are refused rather than ignored.
        let policyOptions = [("--mode", mode), ("--rounding", rounding), ("--profile", profile)]
        for (name, value) in policyOptions + [("--random", random.map(String.init)), ("--shard", shard), ("--format", format)] {
            guard value != nil else { continue }
            let applies: Bool
            switch name {
            case "--random": applies = set == .float64
            case "--shard": applies = set == .exhaustiveFloat32
            case "--format": applies = set.needsFormat
            default: applies = set == .boundaries
            }
            if !applies { throw CLIUsageError("\(name) does not apply to the \(set.rawValue) set") }
        }
        let f: FloatFormat?
        if let format { f = try FloatFormat(named: format) } else { f = nil }
        if set.needsFormat && f == nil { throw CLIUsageError("the \(set.rawValue) set needs --format") }
        switch set {
        case .exhaustiveFloat32:
            var range = InputRange.all32
            if let shard { range = try ShardSpec(parsing: shard, shardCount: nil).range(of: .all32) }
            try writePatterns(range)
        case .exhaustiveFloat16:
            try write((0...UInt16.max).map { $0 }, dtype: .float16)
        case .exhaustiveBFloat16:
            try write((0...UInt16.max).map { $0 }, dtype: .bfloat16)
        case .float64:
            let count = random ?? Float64Suite.randomCount(exhaustive: false)
            guard count >= 0 else { throw CLIUsageError("--random must be ≥ 0") }
            try write(SuiteInputs.float64(format: f!, randomCount: count).map(\.bitPattern), dtype: .float64)
        case .boundaries:
            let policy = try policyFromOptions()
            try write(SuiteInputs.boundaries(format: f!, policy: policy).map(\.bitPattern), dtype: .float32)
        case .roundtrip:
            try write(SuiteInputs.roundTrip(format: f!).map(\.bitPattern), dtype: .float32)
        case .decode:
            let codes = (0..<f!.codeCount).map { UInt16($0) }
            if f!.bitWidth <= 8 {
                try write(codes.map { UInt8($0) }, dtype: .uint8)
            } else {
                try write(codes, dtype: .uint16)
            }
        }
    }

    private func policyFromOptions() throws -> ConversionPolicy {
        var policy = ConversionPolicy()
        if let mode {
            guard let o = OverflowPolicy(rawValue: mode) else { throw BadOption(name: "--mode", value: mode, allowed: OverflowPolicy.allCases.map(\.rawValue)) }
            policy.overflow = o
        }
        if let rounding {
            guard let r = RoundingRule(rawValue: rounding), r != .stochastic else {
                throw BadOption(name: "--rounding", value: rounding, allowed: RoundingRule.deterministic.map(\.rawValue))
            }
            policy.rounding = r
        }
        if let profile {
            guard let p = CompatibilityProfile(name: profile) else { throw BadOption(name: "--profile", value: profile, allowed: CompatibilityProfile.acceptedNames) }
            policy.profile = p
        }
        return policy
    }

    /// Writes `elements` (host-order bits of `dtype`) as a one-dimensional `.npy`.
    private func write<T: FixedWidthInteger>(_ elements: [T], dtype: NPYDType) throws {
        precondition(MemoryLayout<T>.size == dtype.itemSize)
        let writer = try NPYStreamWriter(path: output, dtype: dtype, shape: [elements.count], raw: false)
        var copy = elements
        try copy.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { try writer.append(elements: base, count: elements.count) }
        }
        try writer.commit()
    }

    /// Streams the Float32 patterns of `range` (up to 16 GiB for all 2^32) a chunk at a time.
    private func writePatterns(_ range: InputRange) throws {
        let writer = try NPYStreamWriter(path: output, dtype: .float32, shape: [Int(range.count)], raw: false)
        let chunk = 1 << 20
        var buffer = [UInt32](repeating: 0, count: chunk)
        var next = range.lower
        while next < range.upper {
            let n = Int(min(UInt64(chunk), range.upper - next))
            for i in 0..<n { buffer[i] = UInt32(truncatingIfNeeded: next + UInt64(i)) }
            try buffer.withUnsafeMutableBytes { try writer.append(elements: $0.baseAddress!, count: n) }
            next += UInt64(n)
        }
        try writer.commit()
    }
}
