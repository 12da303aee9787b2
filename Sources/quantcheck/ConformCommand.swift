import ArgumentParser
import Conformance
import Formats
import Foundation
import Harness

/// `quantcheck conform`: runs the conformance suites against an external kernel, a shared
/// library exporting the C ABI of `Sources/QuantCheckPlugin/include/quantcheck_plugin.h`,
/// hosted in crash-isolated worker processes.
struct ConformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conform",
        abstract: "Check your own conversion kernel (a C-ABI shared library) against the MPFR oracle (exit 0 pass, 1 fail, 2 usage error).",
        discussion: """
            Entry points (see quantcheck_plugin.h): f32_to_<format>, f64_to_<format>, f16_to_<format>, \
            bf16_to_<format>, <format>_to_f32, quantcheck_plugin_info. Suites: \
            \(PluginSuite.allCases.map { "\($0.rawValue) — \($0.summary)" }.joined(separator: "; ")). \
            The library runs in worker processes: crashes, hangs and out-of-bounds writes are failing cases.
            """)

    @Option(help: "Shared library to check (cc -shared -fPIC -O2 -o libmine.so mine.c).")
    var library: String

    @Option(name: .customLong("symbol"), help: "Symbol of the Float32 encoder (NAME), or KEY=NAME for f32, f64, f16, bf16, decode (repeatable).")
    var symbols: [String] = []

    @Option(help: "Target format, e.g. e4m3fn or float8_e4m3fn.")
    var format: String

    @Option(help: "Overflow policy the symbols implement: sat or nonsat (OCP OFP8 §5.2.1).")
    var mode: String

    @Option(help: "Rounding the symbols implement: rne, rtz, up or down.")
    var rounding: String = RoundingRule.toNearestOrEven.rawValue

    @Option(help: "Compatibility profile: ocp or ml_dtypes.")
    var profile: String = CompatibilityProfile.ocp.rawValue

    @Option(name: .customLong("suite"), help: "Suite to run (repeatable). Default: every suite whose entry point the library exports.")
    var suites: [String] = []

    @Option(help: "Write the results JSON here (atomically).")
    var json: String?

    @Option(help: "Worker processes for the exhaustive Float32 sweep (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds one request of 4,194,304 inputs may take before the kernel counts as hung.")
    var timeout: Double = 60

    @Flag(help: "No progress lines.")
    var quiet = false

    func run() throws {
        let f = try FloatFormat(named: format)
        guard let overflow = OverflowPolicy(rawValue: mode) else {
            throw BadOption(name: "--mode", value: mode, allowed: OverflowPolicy.allCases.map(\.rawValue))
        }
        guard let rule = RoundingRule(rawValue: rounding), rule != .stochastic else {
            throw BadOption(name: "--rounding", value: rounding, allowed: RoundingRule.deterministic.map(\.rawValue))
        }
        guard let prof = CompatibilityProfile(rawValue: profile) else {
            throw BadOption(name: "--profile", value: profile, allowed: CompatibilityProfile.allCases.map(\.rawValue))
        }
        let names = try PluginSymbols(format: f, overrides: symbols)
        guard threads >= 1 else { throw PluginError.invalidThreadCount(threads) }
        guard timeout > 0, timeout.isFinite else { throw PluginError.invalidTimeout(timeout) }
        if let json { try OutputPath.checkWritable(json) }  // before a long run, not after

        let config = PluginConfiguration(
            library: library, format: f, policy: ConversionPolicy(rounding: rule, overflow: overflow, profile: prof),
            symbols: names, timeout: timeout, threads: threads)
        let session = try PluginSession(config)
        defer { session.close() }
        let plan = try session.plan(suites)
        print(ConformSummary.header(session))

        let progress: ProgressReporter? = quiet || !plan.contains(.exhaustiveFloat32) ? nil
            : ProgressReporter(label: "exhaustive-f32", total: UInt64(ExhaustiveSweep.allPatterns.count))
        let t0 = Date()
        var advance: (@Sendable (UInt64) -> Void)?
        if let progress { advance = { progress.advance(by: $0) } }
        let results = session.run(suites: plan, progress: advance)
        progress?.finish()
        print(ConformSummary.text(results, wallSeconds: Date().timeIntervalSince(t0)))
        if let json {
            try ResultsFile(stamp: .current(), suites: results).write(to: json)
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}

/// The report printed by `conform`: verify's one line per suite, then each failing case with up
/// to three counterexamples (faults carry their note: the call they happened in).
enum ConformSummary {
    static func header(_ s: PluginSession) -> String {
        let c = s.configuration
        let info = s.hello.info.isEmpty ? "" : " (\"\(s.hello.info)\")"
        let entries = PluginEntryPoint.allCases.map { "\(c.symbols[$0]) \(s.hello.found.contains($0) ? "✓" : "–")" }
        return """
            conform: \(s.library)\(info)
            claims: \(c.format.name), mode \(c.policy.overflow.rawValue), rounding \(c.policy.rounding.rawValue), profile \(c.policy.profile.rawValue)
            entry points: \(entries.joined(separator: ", "))
            """
    }

    /// `gotCode` of counterexamples that are faults (crash, hang, stray access), not wrong codes.
    static let faultLabels: Set<String> = ["crash", "hang", "out-of-bounds", "exit", "protocol"]

    static func text(_ results: [SuiteResult], wallSeconds: Double) -> String {
        var lines: [String] = []
        var order: [String] = []
        var bySuite: [String: [SuiteResult]] = [:]
        for r in results {
            if bySuite[r.suite] == nil { order.append(r.suite) }
            bySuite[r.suite, default: []].append(r)
        }
        for name in order {
            let rs = bySuite[name]!
            let failed = rs.filter { !$0.passed }
            let covered = rs.reduce(UInt64(0)) { $0 &+ $1.covered }
            let mism = rs.reduce(UInt64(0)) { $0 &+ $1.mismatches }
            let secs = rs.reduce(0.0) { $0 + $1.wallSeconds }
            lines.append(
                "\(failed.isEmpty ? "PASS" : "FAIL")  \(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(rs.count) cases, "
                    + "\(covered) inputs, \(mism) mismatches, \(String(format: "%.2f", secs)) s")
            for r in rs {
                if let rate = r.metrics.first(where: { $0.name == "inputs_per_second" }), r.covered > 0 {
                    let plugin = r.metrics.first { $0.name == "plugin_seconds" }?.value ?? 0
                    lines.append(
                        "      \(r.caseName): \(String(format: "%.3f", rate.value / 1e9)) G inputs/s with \(r.parameters["workers"] ?? "?") workers"
                            + " (\(String(format: "%.1f", plugin)) s inside the kernel, summed over workers)")
                }
            }
            for f in failed.prefix(20) {
                var line = "      ✗ \(f.caseName): \(f.mismatches) mismatches, covered \(f.covered)"
                if let e = f.expected, e != f.covered { line += " of \(e) expected" }
                if let err = f.parameters["error"] { line += "; error: \(err)" }
                if let stop = f.parameters["stopped"] { line += "; \(stop)" }
                lines.append(line)
                // The first three wrong outputs, and the first three faults even when wrong
                // outputs come earlier in input order (a crash must never scroll out of sight).
                let faults = f.counterexamples.filter { faultLabels.contains($0.gotCode) }
                let wrong = f.counterexamples.filter { !faultLabels.contains($0.gotCode) }
                for c in wrong.prefix(3) {
                    lines.append("        input \(c.inputBits) = \(c.inputValue): expected \(c.expectedCode) (\(c.expectedValue)), got \(c.gotCode) (\(c.gotValue))")
                }
                for c in faults.prefix(3) {
                    lines.append("        input \(c.inputBits) = \(c.inputValue): expected \(c.expectedCode) (\(c.expectedValue)) → \(c.gotValue)")
                    lines.append("          \(c.note)")
                }
            }
        }
        let failedCount = results.filter { !$0.passed }.count
        lines.append(
            failedCount == 0
                ? "conform: PASS (\(results.count) cases in \(String(format: "%.1f", wallSeconds)) s)"
                : "conform: FAIL (\(failedCount) of \(results.count) cases failed, \(String(format: "%.1f", wallSeconds)) s)")
        return lines.joined(separator: "\n")
    }
}

/// `quantcheck plugin-worker`: internal. Hosts the library for `conform` in a child process
/// (arguments and protocol in quantcheck_worker.h); never returns.
struct PluginWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin-worker", abstract: "Internal: hosts a plugin library for 'quantcheck conform'.",
        shouldDisplay: false)

    @Argument(parsing: .captureForPassthrough)
    var arguments: [String] = []

    func run() throws {
        PluginWorkerMain.run(arguments: arguments)
    }
}
