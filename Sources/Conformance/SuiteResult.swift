import Foundation

/// One input that an implementation got wrong, explained once.
public struct Counterexample: Codable, Sendable, Hashable {
    /// Input bit pattern, hex (`0x43fa0000`), as the input type's width.
    public var inputBits: String
    /// Input value in decimal (shortest round-trip form) and hex-float.
    public var inputValue: String
    /// Expected output code (hex) from the oracle and its value.
    public var expectedCode: String
    public var expectedValue: String
    /// What the implementation produced.
    public var gotCode: String
    public var gotValue: String
    /// Free-form context: format, policy, input range, etc.
    public var note: String

    public init(
        inputBits: String, inputValue: String, expectedCode: String, expectedValue: String,
        gotCode: String, gotValue: String, note: String = ""
    ) {
        self.inputBits = inputBits
        self.inputValue = inputValue
        self.expectedCode = expectedCode
        self.expectedValue = expectedValue
        self.gotCode = gotCode
        self.gotValue = gotValue
        self.note = note
    }
}

/// A named figure a suite measured (an error, a gain, a bound), with an optional bound it was
/// checked against.
public struct Metric: Codable, Sendable, Hashable {
    /// How `bound` limits `value`.
    public enum BoundKind: String, Codable, Sendable, Hashable {
        /// value ≤ bound (errors; the default when absent).
        case upper
        /// value ≥ bound (gains, coverage).
        case lower
        /// |value| ≤ bound (signed biases).
        case magnitude
    }

    public var name: String
    public var value: Double
    public var bound: Double?
    public var unit: String?
    /// nil means `.upper`.
    public var boundKind: BoundKind?

    public init(name: String, value: Double, bound: Double? = nil, unit: String? = nil, boundKind: BoundKind? = nil) {
        self.name = name
        self.value = value
        self.bound = bound
        self.unit = unit
        self.boundKind = boundKind
    }

    /// Whether `value` satisfies `bound` (nil without a bound; false for NaN).
    public var withinBound: Bool? {
        guard let bound else { return nil }
        switch boundKind ?? .upper {
        case .upper: return value <= bound
        case .lower: return value >= bound
        case .magnitude: return abs(value) <= bound
        }
    }
}

/// Data behind a chart in the reports: a curve (an error against α, say) or a histogram.
///
/// - `.line`: points `(x[i], y[i])`, `x.count == y.count`, drawn in `x` order.
/// - `.histogram`: `x` holds the `y.count + 1` bin edges (ascending), `y` the counts or
///   frequencies of the bins `[x[i], x[i+1])`.
///
/// Series of one suite with the same `chart` title are drawn in one chart (one line or one
/// group of bars each), so a sweep over α for several granularities becomes one figure.
public struct DataSeries: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        case line, histogram
    }

    /// Chart title; series sharing it share the chart.
    public var chart: String
    /// Legend entry.
    public var name: String
    public var kind: Kind
    public var xLabel: String
    public var yLabel: String
    public var x: [Double]
    public var y: [Double]
    /// Draw the y axis on a log scale (errors spanning decades).
    public var logY: Bool?

    public init(
        chart: String, name: String, kind: Kind = .line, xLabel: String, yLabel: String,
        x: [Double], y: [Double], logY: Bool? = nil
    ) {
        self.chart = chart
        self.name = name
        self.kind = kind
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.x = x
        self.y = y
        self.logY = logY
    }
}

/// The structured outcome of one suite (or one case of a suite: a format × mode × direction).
///
/// `covered` counts the inputs actually checked; exhaustive suites also state `expected` and
/// fail when the two differ, so that a silently skipped range cannot pass.
public struct SuiteResult: Codable, Sendable, Hashable {
    public var suite: String
    /// Case label, e.g. `e4m3fn/sat/rne`; empty for single-case suites.
    public var caseName: String
    public var passed: Bool
    public var covered: UInt64
    public var expected: UInt64?
    public var mismatches: UInt64
    /// At most `SuiteResult.counterexampleLimit`, in input order.
    public var counterexamples: [Counterexample]
    public var metrics: [Metric]
    /// Free-form parameters needed to replay (seed, shapes, shard…).
    public var parameters: [String: String]
    public var wallSeconds: Double
    /// Curves and histograms for the reports (optional; absent in files that have none).
    public var series: [DataSeries]?

    public static let counterexampleLimit = 10

    public init(
        suite: String, caseName: String = "", passed: Bool, covered: UInt64, expected: UInt64? = nil,
        mismatches: UInt64, counterexamples: [Counterexample] = [], metrics: [Metric] = [],
        parameters: [String: String] = [:], wallSeconds: Double = 0, series: [DataSeries]? = nil
    ) {
        self.suite = suite
        self.caseName = caseName
        self.passed = passed
        self.covered = covered
        self.expected = expected
        self.mismatches = mismatches
        self.counterexamples = counterexamples
        self.metrics = metrics
        self.parameters = parameters
        self.wallSeconds = wallSeconds
        self.series = series
    }
}
