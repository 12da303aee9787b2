import Dispatch
import Foundation
import Formats
import Oracle
import Quant

/// What `quantcheck conform` checks: one library, one target format, one conversion policy
/// (one symbol implements one policy), and how hard to push.
public struct PluginConfiguration: Sendable {
    /// Path of the shared library (validated and resolved by `PluginSession`).
    public var library: String
    public var format: FloatFormat
    /// The policy the library claims to implement (`--mode`, `--rounding`, `--profile`).
    public var policy: ConversionPolicy
    public var symbols: PluginSymbols
    public var launch: PluginWorkerLaunch
    /// Seconds a request of `batch` inputs may take before the plugin is declared hung.
    public var timeout: Double
    /// Worker processes (and parent threads) for the exhaustive Float32 sweep.
    public var threads: Int
    /// Inputs per request (also the shared-memory capacity of each worker).
    public var batch: Int
    /// Largest single call into the plugin (a prime by default, to exercise odd tails).
    public var chunk: Int
    /// Smallest time limit of a probe while isolating a hang (single inputs get `timeout`).
    public var minimumProbeTimeout: Double
    /// Faults isolated per case before the case stops (each costs ≈ 17 worker restarts).
    public var maxIsolatedFaults: Int
    /// Worker restarts per case before the case stops.
    public var maxRestarts: Int

    public init(
        library: String, format: FloatFormat, policy: ConversionPolicy, symbols: PluginSymbols,
        launch: PluginWorkerLaunch = .currentExecutable(), timeout: Double = 60, threads: Int = 2,
        batch: Int = 1 << 22, chunk: Int = 65_521, minimumProbeTimeout: Double = 1,
        maxIsolatedFaults: Int = SuiteResult.counterexampleLimit, maxRestarts: Int = 400
    ) {
        self.library = library
        self.format = format
        self.policy = policy
        self.symbols = symbols
        self.launch = launch
        self.timeout = timeout
        self.threads = threads
        self.batch = batch
        self.chunk = chunk
        self.minimumProbeTimeout = minimumProbeTimeout
        self.maxIsolatedFaults = maxIsolatedFaults
        self.maxRestarts = maxRestarts
    }
}

/// The suites `conform` can run, in the order it runs them (the names match `verify`'s).
public enum PluginSuite: String, CaseIterable, Sendable, Hashable {
    case decode
    case roundtrip
    case exhaustiveFloat32 = "exhaustive-f32"
    case exhaustiveHalf = "exhaustive-f16"
    case float64

    /// Entry points the suite uses; it runs when at least one of them is exported.
    public var entryPoints: [PluginEntryPoint] {
        switch self {
        case .decode: return [.decode]
        case .roundtrip: return [.float32, .float64]
        case .exhaustiveFloat32: return [.float32]
        case .exhaustiveHalf: return [.float16, .bfloat16]
        case .float64: return [.float64]
        }
    }

    public var summary: String {
        switch self {
        case .decode: return "every code through <format>_to_f32 equals its exact value"
        case .roundtrip: return "encode(decode(c)) = c for every non-NaN code (f32 and f64 encoders)"
        case .exhaustiveFloat32: return "all 2^32 Float32 inputs through f32_to_<format> vs the oracle"
        case .exhaustiveHalf: return "all 65,536 binary16 / bfloat16 inputs through f16_ / bf16_to_<format>"
        case .float64: return "Float64 midpoints ±1, ±2 ulps and seeded random doubles through f64_to_<format>"
        }
    }
}

/// A loaded plugin: the library checked, its entry points found by a first worker, and the
/// worker slots reused by the suites. Close it (or let it go) to stop every worker.
///
/// Every suite compares the plugin's outputs with the same oracle as `verify`: the MPFR interval
/// table for Float32 inputs, `RoundingOracle` for the others, `ExactValueTable` for decoding.
/// Crashes, hangs and out-of-bounds accesses become failing cases whose counterexamples name the
/// input (see `FaultIsolatingRunner`); the run itself continues.
public final class PluginSession: @unchecked Sendable {
    public let configuration: PluginConfiguration
    /// The resolved library path.
    public let library: String
    public let hello: PluginHello
    private var slots: [PluginWorkerSlot]
    private let codeBytes: Int

    public init(_ configuration: PluginConfiguration) throws(PluginError) {
        guard configuration.timeout > 0, configuration.timeout.isFinite else { throw .invalidTimeout(configuration.timeout) }
        guard configuration.threads >= 1 else { throw .invalidThreadCount(configuration.threads) }
        precondition(configuration.batch >= 1 && configuration.chunk >= 1, "batch and chunk must be positive")
        self.configuration = configuration
        library = try SharedLibraryFile.validate(configuration.library)
        codeBytes = PluginEntryPoint.codeBytes(for: configuration.format)
        let first = try Self.makeSlot(configuration, library: library, codeBytes: codeBytes)
        hello = try first.start()
        slots = [first]
        for e in configuration.symbols.explicit.sorted() where !hello.found.contains(e) {
            throw .missingSymbol(configuration.symbols[e], entry: e, library: configuration.library)
        }
        if hello.found.isEmpty {
            throw .noEntryPoints(configuration.library, lookedFor: PluginEntryPoint.allCases.map { configuration.symbols[$0] })
        }
    }

    deinit { close() }

    /// Ids of every worker process started so far.
    var workerPIDs: [pid_t] { slots.flatMap(\.spawned) }

    /// Stops every worker (and reaps it).
    public func close() {
        for s in slots { s.stop() }
    }

    /// The suites to run: the requested ones (each must have an exported entry point), or every
    /// suite with one.
    public func plan(_ requested: [String]) throws(PluginError) -> [PluginSuite] {
        let known = PluginSuite.allCases.map(\.rawValue)
        var wanted: [PluginSuite] = []
        for name in requested {
            guard let s = PluginSuite(rawValue: name) else { throw .unknownSuite(name, known: known) }
            guard s.entryPoints.contains(where: hello.found.contains) else {
                throw .suiteNeedsEntryPoint(suite: name, needs: s.entryPoints.map { configuration.symbols[$0] })
            }
            wanted.append(s)
        }
        if requested.isEmpty { return PluginSuite.allCases.filter { $0.entryPoints.contains(where: hello.found.contains) } }
        return PluginSuite.allCases.filter(wanted.contains)
    }

    /// Runs the suites and returns one result per case, in suite order. A suite that cannot run
    /// to the end (its worker no longer starts, the oracle refuses the policy) is recorded as a
    /// failed result carrying the error, never dropped.
    ///
    /// - Parameters:
    ///   - patterns: Float32 bit patterns of the exhaustive sweep (all 2^32 by default).
    ///   - float64RandomCount: seeded random doubles of the float64 suite, after the midpoints.
    ///   - progress: called with the number of Float32 patterns just checked.
    public func run(
        suites: [PluginSuite], patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        float64RandomCount: Int = Float64Suite.randomCount(exhaustive: false),
        progress: (@Sendable (UInt64) -> Void)? = nil
    ) -> [SuiteResult] {
        var results: [SuiteResult] = []
        for suite in suites {
            let t0 = Date()
            do {
                switch suite {
                case .decode: results.append(try decodeSuite())
                case .roundtrip: results += try roundTripSuite()
                case .exhaustiveFloat32: results.append(try sweepSuite(patterns: patterns, progress: progress))
                case .exhaustiveHalf: results += try halfSuite()
                case .float64: results.append(try float64Suite(randomCount: float64RandomCount))
                }
            } catch {
                var r = SuiteResult(
                    suite: suite.rawValue, caseName: "error", passed: false, covered: 0, mismatches: 0,
                    parameters: ["error": "\(error)"], wallSeconds: Date().timeIntervalSince(t0))
                r.parameters.merge(commonParameters(entry: nil)) { a, _ in a }
                results.append(r)
            }
        }
        return results
    }

    // MARK: - Slots

    private static func makeSlot(_ c: PluginConfiguration, library: String, codeBytes: Int) throws(PluginError) -> PluginWorkerSlot {
        try PluginWorkerSlot(
            launch: c.launch, library: library, symbols: c.symbols.names, codeBytes: codeBytes,
            capacity: c.batch, chunk: min(c.chunk, c.batch), loadTimeout: max(c.timeout, 30))
    }

    private func workerSlots(_ n: Int) throws(PluginError) -> [PluginWorkerSlot] {
        while slots.count < n { slots.append(try Self.makeSlot(configuration, library: library, codeBytes: codeBytes)) }
        return Array(slots.prefix(n))
    }

    private func budget() -> FaultBudget {
        FaultBudget(maxIsolated: configuration.maxIsolatedFaults, maxEvents: configuration.maxRestarts)
    }

    private var policy: ConversionPolicy { configuration.policy }
    private var format: FloatFormat { configuration.format }

    private var caseName: String { "\(format.name)/\(policy.overflow.rawValue)/\(policy.rounding.rawValue)" }

    private func commonParameters(entry: PluginEntryPoint?) -> [String: String] {
        var p = [
            "library": library, "format": format.name, "overflow": policy.overflow.rawValue,
            "rounding": policy.rounding.rawValue, "profile": policy.profile.rawValue,
        ]
        if let entry { p["symbol"] = configuration.symbols[entry] }
        if !hello.info.isEmpty { p["plugin"] = hello.info }
        return p
    }

    // MARK: - Exhaustive Float32

    private final class BlockBox: @unchecked Sendable {
        var result = ExhaustiveSweep.BlockResult()
        var faults: [IsolatedFault] = []
    }

    private final class ErrorBox: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var error: (any Error)?
        func set(_ e: any Error) {
            lock.lock()
            if error == nil { error = e }
            lock.unlock()
        }
        var isSet: Bool {
            lock.lock()
            defer { lock.unlock() }
            return error != nil
        }
    }

    private func sweepSuite(patterns: Range<UInt64>, progress: (@Sendable (UInt64) -> Void)?) throws -> SuiteResult {
        precondition(patterns.lowerBound >= 0 && patterns.upperBound <= 1 << 32)
        return codeBytes == 1
            ? try sweep(UInt8.self, patterns: patterns, progress: progress)
            : try sweep(UInt16.self, patterns: patterns, progress: progress)
    }

    /// Batches of `batch` patterns handed out from a shared cursor to one worker per thread;
    /// each batch's outputs are compared with the oracle's interval table where they lie in the
    /// worker's shared memory, and results are merged in batch order (the counterexamples are the
    /// same for any thread count).
    private func sweep<Code: SweepCode>(
        _: Code.Type, patterns: Range<UInt64>, progress: (@Sendable (UInt64) -> Void)?
    ) throws -> SuiteResult {
        let t0 = Date()
        let intervals = try OracleTables.intervals(format: format, policy: policy)
        let batch = UInt64(configuration.batch)
        let blockCount = Int((UInt64(patterns.count) + batch - 1) / batch)
        let workers = try workerSlots(max(1, min(configuration.threads, blockCount)))
        let nanos0 = workers.reduce(UInt64(0)) { $0 + $1.pluginNanos }
        let budget = budget()
        let blocks = (0..<blockCount).map { _ in BlockBox() }
        let next = Cursor()
        let errors = ErrorBox()
        let keep = SuiteResult.counterexampleLimit
        let (timeout, minimumProbe) = (configuration.timeout, configuration.minimumProbeTimeout)
        DispatchQueue.concurrentPerform(iterations: workers.count) { w in
            let slot = workers[w]
            while !budget.exhausted, !errors.isSet, let b = next.take(below: blockCount) {
                let lo = patterns.lowerBound + UInt64(b) * batch
                let hi = min(patterns.upperBound, lo + batch)
                let box = blocks[b]
                var runner = FaultIsolatingRunner(
                    slot: slot, timeout: timeout, minimumProbeTimeout: minimumProbe, budget: budget,
                    outputStride: MemoryLayout<Code>.stride,
                    request: { s, first, n, t throws(PluginError) in
                        try s.request(.sweepFloat32, entry: .float32, start: first, count: n, timeout: t)
                    },
                    consume: { first, n, out in
                        let codes = UnsafeMutableBufferPointer(
                            start: UnsafeMutableRawPointer(mutating: out).assumingMemoryBound(to: Code.self), count: n)
                        ExhaustiveSweep.check(codes, start: first, intervals: intervals, keep: keep, into: &box.result)
                        box.result.covered += UInt64(n)
                    })
                do {
                    try runner.run(lo..<hi)
                } catch {
                    errors.set(error)
                }
                box.faults = runner.faults
                progress?(hi - lo)
            }
        }
        if let e = errors.error { throw e }
        var covered: UInt64 = 0, mismatches: UInt64 = 0
        var examples: [(UInt64, Counterexample)] = []
        var faults: [IsolatedFault] = []
        let values = ExactValueTable(format: format)
        func expected(_ p: UInt64) -> UInt16 { intervals[ExhaustiveSweep.firstInterval(containing: p, in: intervals)].code }
        for box in blocks {
            covered += box.result.covered
            mismatches += box.result.mismatches
            for m in box.result.first where examples.count < keep * 2 {
                examples.append((UInt64(m.0), Counterexample(
                    inputBits: Describe.hex(m.0, digits: 8), inputValue: Describe.float32(m.0),
                    expectedCode: Describe.code(m.1, format), expectedValue: Describe.value(m.1, values),
                    gotCode: Describe.code(m.2, format), gotValue: Describe.value(m.2, values),
                    note: "\(format.name) \(policy)")))
            }
            faults += box.faults
        }
        var faultExamples: [(UInt64, Counterexample)] = []
        for f in faults {
            faultExamples.append((f.inputs.lowerBound, faultExample(
                f, entry: .float32, inputBits: { Describe.hex($0, digits: 8) }, inputValue: { Describe.float32(UInt32($0)) },
                expected: { p in (Describe.code(expected(p), self.format), Describe.value(expected(p), values)) })))
        }
        let expectedCount = UInt64(patterns.count)
        let wall = Date().timeIntervalSince(t0)
        let pluginSeconds = Double(workers.reduce(UInt64(0)) { $0 + $1.pluginNanos } - nanos0) / 1e9
        var parameters = commonParameters(entry: .float32)
        parameters["patterns"] = "\(patterns.lowerBound)..<\(patterns.upperBound)"
        parameters["workers"] = "\(workers.count)"
        if let why = budget.stopReason { parameters["stopped"] = why }
        return SuiteResult(
            suite: PluginSuite.exhaustiveFloat32.rawValue, caseName: caseName,
            passed: mismatches == 0 && faults.isEmpty && covered == expectedCount, covered: covered,
            expected: expectedCount, mismatches: mismatches + UInt64(faults.count),
            counterexamples: Self.select(wrong: examples, faults: faultExamples),
            metrics: [
                Metric(name: "inputs_per_second", value: Double(covered) / max(wall, 1e-9), unit: "1/s"),
                Metric(name: "plugin_seconds", value: pluginSeconds, unit: "s"),
                Metric(name: "faults", value: Double(faults.count)),
                Metric(name: "worker_restarts", value: Double(budget.restarts)),
            ],
            parameters: parameters, wallSeconds: wall)
    }

    private final class Cursor: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        func take(below count: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard next < count else { return nil }
            next += 1
            return next - 1
        }
    }

    // MARK: - Lists of inputs (decode, round trip, Float16/BFloat16, Float64)

    /// Outputs of `entry` for `count` inputs stored contiguously (`inputs`, the entry's input
    /// stride), through worker slot 0: each output widened to UInt32 (code or float bits), with
    /// `valid[i]` false for inputs lost to a fault.
    private struct ListOutputs {
        var outputs: [UInt32]
        var valid: [Bool]
        var faults: [IsolatedFault]
        var restarts: Int
        var stopReason: String?
        var coveredCount: UInt64
    }

    private func runList(_ entry: PluginEntryPoint, inputs: UnsafeRawBufferPointer, count: Int) throws -> ListOutputs {
        let slot = try workerSlots(1)[0]
        let inStride = entry.inputStride(codeBytes: codeBytes), outStride = entry.outputStride(codeBytes: codeBytes)
        precondition(inputs.count == count * inStride)
        final class Sink: @unchecked Sendable {
            var outputs: [UInt32]
            var valid: [Bool]
            init(_ n: Int) {
                outputs = Array(repeating: 0, count: n)
                valid = Array(repeating: false, count: n)
            }
        }
        let sink = Sink(count)
        let budget = budget()
        var runner = FaultIsolatingRunner(
            slot: slot, timeout: configuration.timeout, minimumProbeTimeout: configuration.minimumProbeTimeout,
            budget: budget, outputStride: outStride,
            request: { s, first, n, t throws(PluginError) in
                s.input.copyMemory(from: inputs.baseAddress! + Int(first) * inStride, byteCount: n * inStride)
                return try s.request(.call, entry: entry, start: first, count: n, timeout: t)
            },
            consume: { first, n, out in
                for i in 0..<n {
                    let v: UInt32
                    switch outStride {
                    case 1: v = UInt32(out.load(fromByteOffset: i, as: UInt8.self))
                    case 2: v = UInt32(out.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    default: v = out.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    }
                    sink.outputs[Int(first) + i] = v
                    sink.valid[Int(first) + i] = true
                }
            })
        try runner.run(0..<UInt64(count))
        return ListOutputs(
            outputs: sink.outputs, valid: sink.valid, faults: runner.faults, restarts: budget.restarts,
            stopReason: budget.stopReason, coveredCount: runner.covered)
    }

    /// One case from list outputs: `isCorrect(i, output)` decides, `mismatch(i, output)` explains
    /// a wrong output, `describe(i)` names input i for faults, `expected(i)` its oracle result.
    private func listResult(
        suite: PluginSuite, caseName: String, entry: PluginEntryPoint, count: Int, run: ListOutputs, t0: Date,
        isCorrect: (Int, UInt32) -> Bool, mismatch: (Int, UInt32) -> Counterexample,
        describe: @escaping (Int) -> (bits: String, value: String), expected: @escaping (Int) -> (code: String, value: String),
        extra: [String: String] = [:]
    ) -> SuiteResult {
        var mismatches: UInt64 = 0
        var examples: [(UInt64, Counterexample)] = []
        for i in 0..<count where run.valid[i] && !isCorrect(i, run.outputs[i]) {
            mismatches += 1
            if examples.count < SuiteResult.counterexampleLimit { examples.append((UInt64(i), mismatch(i, run.outputs[i]))) }
        }
        var faultExamples: [(UInt64, Counterexample)] = []
        for f in run.faults {
            faultExamples.append((f.inputs.lowerBound, faultExample(
                f, entry: entry, inputBits: { describe(Int($0)).bits }, inputValue: { describe(Int($0)).value },
                expected: { expected(Int($0)) })))
        }
        var parameters = commonParameters(entry: entry).merging(extra) { _, b in b }
        if let why = run.stopReason { parameters["stopped"] = why }
        return SuiteResult(
            suite: suite.rawValue, caseName: caseName,
            passed: mismatches == 0 && run.faults.isEmpty && run.coveredCount == UInt64(count),
            covered: run.coveredCount, expected: UInt64(count), mismatches: mismatches + UInt64(run.faults.count),
            counterexamples: Self.select(wrong: examples, faults: faultExamples),
            metrics: [Metric(name: "faults", value: Double(run.faults.count)), Metric(name: "worker_restarts", value: Double(run.restarts))],
            parameters: parameters, wallSeconds: Date().timeIntervalSince(t0))
    }

    private func codeInputs(_ codes: [UInt16]) -> [UInt8] {
        codeBytes == 1 ? codes.map { UInt8(truncatingIfNeeded: $0) } : codes.withUnsafeBytes { Array($0) }
    }

    // MARK: Decode

    private func decodeSuite() throws -> SuiteResult {
        let t0 = Date()
        let table = ExactValueTable(format: format)
        let codes = (0..<format.codeCount).map { UInt16($0) }
        let bytes = codeInputs(codes)
        let run = try bytes.withUnsafeBytes { try runList(.decode, inputs: $0, count: codes.count) }
        func ok(_ i: Int, _ bits: UInt32) -> Bool {
            let exact = table[UInt16(i)], got = Float(bitPattern: bits)
            switch exact.codeClass {
            case .nan: return got.isNaN
            case .infinity: return got.isInfinite && (got < 0) == exact.isNegative
            default: return Double(got).bitPattern == exact.double.bitPattern
            }
        }
        func gotValue(_ bits: UInt32) -> String { "\(Float(bitPattern: bits)) (float bits \(Describe.hex(bits, digits: 8)))" }
        return listResult(
            suite: .decode, caseName: format.name, entry: .decode, count: codes.count, run: run, t0: t0, isCorrect: ok,
            mismatch: { i, bits in
                let c = Describe.code(UInt16(i), self.format)
                return Counterexample(
                    inputBits: c, inputValue: "code", expectedCode: c, expectedValue: table[UInt16(i)].description,
                    gotCode: c, gotValue: gotValue(bits), note: "\(self.format.name) decode")
            },
            describe: { (Describe.code(UInt16($0), self.format), "code") },
            expected: { (Describe.code(UInt16($0), self.format), table[UInt16($0)].description) })
    }

    // MARK: Round trip

    /// decode → encode is the identity for every non-NaN code under the plugin's policy (±∞ codes
    /// follow the policy's ∞ rule: ±max under sat, OCP Table 3); NaN codes must give a NaN code.
    /// The decoded values come from the oracle's exact table, so this checks the encoders alone.
    private func roundTripSuite() throws -> [SuiteResult] {
        let table = ExactValueTable(format: format)
        let codes = (0..<format.codeCount).map { UInt16($0) }
        func expectedCode(_ c: UInt16) -> UInt16 {
            format.classify(c) == .infinity ? format.codeForInfinity(negative: format.sign(of: c), policy: policy) : c
        }
        func value(_ c: UInt16) -> Double {
            table[c].codeClass == .nan ? (table[c].isNegative ? -Double.nan : .nan) : table[c].double
        }
        var results: [SuiteResult] = []
        for entry in [PluginEntryPoint.float32, .float64] where hello.found.contains(entry) {
            let t0 = Date()
            let run: ListOutputs
            if entry == .float32 {
                let xs = codes.map { Float(value($0)) }
                run = try xs.withUnsafeBytes { try runList(entry, inputs: $0, count: xs.count) }
            } else {
                let xs = codes.map(value)
                run = try xs.withUnsafeBytes { try runList(entry, inputs: $0, count: xs.count) }
            }
            let isNaNCode = { (c: UInt16) in self.format.classify(c) == .nan }
            results.append(listResult(
                suite: .roundtrip, caseName: "\(caseName)/\(entry.key)", entry: entry, count: codes.count, run: run, t0: t0,
                isCorrect: { i, got in
                    let c = UInt16(i)
                    return isNaNCode(c) ? got < UInt32(self.format.codeCount) && isNaNCode(UInt16(got)) : got == UInt32(expectedCode(c))
                },
                mismatch: { i, got in
                    let c = UInt16(i), e = expectedCode(c), g = UInt16(truncatingIfNeeded: got)
                    return Counterexample(
                        inputBits: Describe.code(c, self.format), inputValue: "\(value(c))",
                        expectedCode: isNaNCode(c) ? "a NaN code" : Describe.code(e, self.format),
                        expectedValue: Describe.value(e, table),
                        gotCode: got > UInt32(UInt16.max) ? Describe.hex(got, digits: 8) : Describe.code(g, self.format),
                        gotValue: got < UInt32(self.format.codeCount) ? Describe.value(g, table) : "invalid code",
                        note: "\(self.format.name) \(self.policy) via \(self.configuration.symbols[entry])")
                },
                describe: { (Describe.code(UInt16($0), self.format), "\(value(UInt16($0)))") },
                expected: { (Describe.code(expectedCode(UInt16($0)), self.format), Describe.value(expectedCode(UInt16($0)), table)) }))
        }
        return results
    }

    // MARK: Float16 / BFloat16 inputs

    private func halfSuite() throws -> [SuiteResult] {
        let oracle = try RoundingOracle(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        let inputs = (0...UInt16.max).map { $0 }
        var results: [SuiteResult] = []
        for entry in [PluginEntryPoint.float16, .bfloat16] where hello.found.contains(entry) {
            let t0 = Date()
            let half = entry == .float16
            let expected = inputs.map { half ? oracle.code(forBinary16Bits: $0) : oracle.code(forBFloat16Bits: $0) }
            let run = try inputs.withUnsafeBytes { try runList(entry, inputs: $0, count: inputs.count) }
            func describe(_ i: Int) -> (bits: String, value: String) {
                let b = UInt16(i)
                let f32 = half ? NarrowFloatCodec.float32Bits(fromFloat16Bits: b) : UInt32(b) << 16
                return (Describe.hex(b, digits: 4), Describe.float32(f32))
            }
            let kind = half ? HalfInputSuite.Kind.float16 : .bfloat16
            results.append(listResult(
                suite: .exhaustiveHalf, caseName: "\(kind.rawValue)/\(caseName)", entry: entry, count: inputs.count, run: run,
                t0: t0, isCorrect: { i, got in got == UInt32(expected[i]) },
                mismatch: { i, got in
                    let g = UInt16(truncatingIfNeeded: got)
                    return Counterexample(
                        inputBits: describe(i).bits, inputValue: describe(i).value,
                        expectedCode: Describe.code(expected[i], self.format), expectedValue: Describe.value(expected[i], values),
                        gotCode: Describe.code(g, self.format), gotValue: Describe.value(g, values),
                        note: "\(kind.rawValue) → \(self.format.name) \(self.policy)")
                },
                describe: describe,
                expected: { (Describe.code(expected[$0], self.format), Describe.value(expected[$0], values)) }))
        }
        return results
    }

    // MARK: Float64

    private func float64Suite(randomCount: Int) throws -> SuiteResult {
        let t0 = Date()
        let inputs = Float64Suite.probes(format: format, randomCount: randomCount, seed: Float64Suite.seed)
        let oracle = try RoundingOracle(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        // The oracle's answers, computed in parallel slices.
        let parts = max(1, min(configuration.threads, inputs.count / 10_000))
        let per = (inputs.count + parts - 1) / parts
        let box = ResultsBox<(Int, [UInt16])>(count: parts)
        DispatchQueue.concurrentPerform(iterations: parts) { j in
            let range = (j * per)..<min(inputs.count, (j + 1) * per)
            box.set(j, (j, range.map { oracle.code(forFloat64: inputs[$0]) }))
        }
        let expected = box.all().sorted { $0.0 < $1.0 }.flatMap { $0.1 }
        let run = try inputs.withUnsafeBytes { try runList(.float64, inputs: $0, count: inputs.count) }
        func describe(_ i: Int) -> (bits: String, value: String) {
            (Describe.hex(inputs[i].bitPattern, digits: 16), "\(inputs[i]) (\(Describe.hexFloat(inputs[i])))")
        }
        return listResult(
            suite: .float64, caseName: caseName, entry: .float64, count: inputs.count, run: run, t0: t0,
            isCorrect: { i, got in got == UInt32(expected[i]) },
            mismatch: { i, got in
                let g = UInt16(truncatingIfNeeded: got)
                return Counterexample(
                    inputBits: describe(i).bits, inputValue: describe(i).value,
                    expectedCode: Describe.code(expected[i], self.format), expectedValue: Describe.value(expected[i], values),
                    gotCode: Describe.code(g, self.format), gotValue: Describe.value(g, values),
                    note: "\(self.format.name) \(self.policy)")
            },
            describe: describe,
            expected: { (Describe.code(expected[$0], self.format), Describe.value(expected[$0], values)) },
            extra: ["seed": "\(Float64Suite.seed)", "random": "\(randomCount)"])
    }

    // MARK: - Reporting

    /// A fault as a counterexample: the input (or input range) it happened on, what the oracle
    /// expected there, and what the plugin did instead.
    private func faultExample(
        _ f: IsolatedFault, entry: PluginEntryPoint, inputBits: (UInt64) -> String, inputValue: (UInt64) -> String,
        expected: (UInt64) -> (code: String, value: String)
    ) -> Counterexample {
        let symbol = configuration.symbols[entry]
        let call = f.firstCall
        let callText = "\(symbol) call on inputs \(inputBits(call.lowerBound))…\(inputBits(call.upperBound - 1)) (n = \(call.count))"
        if f.inputs.count == 1 {
            let e = expected(f.inputs.lowerBound)
            let how = call.count == 1 ? "" : "; isolated to this input by bisection in fresh workers"
            return Counterexample(
                inputBits: inputBits(f.inputs.lowerBound), inputValue: inputValue(f.inputs.lowerBound),
                expectedCode: e.code, expectedValue: e.value, gotCode: f.fault.label, gotValue: f.fault.description,
                note: "\(callText)\(how); the worker was restarted")
        }
        let first = f.inputs.lowerBound, last = f.inputs.upperBound - 1
        let why = f.reproduced ? "fault isolation stopped (budget spent)" : "no part of the call faulted when rerun alone (state- or time-dependent)"
        return Counterexample(
            inputBits: "\(inputBits(first))…\(inputBits(last))", inputValue: "\(f.inputs.count) inputs from \(inputValue(first))",
            expectedCode: "—", expectedValue: "—", gotCode: f.fault.label, gotValue: f.fault.description,
            note: "\(callText); \(why)")
    }

    /// At most `counterexampleLimit` examples in input order: the first wrong outputs and the
    /// first faults, with up to half the places kept for faults so that a crash is never pushed
    /// out of the report by earlier wrong codes (and vice versa).
    private static func select(wrong: [(UInt64, Counterexample)], faults: [(UInt64, Counterexample)]) -> [Counterexample] {
        let limit = SuiteResult.counterexampleLimit
        let byInput = { (xs: [(UInt64, Counterexample)]) in
            xs.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        }
        let w = byInput(wrong), f = byInput(faults)
        let keepFaults = min(f.count, max(limit / 2, limit - w.count))
        let kept = Array(f.prefix(keepFaults)) + Array(w.prefix(limit - keepFaults))
        return byInput(kept).map(\.1)
    }
}
