import Conformance
import Foundation
import Formats

/// The gate's configuration (`Golden/gate.json`). Every threshold is documented in the file
/// itself, in a `_doc` object beside it. Unknown keys are refused so that a misspelt threshold
/// cannot be silently ignored.
public struct GateConfig: Sendable, Hashable {
    public static let formatTag = "quantcheck-gate"
    public static let currentSchemaVersion = 1
    public static let defaultPath = "Golden/gate.json"

    public struct Verify: Sendable, Hashable {
        public var enabled = true
        /// Suite names; empty runs the default suites.
        public var suites: [String] = []
        /// Format names; empty checks every format.
        public var formats: [String] = []
        public var exhaustive = false
        /// Worker threads; 0 means all cores.
        public var threads = 0
        /// Total mismatches tolerated over all suites (0: any mismatch fails).
        public var maxMismatches: UInt64 = 0
        /// Fail any case that covered fewer inputs than it expected.
        public var requireComplete = true
    }

    public struct Golden: Sendable, Hashable {
        public var enabled = true
        /// Directory of the golden tables.
        public var directory = "Golden"
    }

    public struct Bench: Sendable, Hashable {
        public var enabled = false
        /// Regular expression selecting cases; nil runs all.
        public var filter: String?
        public var quick = true
        /// Repetitions per case; nil keeps the mode's default (10, or 3 with quick).
        public var repetitions: Int?
        /// Results file to compare against; nil skips the comparison.
        public var baseline: String?
        /// A slowdown beyond this fraction (and beyond the noise band) fails the gate.
        public var regressionThreshold = 0.05
        /// Half-width of the noise band in robust standard deviations (1.4826·MAD).
        public var noiseSigmas = 3.0
        /// Fail when base and head were measured on different machines (else only warn).
        public var requireSameMachine = false
    }

    public struct Report: Sendable, Hashable {
        /// Directory the Markdown report and charts are written to.
        public var output = "Reports"
        /// Path of the combined results JSON; nil writes `<output>/results.json`.
        public var results: String?
        /// History directory for trend charts.
        public var history = BenchHistory.defaultDirectory
    }

    public var verify = Verify()
    public var golden = Golden()
    public var bench = Bench()
    public var report = Report()

    public init() {}

    public static func load(from path: String) throws(GateConfigError) -> GateConfig {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else { throw .unreadable(path) }
        return try parse(data, path: path)
    }

    /// Parses and validates a configuration: the JSON syntax first (so that a file cut short
    /// is told apart from a syntax error, with the parser's own explanation), then the strict
    /// `Decodable` conformance below, over the document as `JSONSerialization` read it — so a
    /// key given twice keeps its last value, and every text encoding it accepts is accepted.
    public static func parse(_ data: Data, path: String = "<config>") throws(GateConfigError) -> GateConfig {
        let document: Data
        do {
            document = try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: data))
        } catch {
            throw .invalid(path, JSONScan.isTruncated(data) ? "the JSON is truncated" : "not valid JSON: \(JSONScan.describe(error))")
        }
        let decoder = JSONDecoder()
        decoder.userInfo[pathKey] = path
        do { return try decoder.decode(GateConfig.self, from: document) } catch let e as GateConfigError {
            throw e
        } catch {
            throw .invalid(path, JSONScan.describe(error))
        }
    }

    /// The configuration file's path in `JSONDecoder.userInfo`, for the error messages.
    static let pathKey = CodingUserInfoKey(rawValue: "quantcheck.gate.path")!
}

/// Strict decoding: every key must be known (besides `_doc` objects, the thresholds'
/// documentation), every value of its documented type and range, and every failure is one
/// `GateConfigError` line naming the key. Absent keys and `null` values keep the defaults.
extension GateConfig: Decodable {
    public init(from decoder: Decoder) throws {
        let path = decoder.userInfo[Self.pathKey] as? String ?? "<config>"
        let notGate = GateConfigError.invalid(path, "not a gate configuration (no \"format\": \"\(Self.formatTag)\")")
        guard let container = try? decoder.container(keyedBy: Key.self) else { throw notGate }
        let root = Fields(container, path: path, at: "")
        guard root.contains("format"), (try? container.decode(String.self, forKey: Key("format"))) == Self.formatTag else {
            throw notGate
        }
        guard let version = try? container.decode(Double.self, forKey: Key("schemaVersion")),
              Int(exactly: version) == Self.currentSchemaVersion
        else { throw GateConfigError.invalid(path, "schemaVersion must be \(Self.currentSchemaVersion)") }
        try root.keys(allowed: ["format", "schemaVersion", "verify", "golden", "bench", "report"])
        self.init()
        if let v = try root.section("verify") {
            try v.keys(allowed: ["enabled", "suites", "formats", "exhaustive", "threads", "maxMismatches", "requireComplete"])
            verify.enabled = try v.bool("enabled") ?? verify.enabled
            verify.suites = try v.strings("suites") ?? []
            verify.formats = try v.strings("formats") ?? []
            verify.exhaustive = try v.bool("exhaustive") ?? false
            verify.threads = try v.int("threads", min: 0) ?? 0
            verify.maxMismatches = UInt64(try v.int("maxMismatches", min: 0) ?? 0)
            verify.requireComplete = try v.bool("requireComplete") ?? true
        }
        if let g = try root.section("golden") {
            try g.keys(allowed: ["enabled", "directory"])
            golden.enabled = try g.bool("enabled") ?? true
            golden.directory = try g.string("directory") ?? golden.directory
        }
        if let b = try root.section("bench") {
            try b.keys(allowed: ["enabled", "filter", "quick", "repetitions", "baseline", "regressionThreshold", "noiseSigmas", "requireSameMachine"])
            bench.enabled = try b.bool("enabled") ?? false
            bench.filter = try b.string("filter")
            bench.quick = try b.bool("quick") ?? true
            bench.repetitions = try b.int("repetitions", min: 1)
            bench.baseline = try b.string("baseline")
            if b.present("regressionThreshold") {
                guard let s = b.value(String.self, "regressionThreshold") else {
                    throw GateConfigError.invalid(path, "bench.regressionThreshold must be a string like \"5%\"")
                }
                do { bench.regressionThreshold = try BenchComparison.parseThreshold(s) } catch {
                    throw GateConfigError.invalid(path, "bench.regressionThreshold: \(error)")
                }
            }
            if let s = try b.double("noiseSigmas") {
                guard s >= 0 else { throw GateConfigError.invalid(path, "bench.noiseSigmas must be ≥ 0") }
                bench.noiseSigmas = s
            }
            bench.requireSameMachine = try b.bool("requireSameMachine") ?? false
        }
        if let p = try root.section("report") {
            try p.keys(allowed: ["output", "results", "history"])
            report.output = try p.string("output") ?? report.output
            report.results = try p.string("results")
            report.history = try p.string("history") ?? report.history
        }
    }

    /// Any key of a JSON object (the configuration's keys are checked against lists).
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Typed field access to one object of the configuration, with one-line errors naming the
    /// key (`at` is the object's name, empty at the top level).
    struct Fields {
        let container: KeyedDecodingContainer<Key>
        let path: String
        let at: String

        init(_ container: KeyedDecodingContainer<Key>, path: String, at: String) {
            self.container = container
            self.path = path
            self.at = at
        }

        private func fail(_ why: String) -> GateConfigError { .invalid(path, why) }

        func contains(_ k: String) -> Bool { container.contains(Key(k)) }

        /// Present and not `null`.
        func present(_ k: String) -> Bool {
            contains(k) && !((try? container.decodeNil(forKey: Key(k))) ?? false)
        }

        func value<T: Decodable>(_ type: T.Type, _ k: String) -> T? { try? container.decode(type, forKey: Key(k)) }

        func keys(allowed: Set<String>) throws(GateConfigError) {
            for k in container.allKeys.map(\.stringValue).sorted() where !allowed.contains(k) && k != "_doc" {
                throw fail("unknown key '\(at.isEmpty ? k : at + "." + k)' (known: \(allowed.sorted().joined(separator: ", ")))")
            }
        }

        /// A nested object; `null` or another type is refused (an absent section keeps the
        /// defaults).
        func section(_ k: String) throws(GateConfigError) -> Fields? {
            guard contains(k) else { return nil }
            guard let c = try? container.nestedContainer(keyedBy: Key.self, forKey: Key(k)) else {
                throw fail("'\(k)' must be an object")
            }
            return Fields(c, path: path, at: k)
        }

        /// JSON booleans only: `JSONDecoder` refuses numbers where a `Bool` is expected.
        func bool(_ k: String) throws(GateConfigError) -> Bool? {
            guard present(k) else { return nil }
            guard let b = value(Bool.self, k) else { throw fail("'\(at).\(k)' must be true or false") }
            return b
        }

        /// An integral JSON number (2.0 counts, 1.5 and booleans do not) of at least `min`.
        func int(_ k: String, min: Int) throws(GateConfigError) -> Int? {
            guard present(k) else { return nil }
            guard let d = value(Double.self, k), let i = Int(exactly: d), i >= min else {
                throw fail("'\(at).\(k)' must be an integer ≥ \(min)")
            }
            return i
        }

        func double(_ k: String) throws(GateConfigError) -> Double? {
            guard present(k) else { return nil }
            guard let d = value(Double.self, k), d.isFinite else { throw fail("'\(at).\(k)' must be a number") }
            return d
        }

        func string(_ k: String) throws(GateConfigError) -> String? {
            guard present(k) else { return nil }
            guard let s = value(String.self, k), !s.isEmpty else { throw fail("'\(at).\(k)' must be a non-empty string") }
            return s
        }

        func strings(_ k: String) throws(GateConfigError) -> [String]? {
            guard present(k) else { return nil }
            guard let a = value([String].self, k) else { throw fail("'\(at).\(k)' must be a list of strings") }
            return a
        }
    }
}

public enum GateConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    case unreadable(String)
    case invalid(String, String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .unreadable(let p): return "cannot read gate configuration '\(p)'"
        case .invalid(let p, let why): return "gate configuration '\(p)': \(why)"
        }
    }
}

/// The steps the gate runs, injected so the gate itself stays testable (and so `Harness`
/// does not depend on the CLI): the CLI wires them to `ConformanceRunner`, the golden-table
/// check and the benchmark runner.
public struct GateSteps: Sendable {
    public var verify: @Sendable (GateConfig.Verify) throws -> [SuiteResult]
    public var golden: @Sendable (GateConfig.Golden) throws -> [SuiteResult]
    public var bench: @Sendable (GateConfig.Bench) throws -> [BenchResult]

    public init(
        verify: @escaping @Sendable (GateConfig.Verify) throws -> [SuiteResult],
        golden: @escaping @Sendable (GateConfig.Golden) throws -> [SuiteResult],
        bench: @escaping @Sendable (GateConfig.Bench) throws -> [BenchResult]
    ) {
        self.verify = verify
        self.golden = golden
        self.bench = bench
    }
}

/// What the gate decided, and the files it wrote.
public struct GateOutcome: Sendable {
    public var verdict: Verdict
    public var results: ResultsFile
    public var comparison: BenchComparison?
    public var resultsPath: String
    public var reportFiles: [String]

    /// 0 pass, 1 fail.
    public var exitCode: Int32 { verdict.passed ? 0 : 1 }
}

public enum Gate {
    /// Runs verify, golden and bench as configured, compares against the baseline, writes the
    /// results JSON and the report, and decides. Errors are input errors (exit 2): a bad
    /// configuration, an unreadable baseline, an unwritable output. A step that throws while
    /// running (a suite that cannot start, say) is a failure of the gate, recorded in the
    /// verdict, never an early exit that skips the report.
    public static func run(_ config: GateConfig, steps: GateSteps, stamp: RunStamp) throws -> GateOutcome {
        // Check inputs before any long work: the baseline must load, the outputs be writable.
        var baseline: ResultsFile?
        if config.bench.enabled, let path = config.bench.baseline {
            baseline = try ResultsFile.load(from: path)
            if baseline!.benchmarks.isEmpty { throw CompareError.noBenchmarks(path) }
        }
        try AtomicFile.ensureDirectory(config.report.output)
        let resultsPath = config.report.results ?? (config.report.output as NSString).appendingPathComponent("results.json")
        try AtomicFile.checkDirectory(parentDirectory(of: resultsPath))

        var failures: [String] = []
        var notes: [String] = []
        var suites: [SuiteResult] = []
        func step<T>(_ name: String, _ body: () throws -> [T]) -> [T] {
            do { return try body() } catch {
                failures.append("\(name) could not run: \(error)")
                return []
            }
        }
        if config.verify.enabled {
            suites += step("verify") { try steps.verify(config.verify) }
        } else {
            notes.append("verify: disabled in the configuration")
        }
        if config.golden.enabled {
            suites += step("golden check") { try steps.golden(config.golden) }
        } else {
            notes.append("golden check: disabled in the configuration")
        }
        // Suite verdicts and the mismatch budget.
        let failing = suites.filter { r in
            config.verify.requireComplete ? !r.verdictPassed
                : !(r.passed && r.mismatches == 0 && r.metrics.allSatisfy { $0.withinBound != false })
        }
        for r in failing.prefix(20) {
            var s = "\(r.suite)\(r.caseName.isEmpty ? "" : " \(r.caseName)")"
            s += ": " + failureReason(r)
            if let c = r.counterexamples.first { s += "; first: \(c.inputBits) expected \(c.expectedCode) got \(c.gotCode)" }
            if let err = r.parameters["error"] { s += " (\(err))" }
            failures.append(s)
        }
        if failing.count > 20 { failures.append("… and \(failing.count - 20) more failing cases") }
        let totalMismatches = suites.reduce(UInt64(0)) { $0 &+ $1.mismatches }
        if totalMismatches > config.verify.maxMismatches && failing.isEmpty {
            failures.append("\(totalMismatches) mismatches in total, more than the allowed \(config.verify.maxMismatches)")
        }

        var benchmarks: [BenchResult] = []
        var comparison: BenchComparison?
        if config.bench.enabled {
            benchmarks = step("bench") { try steps.bench(config.bench) }
            if let baseline, !benchmarks.isEmpty {
                let head = ResultsFile(stamp: stamp, benchmarks: benchmarks)
                let c = BenchComparison(base: baseline, head: head, threshold: config.bench.regressionThreshold,
                                        noiseSigmas: config.bench.noiseSigmas)
                try c.requireOverlap(base: config.bench.baseline ?? "baseline", head: "this run's benchmarks")
                comparison = c
                for r in c.regressions {
                    failures.append("regression: \(r.name) \(Fmt.percentChange(r.change!)) slower (\(r.reason))")
                }
                for d in c.environmentDifferences {
                    if config.bench.requireSameMachine { failures.append(d) } else { notes.append("⚠️ \(d)") }
                }
                for d in c.noiseWarnings { notes.append("⚠️ \(d)") }
            } else if baseline == nil {
                notes.append("bench: no baseline configured; measured without comparison")
            }
        } else {
            notes.append("bench: not run (disabled in the configuration)")
        }

        let verdict = Verdict(passed: failures.isEmpty, failures: failures, notes: notes)
        let results = ResultsFile(stamp: stamp, suites: suites, benchmarks: benchmarks)
        try results.write(to: resultsPath)
        let history = BenchHistory.load(directory: config.report.history)
        let report = ReportWriter(ReportInput(
            files: [(resultsPath, results)], verdict: verdict, comparison: comparison,
            history: history.entries, historyWarnings: history.warnings))
        let written = try report.write(to: config.report.output)
        return GateOutcome(verdict: verdict, results: results, comparison: comparison, resultsPath: resultsPath, reportFiles: written)
    }

    static func parentDirectory(of path: String) -> String {
        let p = (path as NSString).deletingLastPathComponent
        return p.isEmpty ? "." : p
    }
}
