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

    /// Parses and validates a configuration.
    public static func parse(_ data: Data, path: String = "<config>") throws(GateConfigError) -> GateConfig {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw .invalid(path, JSONScan.isTruncated(data) ? "the JSON is truncated" : "not valid JSON: \(JSONScan.describe(error))")
        }
        guard let root = object as? [String: Any], root["format"] as? String == formatTag else {
            throw .invalid(path, "not a gate configuration (no \"format\": \"\(formatTag)\")")
        }
        guard let version = root["schemaVersion"] as? Int, version == currentSchemaVersion else {
            throw .invalid(path, "schemaVersion must be \(currentSchemaVersion)")
        }
        let r = Reader(path: path)
        try r.keys(root, allowed: ["format", "schemaVersion", "verify", "golden", "bench", "report"], at: "")
        var c = GateConfig()
        if let v = try r.section(root, "verify") {
            try r.keys(v, allowed: ["enabled", "suites", "formats", "exhaustive", "threads", "maxMismatches", "requireComplete"], at: "verify")
            c.verify.enabled = try r.bool(v, "enabled", at: "verify") ?? c.verify.enabled
            c.verify.suites = try r.strings(v, "suites", at: "verify") ?? []
            c.verify.formats = try r.strings(v, "formats", at: "verify") ?? []
            c.verify.exhaustive = try r.bool(v, "exhaustive", at: "verify") ?? false
            c.verify.threads = try r.int(v, "threads", at: "verify", min: 0) ?? 0
            c.verify.maxMismatches = UInt64(try r.int(v, "maxMismatches", at: "verify", min: 0) ?? 0)
            c.verify.requireComplete = try r.bool(v, "requireComplete", at: "verify") ?? true
        }
        if let g = try r.section(root, "golden") {
            try r.keys(g, allowed: ["enabled", "directory"], at: "golden")
            c.golden.enabled = try r.bool(g, "enabled", at: "golden") ?? true
            c.golden.directory = try r.string(g, "directory", at: "golden") ?? c.golden.directory
        }
        if let b = try r.section(root, "bench") {
            try r.keys(b, allowed: ["enabled", "filter", "quick", "repetitions", "baseline", "regressionThreshold", "noiseSigmas", "requireSameMachine"], at: "bench")
            c.bench.enabled = try r.bool(b, "enabled", at: "bench") ?? false
            c.bench.filter = try r.string(b, "filter", at: "bench")
            c.bench.quick = try r.bool(b, "quick", at: "bench") ?? true
            c.bench.repetitions = try r.int(b, "repetitions", at: "bench", min: 1)
            c.bench.baseline = try r.string(b, "baseline", at: "bench")
            if let t = b["regressionThreshold"], !(t is NSNull) {
                guard let s = t as? String else { throw .invalid(path, "bench.regressionThreshold must be a string like \"5%\"") }
                do { c.bench.regressionThreshold = try BenchComparison.parseThreshold(s) } catch {
                    throw .invalid(path, "bench.regressionThreshold: \(error)")
                }
            }
            if let s = try r.double(b, "noiseSigmas", at: "bench") {
                guard s >= 0 else { throw .invalid(path, "bench.noiseSigmas must be ≥ 0") }
                c.bench.noiseSigmas = s
            }
            c.bench.requireSameMachine = try r.bool(b, "requireSameMachine", at: "bench") ?? false
        }
        if let p = try r.section(root, "report") {
            try r.keys(p, allowed: ["output", "results", "history"], at: "report")
            c.report.output = try r.string(p, "output", at: "report") ?? c.report.output
            c.report.results = try r.string(p, "results", at: "report")
            c.report.history = try r.string(p, "history", at: "report") ?? c.report.history
        }
        return c
    }

    /// Typed field access with one-line errors naming the key.
    struct Reader {
        let path: String

        func section(_ d: [String: Any], _ key: String) throws(GateConfigError) -> [String: Any]? {
            guard let v = d[key] else { return nil }
            guard let s = v as? [String: Any] else { throw .invalid(path, "'\(key)' must be an object") }
            return s
        }

        func keys(_ d: [String: Any], allowed: Set<String>, at: String) throws(GateConfigError) {
            for k in d.keys.sorted() where !allowed.contains(k) && k != "_doc" {
                throw .invalid(path, "unknown key '\(at.isEmpty ? k : at + "." + k)' (known: \(allowed.sorted().joined(separator: ", ")))")
            }
        }

        /// JSONSerialization yields NSNumber for both booleans and numbers; booleans have
        /// Objective-C type `c` (on Linux and Darwin), which JSON numbers never have.
        private func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

        private func present(_ d: [String: Any], _ k: String) -> Any? {
            guard let v = d[k], !(v is NSNull) else { return nil }
            return v
        }

        func bool(_ d: [String: Any], _ k: String, at: String) throws(GateConfigError) -> Bool? {
            guard let v = present(d, k) else { return nil }
            // JSONSerialization gives NSNumber for both booleans and numbers: insist on a boolean.
            guard let n = v as? NSNumber, isBoolean(n) else {
                throw .invalid(path, "'\(at).\(k)' must be true or false")
            }
            return n.boolValue
        }

        func int(_ d: [String: Any], _ k: String, at: String, min: Int) throws(GateConfigError) -> Int? {
            guard let v = present(d, k) else { return nil }
            guard let n = v as? NSNumber, !isBoolean(n), let i = Int(exactly: n.doubleValue), i >= min else {
                throw .invalid(path, "'\(at).\(k)' must be an integer ≥ \(min)")
            }
            return i
        }

        func double(_ d: [String: Any], _ k: String, at: String) throws(GateConfigError) -> Double? {
            guard let v = present(d, k) else { return nil }
            guard let n = v as? NSNumber, !isBoolean(n), n.doubleValue.isFinite else {
                throw .invalid(path, "'\(at).\(k)' must be a number")
            }
            return n.doubleValue
        }

        func string(_ d: [String: Any], _ k: String, at: String) throws(GateConfigError) -> String? {
            guard let v = present(d, k) else { return nil }
            guard let s = v as? String, !s.isEmpty else { throw .invalid(path, "'\(at).\(k)' must be a non-empty string") }
            return s
        }

        func strings(_ d: [String: Any], _ k: String, at: String) throws(GateConfigError) -> [String]? {
            guard let v = present(d, k) else { return nil }
            guard let a = v as? [String] else { throw .invalid(path, "'\(at).\(k)' must be a list of strings") }
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
                    failures.append("regression: \(r.name) \(Fmt.percentChange(r.change!)) slower (threshold \(Fmt.percent(c.threshold)), noise ±\(Fmt.percent(r.noiseBand!)))")
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
