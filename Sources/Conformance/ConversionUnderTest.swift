import Foundation
import Formats

// MARK: - The protocol family

/// What every implementation under test shares, whatever it computes (conversions now;
/// quantizers and hosts reading another framework's outputs from files next): per-case
/// bookkeeping of a host that can fault or give up, and what its results carry.
///
/// A case is one `SuiteResult`. The suite calls `beginCase()` before the case's first call and
/// `endCase(_:)` after its last; between them `caseStopped` tells it to stop calling (a host's
/// fault budget is spent). An in-process implementation never faults and never stops.
public protocol ImplementationUnderTest: AnyObject {
    /// Called before the first call of a case.
    func beginCase()
    /// True once the host gave up on the current case; the suite makes no further calls and the
    /// inputs not checked count as not covered (so the case fails its coverage check).
    var caseStopped: Bool { get }
    /// The host's own figures for the case just run (fault counts, restarts, why it stopped),
    /// merged into the case's result.
    func endCase(_ summary: CaseSummary) -> CaseReport
}

/// What a suite tells the implementation about a finished case.
public struct CaseSummary: Sendable {
    public var covered: UInt64
    public var faults: Int
    public var wallSeconds: Double
    /// True for the exhaustive Float32 sweep (a host reports its throughput there).
    public var isSweep: Bool

    public init(covered: UInt64, faults: Int, wallSeconds: Double, isSweep: Bool) {
        self.covered = covered
        self.faults = faults
        self.wallSeconds = wallSeconds
        self.isSweep = isSweep
    }
}

/// Metrics and parameters an implementation adds to a case's result.
public struct CaseReport: Sendable {
    public var metrics: [Metric]
    public var parameters: [String: String]

    public init(metrics: [Metric] = [], parameters: [String: String] = [:]) {
        self.metrics = metrics
        self.parameters = parameters
    }
}

extension ImplementationUnderTest {
    public func beginCase() {}
    public var caseStopped: Bool { false }
    public func endCase(_ summary: CaseSummary) -> CaseReport { CaseReport() }
}

/// An entry point of a conversion implementation. The raw values are the keys `conform` names
/// them by (`--symbol f64=…`) and the suffix of a round-trip case name.
public enum ConversionEntry: String, CaseIterable, Sendable, Hashable, Comparable {
    /// Float32 → code.
    case float32 = "f32"
    /// Float64 → code.
    case float64 = "f64"
    /// binary16 bit pattern → code.
    case float16 = "f16"
    /// bfloat16 bit pattern → code.
    case bfloat16 = "bf16"
    /// Float32 with caller-supplied random bits → code (stochastic rounding).
    case stochasticFloat32 = "sr-f32"
    /// code → Float32.
    case decode = "decode"
    /// code → Float64.
    case decodeFloat64 = "decode-f64"

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A fault of the implementation on a sub-range of a batch: the code under test crashed, hung,
/// touched memory outside its buffers, exited or broke the host's protocol. A suite turns every
/// fault into a failing counterexample; the inputs it covers are not checked.
public struct ConversionFault: Sendable, Hashable {
    /// The inputs blamed (indices into the batch, or Float32 patterns for the sweep): one input
    /// when the host isolated it, else the whole call.
    public var inputs: Range<UInt64>
    /// The call in which the fault was first seen (same indices).
    public var call: Range<UInt64>
    /// Short class: `crash`, `hang`, `out-of-bounds`, `exit`, `protocol`.
    public var label: String
    /// One line: what happened (signal, time limit, stray address).
    public var description: String
    /// False when the call faulted but none of its parts did when rerun alone (a fault that
    /// depends on more than the input: state, timing, a time limit too tight).
    public var reproduced: Bool

    public init(inputs: Range<UInt64>, call: Range<UInt64>, label: String, description: String, reproduced: Bool) {
        self.inputs = inputs
        self.call = call
        self.label = label
        self.description = description
        self.reproduced = reproduced
    }

    /// The `label`s a fault can carry (a summary tells faults from wrong outputs by them).
    public static let labels: Set<String> = ["crash", "hang", "out-of-bounds", "exit", "protocol"]
}

/// Receives outputs of a batch: those of inputs `first ..< first + outputs.count`. Called any
/// number of times, in any order; inputs lost to a fault are never delivered.
public typealias Delivery<Output> = (_ first: Int, _ outputs: UnsafeBufferPointer<Output>) -> Void

/// A conversion implementation under test for one target format and one policy: batched
/// encoders from Float32, Float64, binary16 and bfloat16 inputs, decoders, and the exhaustive
/// Float32 sweep. Each call reports the faults it met (`ConversionFault`) instead of throwing for
/// them; a thrown error means the host itself can no longer run (the case becomes an error case).
///
/// Only the entries in `entries` are called.
public protocol ConversionUnderTest: ImplementationUnderTest {
    var format: FloatFormat { get }
    /// The policy the implementation claims (overflow, rounding, profile).
    var policy: ConversionPolicy { get }
    /// How its NaN codes compare with the oracle's (part of the claim; default `.canonical`).
    var nanMatching: NaNMatching { get }
    var entries: Set<ConversionEntry> { get }
    /// The name of an entry in counterexample notes (a C symbol, a Swift API).
    func name(of entry: ConversionEntry) -> String
    /// Parameters every result using `entry` carries (nil: a case that failed before any call).
    func parameters(for entry: ConversionEntry?) -> [String: String]

    /// Distinct code paths behind the Float64 encoder that are checked separately (the
    /// in-process codec has a scalar and a bulk path); the suffix names each in notes.
    var float64Routes: [String] { get }

    func encode(_ inputs: UnsafeBufferPointer<Float>, deliver: Delivery<UInt16>) throws -> [ConversionFault]
    func encode(_ inputs: UnsafeBufferPointer<Double>, route: Int, deliver: Delivery<UInt16>) throws -> [ConversionFault]
    func encode(float16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault]
    func encode(bfloat16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault]
    /// Stochastic rounding of `inputs[i]` with the random bits `randomBits[i]`.
    func encode(
        _ inputs: UnsafeBufferPointer<Float>, randomBits: UnsafeBufferPointer<UInt64>, deliver: Delivery<UInt16>
    ) throws -> [ConversionFault]
    func decode(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Float>) throws -> [ConversionFault]
    func decodeFloat64(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Double>) throws -> [ConversionFault]

    // The exhaustive Float32 sweep.

    /// The Float32 bit patterns this implementation can be swept over (all 2^32 for a live
    /// implementation; a file host has what its files hold).
    var float32SweepDomain: Range<UInt64> { get }
    /// Patterns per block of the sweep's scheduler (one request of a host).
    var sweepBlockSize: Int { get }
    /// Gets `workers` sweep workers ready; returns how many can run (≥ 1).
    func prepareSweep(workers: Int) throws -> Int
    /// Encodes the Float32 patterns `patterns` on worker `worker` (each worker is used by one
    /// thread at a time) and hands the codes over with their first pattern.
    func encodeFloat32Patterns<Code: SweepCode>(
        _ patterns: Range<UInt64>, worker: Int, codeType: Code.Type, deliver: (UInt64, UnsafeBufferPointer<Code>) -> Void
    ) throws -> [ConversionFault]
}

extension ConversionUnderTest {
    public var nanMatching: NaNMatching { .canonical }
    /// The comparison of codes under `nanMatching`.
    public var codeMatcher: CodeMatcher { CodeMatcher(format: format, rule: nanMatching) }
    public var float64Routes: [String] { [""] }
    public var float32SweepDomain: Range<UInt64> { ExhaustiveSweep.allPatterns }
    public var sweepBlockSize: Int { 1 << 22 }
    public func prepareSweep(workers: Int) throws -> Int { workers }
}

/// Names the entries of an implementation that does not implement them, for the calls a suite
/// makes only when `entries` lists them.
public struct UnsupportedEntry: Error, CustomStringConvertible, Sendable {
    public let entry: ConversionEntry
    public init(_ entry: ConversionEntry) { self.entry = entry }
    public var description: String { "entry point \(entry.rawValue) is not implemented" }
}

/// A sweep asked for Float32 patterns the implementation cannot produce (a file host holds only
/// some of them).
public struct OutsideSweepDomain: Error, CustomStringConvertible, Sendable {
    public let patterns: Range<UInt64>
    public let domain: Range<UInt64>
    public var description: String {
        "patterns \(patterns.lowerBound)..<\(patterns.upperBound) are outside the implementation's domain \(domain.lowerBound)..<\(domain.upperBound)"
    }
}
