import Conformance
import Dispatch
import Foundation
import Formats

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
    /// How the library's NaN codes compare with the oracle's (`--nan`).
    public var nanMatching: NaNMatching

    public init(
        library: String, format: FloatFormat, policy: ConversionPolicy, symbols: PluginSymbols,
        launch: PluginWorkerLaunch = .currentExecutable(), timeout: Double = 60, threads: Int = 2,
        batch: Int = 1 << 22, chunk: Int = 65_521, minimumProbeTimeout: Double = 1,
        maxIsolatedFaults: Int = SuiteResult.counterexampleLimit, maxRestarts: Int = 400,
        nanMatching: NaNMatching = .canonical
    ) {
        self.nanMatching = nanMatching
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

/// A loaded plugin: the library checked, its entry points found by a first worker, and the
/// worker slots reused by the suites. Close it (or let it go) to stop every worker.
///
/// The session is a `ConversionUnderTest`: `conform` runs the same suite code as `verify`
/// (`ConversionSuite.run`), which compares the plugin's outputs with the same oracle. Crashes,
/// hangs and out-of-bounds accesses are returned as `ConversionFault`s pinned to the input by
/// bisection (see `FaultIsolatingRunner`), which the suites turn into failing counterexamples;
/// the run itself continues.
public final class PluginSession: @unchecked Sendable {
    public let configuration: PluginConfiguration
    /// The resolved library path.
    public let library: String
    public let hello: PluginHello
    private var slots: [PluginWorkerSlot]
    private let codeBytes: Int
    /// The fault budget and plugin time of the case being run (one case at a time).
    private let currentCase: Locked<CaseState>

    public init(_ configuration: PluginConfiguration) throws(PluginError) {
        guard configuration.timeout > 0, configuration.timeout.isFinite else { throw .invalidTimeout(configuration.timeout) }
        guard configuration.threads >= 1 else { throw .invalidThreadCount(configuration.threads) }
        precondition(configuration.batch >= 1 && configuration.chunk >= 1, "batch and chunk must be positive")
        self.configuration = configuration
        currentCase = Locked(CaseState(budget: Self.freshBudget(configuration), nanos: [:], workers: 0))
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
    /// suite with one (`inputs` only when the user supplies inputs: `givenInputs`).
    public func plan(_ requested: [String], givenInputs: Bool = false) throws(PluginError) -> [ConversionSuite] {
        let known = ConversionSuite.allCases.map(\.rawValue)
        let has = entries
        var wanted: [ConversionSuite] = []
        for name in requested {
            guard let s = ConversionSuite(rawValue: name) else { throw .unknownSuite(name, known: known) }
            guard s.entries.contains(where: has.contains) else {
                throw .suiteNeedsEntryPoint(suite: name, needs: s.entries.compactMap(PluginEntryPoint.init).map { configuration.symbols[$0] })
            }
            wanted.append(s)
        }
        if requested.isEmpty {
            return ConversionSuite.allCases.filter {
                $0.entries.contains(where: has.contains) && ($0 != .givenInputs || givenInputs)
            }
        }
        return ConversionSuite.allCases.filter(wanted.contains)
    }

    /// Runs the suites on this plugin (`ConversionSuite.run`): one result per case, in suite
    /// order, the sweep on `configuration.threads` workers.
    public func run(
        suites: [ConversionSuite], patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        float64RandomCount: Int = Float64Suite.randomCount(exhaustive: false), givenInputs: SuppliedInputs? = nil,
        progress: (@Sendable (UInt64) -> Void)? = nil
    ) -> [SuiteResult] {
        ConversionSuite.run(
            suites, on: self, patterns: patterns, float64RandomCount: float64RandomCount, givenInputs: givenInputs,
            threads: configuration.threads, progress: progress)
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

    private struct CaseState {
        var budget: FaultBudget
        /// Plugin nanoseconds of each slot when the case began.
        var nanos: [ObjectIdentifier: UInt64]
        /// Sweep workers used by the case.
        var workers: Int
    }

    private var budget: FaultBudget { currentCase.withLock { $0.budget } }

    private static func freshBudget(_ c: PluginConfiguration) -> FaultBudget {
        FaultBudget(maxIsolated: c.maxIsolatedFaults, maxEvents: c.maxRestarts)
    }

    /// Runs `count` inputs (or Float32 patterns, for `.sweepFloat32`) through `entry` on worker
    /// `worker` under the case's fault budget, hands over the outputs of every good request, and
    /// returns the faults isolated.
    private func call(
        _ op: PluginWorkerSlot.Operation, entry: PluginEntryPoint, worker: Int, range: Range<UInt64>,
        input: UnsafeRawBufferPointer?, consume: @escaping FaultIsolatingRunner.Consume
    ) throws -> [ConversionFault] {
        let slot = try workerSlots(worker + 1)[worker]
        let inStride = entry.inputStride(codeBytes: codeBytes)
        var runner = FaultIsolatingRunner(
            slot: slot, timeout: configuration.timeout, minimumProbeTimeout: configuration.minimumProbeTimeout,
            budget: budget, outputStride: entry.outputStride(codeBytes: codeBytes),
            request: { s, first, n, t throws(PluginError) in
                if let input { s.input.copyMemory(from: input.baseAddress! + Int(first) * inStride, byteCount: n * inStride) }
                return try s.request(op, entry: entry, start: first, count: n, timeout: t)
            },
            consume: consume)
        try runner.run(range)
        return runner.faults.map {
            ConversionFault(
                inputs: $0.inputs, call: $0.firstCall, label: $0.fault.label, description: $0.fault.description,
                reproduced: $0.reproduced)
        }
    }

    /// A list call: inputs stored contiguously, outputs of `Output` (codes widened from one or
    /// two bytes, or Float32).
    private func list<Input, Output>(
        _ entry: ConversionEntry, _ inputs: UnsafeBufferPointer<Input>, deliver: Delivery<Output>,
        read: @escaping (UnsafeRawPointer, Int) -> Output
    ) throws -> [ConversionFault] {
        guard let e = PluginEntryPoint(entry), hello.found.contains(e) else { throw UnsupportedEntry(entry) }
        let stride = e.outputStride(codeBytes: codeBytes)
        return try withoutActuallyEscaping(deliver) { deliver in
            try call(.call, entry: e, worker: 0, range: 0..<UInt64(inputs.count), input: UnsafeRawBufferPointer(inputs)) { first, n, out in
                let values = (0..<n).map { read(out, $0 * stride) }
                values.withUnsafeBufferPointer { deliver(Int(first), $0) }
            }
        }
    }

    private func readCode(_ out: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        codeBytes == 1 ? UInt16(out.load(fromByteOffset: offset, as: UInt8.self)) : out.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
    }
}

extension PluginEntryPoint {
    /// The plugin entry point behind a suite's entry (nil for entries the C ABI does not have).
    init?(_ entry: ConversionEntry) {
        switch entry {
        case .float32: self = .float32
        case .float64: self = .float64
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        case .decode: self = .decode
        case .decodeFloat64, .stochasticFloat32: return nil
        }
    }

    /// The suites' name of this entry point.
    var conversionEntry: ConversionEntry {
        switch self {
        case .float32: return .float32
        case .float64: return .float64
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        case .decode: return .decode
        }
    }
}

extension PluginSession: ConversionUnderTest {
    public var format: FloatFormat { configuration.format }
    public var policy: ConversionPolicy { configuration.policy }
    public var nanMatching: NaNMatching { configuration.nanMatching }
    public var entries: Set<ConversionEntry> { Set(hello.found.map(\.conversionEntry)) }

    public func name(of entry: ConversionEntry) -> String {
        PluginEntryPoint(entry).map { configuration.symbols[$0] } ?? entry.rawValue
    }

    public func parameters(for entry: ConversionEntry?) -> [String: String] {
        var p = [
            "library": library, "format": format.name, "overflow": policy.overflow.rawValue,
            "rounding": policy.rounding.rawValue, "profile": policy.profile.rawValue,
        ]
        if let e = entry.flatMap(PluginEntryPoint.init) { p["symbol"] = configuration.symbols[e] }
        p["nan"] = nanMatching.rawValue
        if !hello.info.isEmpty { p["plugin"] = hello.info }
        return p
    }

    /// A fresh fault budget per case (each fault costs worker restarts).
    public func beginCase() {
        let nanos = Dictionary(uniqueKeysWithValues: slots.map { (ObjectIdentifier($0), $0.pluginNanos) })
        currentCase.withLock {
            $0 = CaseState(budget: Self.freshBudget(configuration), nanos: nanos, workers: 0)
        }
    }

    public var caseStopped: Bool { budget.exhausted }

    /// Faults and worker restarts of the case, why it stopped; for the sweep also its throughput,
    /// the time spent inside the plugin (summed over workers) and the worker count.
    public func endCase(_ summary: CaseSummary) -> CaseReport {
        let state = currentCase.withLock { $0 }
        var report = CaseReport()
        if summary.isSweep {
            let nanos = slots.prefix(state.workers).reduce(UInt64(0)) { $0 + $1.pluginNanos - (state.nanos[ObjectIdentifier($1)] ?? 0) }
            report.metrics += [
                Metric(name: "inputs_per_second", value: Double(summary.covered) / max(summary.wallSeconds, 1e-9), unit: "1/s"),
                Metric(name: "plugin_seconds", value: Double(nanos) / 1e9, unit: "s"),
            ]
            report.parameters["workers"] = "\(state.workers)"
        }
        report.metrics += [
            Metric(name: "faults", value: Double(summary.faults)),
            Metric(name: "worker_restarts", value: Double(state.budget.restarts)),
        ]
        if let why = state.budget.stopReason { report.parameters["stopped"] = why }
        return report
    }

    public func encode(_ inputs: UnsafeBufferPointer<Float>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try list(.float32, inputs, deliver: deliver, read: readCode)
    }

    public func encode(_ inputs: UnsafeBufferPointer<Double>, route: Int, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try list(.float64, inputs, deliver: deliver, read: readCode)
    }

    public func encode(float16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try list(.float16, float16Bits, deliver: deliver, read: readCode)
    }

    public func encode(bfloat16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try list(.bfloat16, bfloat16Bits, deliver: deliver, read: readCode)
    }

    public func encode(
        _ inputs: UnsafeBufferPointer<Float>, randomBits: UnsafeBufferPointer<UInt64>, deliver: Delivery<UInt16>
    ) throws -> [ConversionFault] {
        throw UnsupportedEntry(.stochasticFloat32)
    }

    /// Codes are passed in the plugin's code width (one byte for formats of at most 8 bits).
    public func decode(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Float>) throws -> [ConversionFault] {
        let read = { (out: UnsafeRawPointer, offset: Int) in Float(bitPattern: out.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        if codeBytes == 2 { return try list(.decode, codes, deliver: deliver, read: read) }
        let narrow = codes.map { UInt8(truncatingIfNeeded: $0) }
        return try narrow.withUnsafeBufferPointer { try list(.decode, $0, deliver: deliver, read: read) }
    }

    public func decodeFloat64(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Double>) throws -> [ConversionFault] {
        throw UnsupportedEntry(.decodeFloat64)
    }

    public var sweepBlockSize: Int { configuration.batch }

    public func prepareSweep(workers: Int) throws -> Int {
        let n = try workerSlots(workers).count
        currentCase.withLock { $0.workers = n }
        return n
    }

    /// The worker generates the patterns itself (`.sweepFloat32`); the codes are checked where
    /// they lie, in the worker's shared memory.
    public func encodeFloat32Patterns<Code: SweepCode>(
        _ patterns: Range<UInt64>, worker: Int, codeType: Code.Type, deliver: (UInt64, UnsafeBufferPointer<Code>) -> Void
    ) throws -> [ConversionFault] {
        precondition(MemoryLayout<Code>.stride == codeBytes, "sweep code width differs from the plugin's")
        return try withoutActuallyEscaping(deliver) { deliver in
            try call(.sweepFloat32, entry: .float32, worker: worker, range: patterns, input: nil) { first, n, out in
                deliver(first, UnsafeBufferPointer(start: out.assumingMemoryBound(to: Code.self), count: n))
            }
        }
    }
}
