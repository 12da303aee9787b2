import Foundation

/// The one recorder of a check's evidence: how many inputs were checked, how many disagreed with
/// the reference, and the first counterexamples in input order.
///
/// The check and its explanation are separate (as in LLVM libc's MPFR matcher): a suite decides
/// *whether* an input passes, cheaply, and only a failing input pays for building its
/// `Counterexample` text (the closure runs only when the example can still be kept).
///
/// Order: every mismatch carries its position in the suite's input order. The recorder keeps the
/// `limit` smallest positions, so recorders filled by different threads, blocks or shards and
/// then merged keep the same examples as one sequential pass — results stay bit-identical across
/// thread counts and shard splits.
public struct MismatchRecorder: Sendable {
    /// Inputs checked (passing or not).
    public private(set) var covered: UInt64 = 0
    /// Inputs whose result disagreed with the reference.
    public private(set) var mismatches: UInt64 = 0
    /// At most this many counterexamples are kept.
    public let limit: Int
    /// Positions of the kept examples, ascending (apart from the examples, so that the hot test
    /// "is this mismatch among the first `limit`?" touches no strings: a sweep may record 2^31
    /// mismatches).
    private var positions: [UInt64] = []
    private var examples: [Counterexample] = []

    public init(limit: Int = SuiteResult.counterexampleLimit) {
        self.limit = limit
    }

    /// The kept counterexamples, in input order.
    public var counterexamples: [Counterexample] { examples }

    /// The kept counterexamples with their input positions (to interleave two recorders' examples
    /// in input order, e.g. wrong outputs and faults).
    public var positionedCounterexamples: [(position: UInt64, example: Counterexample)] {
        Array(zip(positions, examples)).map { (position: $0.0, example: $0.1) }
    }

    /// Whether no input disagreed.
    public var isClean: Bool { mismatches == 0 }

    /// One input checked. `position` defaults to the number of inputs checked before it, which is
    /// input order for a sequential suite.
    public mutating func check(_ passed: Bool, at position: UInt64? = nil, _ example: () -> Counterexample) {
        let p = position ?? covered
        covered += 1
        if !passed { record(at: p, example) }
    }

    /// `n` inputs checked in bulk (the mismatches among them are recorded separately with
    /// `recordMismatch`).
    public mutating func addCovered(_ n: UInt64) { covered += n }

    /// One mismatch, without counting an input as covered (for suites that count coverage in
    /// bulk, or a whole-case failure such as a wrong output length).
    public mutating func recordMismatch(at position: UInt64? = nil, _ example: () -> Counterexample) {
        record(at: position ?? covered, example)
    }

    /// `n` mismatches of which no example is kept (beyond the ones recorded individually).
    public mutating func addMismatches(_ n: UInt64) { mismatches += n }

    private mutating func record(at position: UInt64, _ example: () -> Counterexample) {
        mismatches += 1
        keep(position, example)
    }

    /// Keeps the example when it is among the `limit` smallest positions seen; equal positions
    /// keep arrival order.
    private mutating func keep(_ position: UInt64, _ example: () -> Counterexample) {
        guard limit > 0 else { return }
        if positions.count == limit {
            guard position < positions[limit - 1] else { return }
            positions.removeLast()
            examples.removeLast()
        }
        let i = positions.firstIndex { $0 > position } ?? positions.count
        positions.insert(position, at: i)
        examples.insert(example(), at: i)
    }

    /// Adds another recorder's evidence (e.g. one worker's block). Order-independent: the result
    /// does not depend on which recorder is merged into which, or in what order.
    public mutating func merge(_ other: MismatchRecorder) {
        covered += other.covered
        mismatches += other.mismatches
        for (p, e) in zip(other.positions, other.examples) { keep(p) { e } }
    }

    /// The case's result. It passes when no input disagreed, the covered count equals
    /// `expected` (when the suite states one), every metric is within its bound, and
    /// `alsoRequire` (a suite-specific condition) holds.
    public func result(
        suite: String, caseName: String = "", expected: UInt64? = nil, metrics: [Metric] = [],
        parameters: [String: String] = [:], wallSeconds: Double = 0, series: [DataSeries]? = nil,
        alsoRequire: Bool = true
    ) -> SuiteResult {
        let complete = expected.map { $0 == covered } ?? true
        let bounded = metrics.allSatisfy { $0.withinBound != false }
        return SuiteResult(
            suite: suite, caseName: caseName, passed: alsoRequire && isClean && complete && bounded,
            covered: covered, expected: expected, mismatches: mismatches,
            counterexamples: counterexamples, metrics: metrics, parameters: parameters,
            wallSeconds: wallSeconds, series: series)
    }
}
