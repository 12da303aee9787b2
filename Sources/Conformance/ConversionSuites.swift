import Foundation
import Formats

/// The conversion suites as one implementation runs them (what `conform` runs on a plugin, in
/// this order; `verify` runs the same suite functions for the in-process codec over every format
/// and policy through its `SuiteDescriptor`s).
public enum ConversionSuite: String, CaseIterable, Sendable, Hashable {
    case decode
    case roundtrip
    case exhaustiveFloat32 = "exhaustive-f32"
    case exhaustiveHalf = "exhaustive-f16"
    case float64
    /// Inputs the user supplies (`SuppliedInputs`), not a fixed set.
    case givenInputs = "inputs"

    /// Entries the suite uses; it can run when the implementation has at least one of them.
    public var entries: [ConversionEntry] {
        switch self {
        case .decode: return [.decode]
        case .roundtrip: return [.float32, .float64]
        case .exhaustiveFloat32: return [.float32]
        case .exhaustiveHalf: return [.float16, .bfloat16]
        case .float64: return [.float64]
        case .givenInputs: return [.float32, .float64, .float16, .bfloat16]
        }
    }

    public var summary: String {
        switch self {
        case .decode: return "every code through <format>_to_f32 equals its exact value"
        case .roundtrip: return "encode(decode(c)) = c for every non-NaN code (f32 and f64 encoders)"
        case .exhaustiveFloat32: return "all 2^32 Float32 inputs through f32_to_<format> vs the oracle"
        case .exhaustiveHalf: return "all 65,536 binary16 / bfloat16 inputs through f16_ / bf16_to_<format>"
        case .float64: return "Float64 midpoints ±1, ±2 ulps and seeded random doubles through f64_to_<format>"
        case .givenInputs: return "every input of --inputs through the encoder of its type"
        }
    }

    /// Runs `suites` on one implementation (its one format and policy) and returns one result
    /// per case, in suite order. A suite that cannot run to the end (the host no longer starts,
    /// the oracle refuses the policy) is recorded as a failed result carrying the error.
    ///
    /// - Parameters:
    ///   - patterns: Float32 bit patterns of the exhaustive sweep.
    ///   - float64RandomCount: seeded random doubles of the float64 suite, after the midpoints.
    ///   - givenInputs: the inputs of the `inputs` suite (which is skipped without them).
    ///   - threads: sweep workers, and threads for the oracle's Float64 answers.
    ///   - progress: called with the number of Float32 patterns just checked.
    public static func run(
        _ suites: [ConversionSuite], on implementation: some ConversionUnderTest,
        patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        float64RandomCount: Int = Float64Suite.randomCount(exhaustive: false), givenInputs: SuppliedInputs? = nil,
        threads: Int, progress: (@Sendable (UInt64) -> Void)? = nil
    ) -> [SuiteResult] {
        let has = implementation.entries
        let caseName = ConformanceRunner.caseName(implementation.format, implementation.policy)
        var results: [SuiteResult] = []
        for suite in suites {
            let t0 = Date()
            do {
                switch suite {
                case .decode:
                    results.append(try DecodeSuite.run(implementation, entries: [.decode]))
                case .roundtrip:
                    for entry in [ConversionEntry.float32, .float64] where has.contains(entry) {
                        results.append(try RoundTripSuite.run(
                            format: implementation.format, conformers: [implementation], entries: [entry],
                            caseName: "\(caseName)/\(entry.rawValue)"))
                    }
                case .exhaustiveFloat32:
                    results.append(try ExhaustiveFloat32Suite.run(
                        implementation, patterns: patterns, threads: threads, progress: progress))
                case .exhaustiveHalf:
                    for kind in HalfInputSuite.Kind.allCases where has.contains(kind.entry) {
                        results.append(try HalfInputSuite.run(kind: kind, implementation))
                    }
                case .float64:
                    results.append(try Float64Suite.run(
                        implementation, randomCount: float64RandomCount, seed: Float64Suite.seed, threads: threads))
                case .givenInputs:
                    if let givenInputs {
                        results.append(try GivenInputsSuite.run(implementation, inputs: givenInputs, threads: threads))
                    }
                }
            } catch {
                var parameters = implementation.parameters(for: nil)
                parameters["error"] = "\(error)"
                results.append(SuiteResult(
                    suite: suite.rawValue, caseName: "error", passed: false, covered: 0, mismatches: 0,
                    parameters: parameters, wallSeconds: Date().timeIntervalSince(t0)))
            }
        }
        return results
    }
}

extension ConformanceRunner {
    /// `format/overflow/rounding`, the case name of the per-policy conversion cases.
    static func caseName(_ format: FloatFormat, _ policy: ConversionPolicy) -> String {
        "\(format.name)/\(policy.overflow.rawValue)/\(policy.rounding.rawValue)"
    }
}

/// The outputs of one batched call, indexed like its inputs: `valid[i]` is false for an input
/// lost to a fault (or never reached after the host gave up).
struct BatchOutputs<Output> {
    var values: [Output]
    var valid: [Bool]
    var faults: [ConversionFault]

    /// Runs `call` over `count` inputs and keeps what it delivers.
    init(count: Int, zero: Output, _ call: (Delivery<Output>) throws -> [ConversionFault]) rethrows {
        var values = [Output](repeating: zero, count: count)
        var valid = [Bool](repeating: false, count: count)
        faults = try call { first, out in
            for (k, v) in out.enumerated() {
                values[first + k] = v
                valid[first + k] = true
            }
        }
        self.values = values
        self.valid = valid
    }
}

/// The evidence of one case: wrong outputs and faults, each recorded in input order, and how a
/// fault is explained. Wrong outputs and faults share the counterexample places (see `result`).
struct CaseEvidence {
    var wrong = MismatchRecorder()
    var faults = MismatchRecorder()
    var faultCount = 0

    /// Records faults of the entry named `site`. `describe(i)` names input i (bits and value),
    /// `expected(i)` the oracle's answer there (code and value).
    mutating func record(
        _ list: [ConversionFault], site: String, position: (UInt64) -> UInt64 = { $0 },
        describe: (UInt64) -> (bits: String, value: String), expected: (UInt64) -> (code: String, value: String)
    ) {
        for f in list {
            faultCount += 1
            faults.recordMismatch(at: position(f.inputs.lowerBound)) {
                Self.explain(f, site: site, describe: describe, expected: expected)
            }
        }
    }

    /// A fault as a counterexample: the input (or input range) it happened on, what the oracle
    /// expected there, and what the implementation did instead.
    static func explain(
        _ f: ConversionFault, site: String, describe: (UInt64) -> (bits: String, value: String),
        expected: (UInt64) -> (code: String, value: String)
    ) -> Counterexample {
        let call = f.call
        let callText = "\(site) call on inputs \(describe(call.lowerBound).bits)…\(describe(call.upperBound - 1).bits) (n = \(call.count))"
        if f.inputs.count == 1 {
            let e = expected(f.inputs.lowerBound)
            let how = call.count == 1 ? "" : "; isolated to this input by bisection in fresh workers"
            return Counterexample(
                inputBits: describe(f.inputs.lowerBound).bits, inputValue: describe(f.inputs.lowerBound).value,
                expectedCode: e.code, expectedValue: e.value, gotCode: f.label, gotValue: f.description,
                note: "\(callText)\(how); the worker was restarted")
        }
        let first = f.inputs.lowerBound, last = f.inputs.upperBound - 1
        let why = f.reproduced ? "fault isolation stopped (budget spent)" : "no part of the call faulted when rerun alone (state- or time-dependent)"
        return Counterexample(
            inputBits: "\(describe(first).bits)…\(describe(last).bits)", inputValue: "\(f.inputs.count) inputs from \(describe(first).value)",
            expectedCode: "—", expectedValue: "—", gotCode: f.label, gotValue: f.description, note: "\(callText); \(why)")
    }

    /// At most `counterexampleLimit` examples in input order: the first wrong outputs and the
    /// first faults, with up to half the places kept for faults so that a crash is never pushed
    /// out of the report by earlier wrong outputs (and vice versa).
    var counterexamples: [Counterexample] {
        let limit = SuiteResult.counterexampleLimit
        let w = wrong.positionedCounterexamples, f = faults.positionedCounterexamples
        let keepFaults = min(f.count, max(limit / 2, limit - w.count))
        let kept = Array(f.prefix(keepFaults)) + Array(w.prefix(limit - keepFaults))
        return kept.enumerated().sorted { ($0.element.position, $0.offset) < ($1.element.position, $1.offset) }
            .map(\.element.example)
    }

    /// The case's result: it passes when no output was wrong, nothing faulted, every input was
    /// covered (`expected`), every metric is within its bound and `alsoRequire` holds. The
    /// implementations' own figures (`endCase`) follow the suite's metrics and parameters.
    func result(
        suite: String, caseName: String, expected: UInt64?, implementations: [any ImplementationUnderTest],
        parameters: [String: String], metrics: [Metric] = [], since t0: Date, isSweep: Bool = false,
        alsoRequire: Bool = true
    ) -> SuiteResult {
        let wall = Date().timeIntervalSince(t0)
        var metrics = metrics
        var parameters = parameters
        let summary = CaseSummary(covered: wrong.covered, faults: faultCount, wallSeconds: wall, isSweep: isSweep)
        for i in implementations {
            let report = i.endCase(summary)
            metrics += report.metrics
            parameters.merge(report.parameters) { _, b in b }
        }
        let complete = expected.map { $0 == wrong.covered } ?? true
        let bounded = metrics.allSatisfy { $0.withinBound != false }
        return SuiteResult(
            suite: suite, caseName: caseName,
            passed: alsoRequire && wrong.isClean && faultCount == 0 && complete && bounded,
            covered: wrong.covered, expected: expected, mismatches: wrong.mismatches + UInt64(faultCount),
            counterexamples: counterexamples, metrics: metrics, parameters: parameters, wallSeconds: wall)
    }
}
