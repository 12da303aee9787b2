import ArgumentParser
import Conformance
import Formats
import FileHost
import Foundation
import Harness
import PluginHost

/// `quantcheck conform`: runs the conformance suites against an external implementation: a
/// shared library exporting the C ABI of `Sources/QuantCheckPlugin/include/quantcheck_plugin.h`,
/// hosted in crash-isolated worker processes, or another framework's outputs read from files.
struct ConformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conform",
        abstract: "Check your own conversion kernel (a C-ABI shared library, or a framework's outputs in files) against the MPFR oracle (exit 0 pass, 1 fail, 2 usage error).",
        discussion: """
            A library: entry points (see quantcheck_plugin.h) f32_to_<format>, f64_to_<format>, f16_to_<format>, \
            bf16_to_<format>, <format>_to_f32, quantcheck_plugin_info; it runs in worker processes, where crashes, \
            hangs and out-of-bounds writes are failing cases. Files: --inputs with --outputs (any shape; \
            float32/float64/float16/bfloat16 inputs, uint8/uint16/<V1 codes), --f32-codes (codes of Float32 \
            patterns 0 … 2^32−1 in order, or of the --shard range), --f16-codes/--bf16-codes (65,536 codes), \
            --decoded (float32 values of codes 0 … 2^bits−1); `quantcheck inputs` writes the inputs. Suites: \
            \(ConversionSuite.allCases.map { "\($0.rawValue) — \($0.summary)" }.joined(separator: "; ")).
            """)

    @Option(help: "Shared library to check (cc -shared -fPIC -O2 -o libmine.so mine.c).")
    var library: String?

    @Option(help: "Inputs (.npy: float32, float64, float16 or bfloat16 <V2): with --outputs, the pairs to check; with --library, inputs to run the library on (suite 'inputs').")
    var inputs: String?

    @Option(help: "Codes computed from --inputs, element by element (.npy uint8/uint16/<V1, or raw codes).")
    var outputs: String?

    @Option(name: .customLong("f32-codes"), help: "Codes of the Float32 patterns 0 … 2^32−1 in order, or of the --shard range (.npy or raw).")
    var float32Codes: String?

    @Option(name: .customLong("f16-codes"), help: "Codes of the 65,536 binary16 patterns in order (.npy or raw).")
    var float16Codes: String?

    @Option(name: .customLong("bf16-codes"), help: "Codes of the 65,536 bfloat16 patterns in order (.npy or raw).")
    var bfloat16Codes: String?

    @Option(help: "Decoded values of codes 0 … 2^bits−1 in order (float32 .npy).")
    var decoded: String?

    @Option(help: "Sweep only shard K/N of the Float32 patterns (1-based); --f32-codes then holds that range.")
    var shard: String?

    @Option(name: .customLong("symbol"), help: "Symbol of the Float32 encoder (NAME), or KEY=NAME for f32, f64, f16, bf16, decode (repeatable).")
    var symbols: [String] = []

    @Option(help: "Target format, e.g. e4m3fn or float8_e4m3fn.")
    var format: String

    @Option(help: "Overflow policy the implementation claims: sat or nonsat (OCP OFP8 §5.2.1).")
    var mode: String

    @Option(help: "Rounding the implementation claims: rne, rtz, up or down.")
    var rounding: String = RoundingRule.toNearestOrEven.rawValue

    @Option(help: "Compatibility profile: ocp, ml_dtypes-0.6, ml_dtypes-0.7, or ml_dtypes (the newest release, = ml_dtypes-0.7).")
    var profile: String = CompatibilityProfile.ocp.rawValue

    @Option(help: "NaN codes: class (any NaN code of the format matches a NaN answer), sign (a NaN of the answer's sign) or canonical (the oracle's code exactly). Default: class under --profile ocp (OCP and IEEE 754 leave a NaN result's encoding and sign to the implementation), canonical under ml_dtypes (bit parity).")
    var nan: String?

    @Option(name: .customLong("suite"), help: "Suite to run (repeatable). Default: every suite the library's entry points or the files supply.")
    var suites: [String] = []

    @Option(help: "Write the results JSON here (atomically).")
    var json: String?

    @Option(help: "Worker processes (threads for files) for the exhaustive Float32 sweep (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds one request of 4,194,304 inputs may take before the kernel counts as hung (library only; default 60).")
    var timeout: Double?

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
        let nanMatching = try nan.map { name in
            guard let m = NaNMatching(rawValue: name) else {
                throw BadOption(name: "--nan", value: name, allowed: NaNMatching.allCases.map(\.rawValue))
            }
            return m
        } ?? NaNMatching.default(for: prof)
        guard threads >= 1 else { throw PluginError.invalidThreadCount(threads) }
        var patterns = ExhaustiveSweep.allPatterns
        if let shard {
            let range = try ShardSpec(parsing: shard, shardCount: nil).range(of: .all32)
            patterns = range.lower..<range.upper
        }
        if let json { try OutputPath.checkWritable(json) }  // before a long run, not after
        let policy = ConversionPolicy(rounding: rule, overflow: overflow, profile: prof)

        let fileOptions: [(String, String?)] = [
            ("--outputs", outputs), ("--f32-codes", float32Codes), ("--f16-codes", float16Codes),
            ("--bf16-codes", bfloat16Codes), ("--decoded", decoded),
        ]
        let t0 = Date()
        let results: [SuiteResult]
        if let library {
            if let given = fileOptions.first(where: { $0.1 != nil }) {
                throw CLIUsageError("\(given.0) names a file of outputs to check; with --library the library computes the outputs (give one or the other)")
            }
            let timeout = self.timeout ?? 60
            guard timeout > 0, timeout.isFinite else { throw PluginError.invalidTimeout(timeout) }
            let given = try inputs.map(FileHost.readInputs)
            let names = try PluginSymbols(format: f, overrides: symbols)
            let config = PluginConfiguration(
                library: library, format: f, policy: policy, symbols: names, timeout: timeout, threads: threads,
                nanMatching: nanMatching)
            let session = try PluginSession(config)
            defer { session.close() }
            let plan = try session.plan(suites, givenInputs: given != nil)
            if plan.contains(.givenInputs) && given == nil { throw CLIUsageError("--suite inputs needs --inputs") }
            print(ConformHeader.text(session))
            results = Self.runWithProgress(plan, quiet: quiet, patterns: patterns) { progress in
                session.run(suites: plan, patterns: patterns, givenInputs: given, progress: progress)
            }
        } else {
            if !symbols.isEmpty { throw CLIUsageError("--symbol names entry points of a --library") }
            if timeout != nil { throw CLIUsageError("--timeout limits a --library's calls; files take no time limit") }
            let host = try FileHost(FileHostConfiguration(
                format: f, policy: policy, nanMatching: nanMatching, inputs: inputs, outputs: outputs,
                float32Codes: float32Codes, float32Patterns: patterns, float16Codes: float16Codes,
                bfloat16Codes: bfloat16Codes, decodedValues: decoded))
            let plan = try FileConformPlan.suites(suites, host: host)
            print(ConformHeader.text(host))
            results = Self.runWithProgress(plan, quiet: quiet, patterns: patterns) { progress in
                ConversionSuite.run(
                    plan, on: host, patterns: patterns, givenInputs: host.suppliedInputs, threads: threads, progress: progress)
            }
        }
        print(SuiteSummary.text(results, wallSeconds: Date().timeIntervalSince(t0), command: "conform"))
        if let json {
            try ResultsFile(stamp: .current(), suites: results).write(to: json)
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }

    /// Runs `body` with a progress line for the exhaustive sweep (when planned).
    static func runWithProgress(
        _ plan: [ConversionSuite], quiet: Bool, patterns: Range<UInt64>,
        _ body: ((@Sendable (UInt64) -> Void)?) -> [SuiteResult]
    ) -> [SuiteResult] {
        let progress: ProgressReporter? = quiet || !plan.contains(.exhaustiveFloat32) ? nil
            : ProgressReporter(label: "exhaustive-f32", total: UInt64(patterns.count))
        var advance: (@Sendable (UInt64) -> Void)?
        if let progress { advance = { progress.advance(by: $0) } }
        let results = body(advance)
        progress?.finish()
        return results
    }
}

/// The suites `conform` runs on files: the requested ones (each needs a file that supplies its
/// inputs' outputs), or by default the one each file was written for.
enum FileConformPlan {
    static func suites(_ requested: [String], host: FileHost) throws -> [ConversionSuite] {
        let has = host.entries
        if requested.isEmpty {
            var plan: Set<ConversionSuite> = []
            if host.suppliedInputs != nil { plan.insert(.givenInputs) }
            if host.configuration.float32Codes != nil { plan.insert(.exhaustiveFloat32) }
            if host.configuration.float16Codes != nil || host.configuration.bfloat16Codes != nil { plan.insert(.exhaustiveHalf) }
            if host.configuration.decodedValues != nil { plan.insert(.decode) }
            return ConversionSuite.allCases.filter(plan.contains)
        }
        var wanted: Set<ConversionSuite> = []
        for name in requested {
            guard let s = ConversionSuite(rawValue: name) else {
                throw BadOption(name: "--suite", value: name, allowed: ConversionSuite.allCases.map(\.rawValue))
            }
            guard s.entries.contains(where: has.contains) else {
                throw CLIUsageError("suite \(name) needs outputs for \(s.entries.map(\.rawValue).joined(separator: " or ")) inputs, which no file given holds")
            }
            if s == .givenInputs && host.suppliedInputs == nil { throw CLIUsageError("--suite inputs needs --inputs with --outputs") }
            wanted.insert(s)
        }
        return ConversionSuite.allCases.filter(wanted.contains)
    }
}

/// What `conform` prints before the suites: the library, what it claims, its entry points.
enum ConformHeader {
    static func text(_ h: FileHost) -> String {
        let c = h.configuration
        var files: [String] = []
        if let i = c.inputs, let o = c.outputs { files.append("pairs \(i) → \(o)") }
        if let p = c.float32Codes { files.append("Float32 codes \(p) (patterns \(c.float32Patterns.lowerBound)..<\(c.float32Patterns.upperBound))") }
        if let p = c.float16Codes { files.append("binary16 codes \(p)") }
        if let p = c.bfloat16Codes { files.append("bfloat16 codes \(p)") }
        if let p = c.decodedValues { files.append("decoded values \(p)") }
        return """
            conform: files: \(files.joined(separator: "; "))
            claims: \(c.format.name), mode \(c.policy.overflow.rawValue), rounding \(c.policy.rounding.rawValue), profile \(c.policy.profile.rawValue), NaN \(c.nanMatching.rawValue) (\(c.nanMatching.summary))
            """
    }

    static func text(_ s: PluginSession) -> String {
        let c = s.configuration
        let info = s.hello.info.isEmpty ? "" : " (\"\(s.hello.info)\")"
        let entries = PluginEntryPoint.allCases.map { "\(c.symbols[$0]) \(s.hello.found.contains($0) ? "✓" : "–")" }
        return """
            conform: \(s.library)\(info)
            claims: \(c.format.name), mode \(c.policy.overflow.rawValue), rounding \(c.policy.rounding.rawValue), profile \(c.policy.profile.rawValue), NaN \(c.nanMatching.rawValue) (\(c.nanMatching.summary))
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
