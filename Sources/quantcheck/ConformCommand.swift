import ArgumentParser
import Conformance
import Formats
import Foundation
import Harness
import PluginHost

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
            \(ConversionSuite.allCases.map { "\($0.rawValue) — \($0.summary)" }.joined(separator: "; ")). \
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

    @Option(help: "Compatibility profile: ocp, ml_dtypes-0.6, ml_dtypes-0.7, or ml_dtypes (the newest release, = ml_dtypes-0.7).")
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
        guard let prof = CompatibilityProfile(name: profile) else {
            throw BadOption(name: "--profile", value: profile, allowed: CompatibilityProfile.acceptedNames)
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
        print(ConformHeader.text(session))

        let progress: ProgressReporter? = quiet || !plan.contains(.exhaustiveFloat32) ? nil
            : ProgressReporter(label: "exhaustive-f32", total: UInt64(ExhaustiveSweep.allPatterns.count))
        let t0 = Date()
        var advance: (@Sendable (UInt64) -> Void)?
        if let progress { advance = { progress.advance(by: $0) } }
        let results = session.run(suites: plan, progress: advance)
        progress?.finish()
        print(SuiteSummary.text(results, wallSeconds: Date().timeIntervalSince(t0), command: "conform"))
        if let json {
            try ResultsFile(stamp: .current(), suites: results).write(to: json)
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}

/// What `conform` prints before the suites: the library, what it claims, its entry points.
enum ConformHeader {
    static func text(_ s: PluginSession) -> String {
        let c = s.configuration
        let info = s.hello.info.isEmpty ? "" : " (\"\(s.hello.info)\")"
        let entries = PluginEntryPoint.allCases.map { "\(c.symbols[$0]) \(s.hello.found.contains($0) ? "✓" : "–")" }
        return """
            conform: \(s.library)\(info)
            claims: \(c.format.name), mode \(c.policy.overflow.rawValue), rounding \(c.policy.rounding.rawValue), profile \(c.policy.profile.rawValue)
            entry points: \(entries.joined(separator: ", "))
            """
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
