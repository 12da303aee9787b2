import Foundation
import Formats

/// What `quantcheck verify` was asked to do.
public struct VerifyOptions: Sendable {
    /// Suite names to run; empty means every suite whose `runsByDefault` is true.
    public var suites: [String]
    /// Formats to check; empty means every known format.
    public var formats: [FloatFormat]
    /// Full sizes and every rounding direction instead of the quick defaults.
    public var exhaustive: Bool
    /// Worker threads (≥ 1).
    public var threads: Int
    /// The Float32 bit-pattern range this shard sweeps, [lo, hi) within [0, 2^32). Suites that
    /// are not range-splittable run only in the shard whose range starts at 0.
    public var patterns: Range<UInt64>
    /// Called with the number of inputs just checked (for progress lines); may be nil.
    public var progress: (@Sendable (UInt64) -> Void)?

    public init(
        suites: [String] = [], formats: [FloatFormat] = [], exhaustive: Bool = false, threads: Int = 1,
        patterns: Range<UInt64> = ExhaustiveSweep.allPatterns, progress: (@Sendable (UInt64) -> Void)? = nil
    ) {
        self.suites = suites
        self.formats = formats
        self.exhaustive = exhaustive
        self.threads = threads
        self.patterns = patterns
        self.progress = progress
    }

    public var effectiveFormats: [FloatFormat] { formats.isEmpty ? FloatFormat.all : formats }
    /// Whether this run owns the suites that are not split by pattern range.
    public var isFirstShard: Bool { patterns.lowerBound == 0 }
    public var isSharded: Bool { patterns != ExhaustiveSweep.allPatterns }
}

/// A suite the runner knows: its name, what it checks, and how to run it.
public struct SuiteDescriptor: Sendable {
    public var name: String
    public var summary: String
    public var runsByDefault: Bool
    /// True when the suite splits its inputs by `VerifyOptions.patterns` (exhaustive Float32);
    /// other suites run whole in the first shard only.
    public var splitsByPattern: Bool
    public var run: @Sendable (VerifyOptions) throws -> [SuiteResult]

    public init(
        name: String, summary: String, runsByDefault: Bool = true, splitsByPattern: Bool = false,
        run: @escaping @Sendable (VerifyOptions) throws -> [SuiteResult]
    ) {
        self.name = name
        self.summary = summary
        self.runsByDefault = runsByDefault
        self.splitsByPattern = splitsByPattern
        self.run = run
    }
}

public enum VerifyError: Error, Equatable, CustomStringConvertible, Sendable {
    case unknownSuite(String, known: [String])
    case invalidThreadCount(Int)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .unknownSuite(let s, let known): return "unknown suite '\(s)'; known: \(known.joined(separator: ", "))"
        case .invalidThreadCount(let n): return "--threads must be at least 1 (got \(n))"
        }
    }
}

/// Runs the registered suites. Suites are listed in `ConformanceRunner.suites`; a module adds
/// its own by appending its descriptors there (one line).
public enum ConformanceRunner {
    public static var suites: [SuiteDescriptor] { coreSuites + accuracySuites }

    public static var suiteNames: [String] { suites.map(\.name) }

    /// Resolves the requested suite names (typed error on an unknown one) in registry order.
    public static func selected(_ options: VerifyOptions) throws(VerifyError) -> [SuiteDescriptor] {
        guard options.threads >= 1 else { throw .invalidThreadCount(options.threads) }
        for s in options.suites where !suiteNames.contains(s) { throw .unknownSuite(s, known: suiteNames) }
        if options.suites.isEmpty { return suites.filter(\.runsByDefault) }
        return suites.filter { options.suites.contains($0.name) }
    }

    /// Runs every selected suite and returns their results in registry order. A suite that
    /// throws is recorded as a failed result carrying the error, never dropped.
    public static func run(_ options: VerifyOptions) throws(VerifyError) -> [SuiteResult] {
        var results: [SuiteResult] = []
        for descriptor in try selected(options) {
            if options.isSharded && !descriptor.splitsByPattern && !options.isFirstShard { continue }
            let t0 = Date()
            do {
                results += try descriptor.run(options)
            } catch {
                results.append(SuiteResult(
                    suite: descriptor.name, caseName: "error", passed: false, covered: 0, mismatches: 0,
                    parameters: ["error": "\(error)"], wallSeconds: Date().timeIntervalSince(t0)))
            }
        }
        return results
    }
}
