import Dispatch
import Foundation
import Formats
import Oracle
import Quant

// MARK: - 3. Exhaustive Float32

/// All 2^32 Float32 bit patterns through the encoder under test, compared with the oracle's
/// interval table of the same (format, policy).
public enum ExhaustiveFloat32Suite {
    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try ConformanceRunner.codecs(o).map { try run($0, patterns: o.patterns, threads: o.threads, progress: o.progress) }
    }

    /// Sweeps `patterns` through the implementation's Float32 encoder and compares every code
    /// with the oracle's interval table of its (format, policy). `covered` must equal
    /// `patterns.count` for the case to pass. Blocks are scheduled by `ExhaustiveSweep`, one
    /// implementation worker per thread.
    public static func run(
        _ implementation: some ConversionUnderTest, patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        threads: Int, progress: (@Sendable (UInt64) -> Void)? = nil
    ) throws -> SuiteResult {
        let t0 = Date()
        let (format, policy) = (implementation.format, implementation.policy)
        let domain = implementation.float32SweepDomain
        guard patterns.lowerBound >= domain.lowerBound, patterns.upperBound <= domain.upperBound else {
            throw OutsideSweepDomain(patterns: patterns, domain: domain)
        }
        let table = try OracleTables.intervals(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        let blockSize = UInt64(implementation.sweepBlockSize)
        let blocks = Int((UInt64(patterns.count) + blockSize - 1) / blockSize)
        implementation.beginCase()
        let workers = try implementation.prepareSweep(workers: max(1, min(threads, blocks)))
        let explain: @Sendable (UInt32, UInt16, UInt16) -> Counterexample = { p, e, g in
            Counterexample(
                inputBits: Describe.hex(p, digits: 8), inputValue: Describe.float32(p),
                expectedCode: Describe.code(e, format), expectedValue: Describe.value(e, values),
                gotCode: Describe.code(g, format), gotValue: Describe.value(g, values), note: "\(format.name) \(policy)")
        }
        let box = UncheckedBox(implementation)
        func sweep<Code: SweepCode>(_: Code.Type) throws -> (MismatchRecorder, [ConversionFault]) {
            try ExhaustiveSweep.run(
                patterns: patterns, blockSize: blockSize, workers: workers, intervals: table, progress: progress,
                stop: { box.value.caseStopped }, explain: explain, matcher: implementation.codeMatcher
            ) { (w: Int, range: Range<UInt64>, deliver: (UInt64, UnsafeBufferPointer<Code>) -> Void) in
                try box.value.encodeFloat32Patterns(range, worker: w, codeType: Code.self, deliver: deliver)
            }
        }
        let (recorder, faults) = format.bitWidth <= 8 ? try sweep(UInt8.self) : try sweep(UInt16.self)
        var evidence = CaseEvidence(wrong: recorder)
        func expected(_ p: UInt64) -> UInt16 { table[ExhaustiveSweep.firstInterval(containing: p, in: table)].code }
        evidence.record(
            faults, site: implementation.name(of: .float32),
            describe: { (Describe.hex($0, digits: 8), Describe.float32(UInt32($0))) },
            expected: { (Describe.code(expected($0), format), Describe.value(expected($0), values)) })
        var parameters = implementation.parameters(for: .float32)
        parameters.merge([
            "format": format.name, "overflow": policy.overflow.rawValue, "rounding": policy.rounding.rawValue,
            "profile": policy.profile.rawValue, "patterns": "\(patterns.lowerBound)..<\(patterns.upperBound)",
        ]) { _, b in b }
        return evidence.result(
            suite: "exhaustive-f32", caseName: ConformanceRunner.caseName(format, policy), expected: UInt64(patterns.count),
            implementations: [implementation], parameters: parameters, since: t0, isSweep: true)
    }

    /// A Swift encoder of consecutive patterns (`encode(start, out)` writes the codes of patterns
    /// `start ..< start + out.count`) swept as an implementation under test.
    public static func run<Code: SweepCode>(
        format: FloatFormat, policy: ConversionPolicy, patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        threads: Int, progress: (@Sendable (UInt64) -> Void)? = nil, codeType: Code.Type, chunk: Int = 1 << 16,
        encode: @escaping @Sendable (UInt32, UnsafeMutableBufferPointer<Code>) -> Void
    ) throws -> SuiteResult {
        let functions = CodecUnderTest.Functions(
            sweep8: encode as? @Sendable (UInt32, UnsafeMutableBufferPointer<UInt8>) -> Void,
            sweep16: encode as? @Sendable (UInt32, UnsafeMutableBufferPointer<UInt16>) -> Void)
        return try run(
            CodecUnderTest(format: format, policy: policy, functions: functions, chunk: chunk), patterns: patterns,
            threads: threads, progress: progress)
    }
}

/// A reference handed to the sweep's worker threads; the implementation is used by one thread
/// per worker index, as `ConversionUnderTest.encodeFloat32Patterns` requires.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Interval tables are built once per (format, policy) per process.
enum OracleTables {
    private static let cache = Locked<[String: [RoundingIntervalTable.Interval]]>([:])

    static func intervals(format: FloatFormat, policy: ConversionPolicy) throws -> [RoundingIntervalTable.Interval] {
        let key = "\(format.name)|\(policy)"
        if let t = cache.withLock({ $0[key] }) { return t }
        let table = try RoundingIntervalTable(format: format, policy: policy).intervals
        cache.withLock { $0[key] = table }
        return table
    }
}

// MARK: - 4. Exhaustive Float16 and BFloat16 inputs

public enum HalfInputSuite {
    public enum Kind: String, CaseIterable, Sendable {
        case float16 = "f16", bfloat16 = "bf16"

        /// The entry point that takes this kind of input.
        public var entry: ConversionEntry { self == .float16 ? .float16 : .bfloat16 }
    }

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        let codecs = ConformanceRunner.codecs(o)
        return try Kind.allCases.flatMap { kind in try codecs.map { try run(kind: kind, $0) } }
    }

    /// All 65,536 inputs of `kind` through the implementation's encoder, against the oracle.
    public static func run(kind: Kind, _ implementation: some ConversionUnderTest) throws -> SuiteResult {
        let t0 = Date()
        let (format, policy) = (implementation.format, implementation.policy)
        let oracle = try RoundingOracle(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        let inputs = (0...UInt16.max).map { $0 }
        let expected = inputs.map { kind == .float16 ? oracle.code(forBinary16Bits: $0) : oracle.code(forBFloat16Bits: $0) }
        func describe(_ i: UInt64) -> (bits: String, value: String) {
            let b = UInt16(i)
            let f32 = kind == .float16 ? NarrowFloatCodec.float32Bits(fromFloat16Bits: b) : UInt32(b) << 16
            return (Describe.hex(b, digits: 4), Describe.float32(f32))
        }
        var evidence = CaseEvidence()
        let matcher = implementation.codeMatcher
        implementation.beginCase()
        let deliver: Delivery<UInt16> = { first, out in
            for (k, got) in out.enumerated() {
                let i = first + k
                evidence.wrong.check(matcher.matches(expected: expected[i], got: got), at: UInt64(i)) {
                    Counterexample(
                        inputBits: describe(UInt64(i)).bits, inputValue: describe(UInt64(i)).value,
                        expectedCode: Describe.code(expected[i], format), expectedValue: Describe.value(expected[i], values),
                        gotCode: Describe.code(got, format), gotValue: Describe.value(got, values),
                        note: "\(kind.rawValue) → \(format.name) \(policy)")
                }
            }
        }
        let faults = try inputs.withUnsafeBufferPointer {
            kind == .float16
                ? try implementation.encode(float16Bits: $0, deliver: deliver)
                : try implementation.encode(bfloat16Bits: $0, deliver: deliver)
        }
        evidence.record(
            faults, site: implementation.name(of: kind.entry), describe: describe,
            expected: { (Describe.code(expected[Int($0)], format), Describe.value(expected[Int($0)], values)) })
        return evidence.result(
            suite: "exhaustive-f16", caseName: "\(kind.rawValue)/\(ConformanceRunner.caseName(format, policy))",
            expected: UInt64(inputs.count), implementations: [implementation],
            parameters: implementation.parameters(for: kind.entry), since: t0)
    }

    /// A Swift encoder of binary16 or bfloat16 bit patterns as an implementation under test.
    public static func run(
        kind: Kind, format: FloatFormat, policy: ConversionPolicy, encode: @escaping (UInt16) -> UInt16
    ) throws -> SuiteResult {
        let functions = kind == .float16
            ? CodecUnderTest.Functions(encodeFloat16: encode) : CodecUnderTest.Functions(encodeBFloat16: encode)
        return try run(kind: kind, CodecUnderTest(format: format, policy: policy, functions: functions))
    }
}

// MARK: - 5. Float64

public enum Float64Suite {
    /// Random doubles per (format, policy): 10^5 by default (2.6·10^6 over the 26 default cases),
    /// 10^6 with `--exhaustive` (10^8 over its 104 cases).
    public static func randomCount(exhaustive: Bool) -> Int { exhaustive ? 1_000_000 : 100_000 }
    public static let seed: UInt64 = 0x5EED_F64

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try ConformanceRunner.codecs(o).map {
            try run($0, randomCount: randomCount(exhaustive: o.exhaustive), seed: seed, threads: o.threads)
        }
    }

    /// The probe set: for every pair of neighbouring finite codes (by magnitude, both signs),
    /// the exact midpoint (exact in binary64 for every format here) and ±1, ±2 ulps around it;
    /// around max finite the midpoint towards the next would-be value (the overflow threshold);
    /// then `randomCount` seeded doubles — half uniform bit patterns (the whole exponent range),
    /// half with exponents uniform over the format's range ±4 binades.
    public static func probes(format: FloatFormat, randomCount: Int, seed: UInt64) -> [Double] {
        var values: [Double] = []
        var mags: [Double] = []
        for c in 0..<format.codeCount {
            if let v = format.finiteValue(of: UInt16(c)), !v.negative { mags.append(FloatFormat.double(v)) }
        }
        mags.sort()
        // The next value a format with an unbounded exponent would have above max.
        let top = mags.last!
        let ulpTop = format.mantissaBits == 0 ? top : Double(sign: .plus, exponent: top.exponent - format.mantissaBits, significand: 1)
        mags.append(top + ulpTop)
        func around(_ m: Double) -> [Double] {
            [m, m.nextUp, m.nextDown, m.nextUp.nextUp, m.nextDown.nextDown]
        }
        for i in 0..<(mags.count - 1) {
            let mid = (mags[i] + mags[i + 1]) / 2
            for x in around(mid) + [mags[i]] { values.append(x); values.append(-x) }
        }
        if !format.hasSubnormals || mags[0] != 0 {
            // Below the smallest value (E8M0): half of it and around it.
            for x in around(mags[0] / 2) { values.append(x); values.append(-x) }
        }
        values += [0, -0.0, .infinity, -.infinity, .nan, -.nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                   .greatestFiniteMagnitude, -.greatestFiniteMagnitude, -431.99999999999994]
        var rng = SplitMix64(seed: seed)
        let lowExp = format.minNormalExponent - format.mantissaBits - 4
        let highExp = Int(top.exponent) + 4
        for i in 0..<randomCount {
            let r = rng.next()
            if i % 2 == 0 {
                values.append(Double(bitPattern: r))
            } else {
                let e = lowExp + Int(r % UInt64(highExp - lowExp + 1))
                let sig = Double(bitPattern: (rng.next() >> 12) | 0x3FF0_0000_0000_0000)  // [1, 2)
                let x = Double(sign: r & (1 << 63) != 0 ? .minus : .plus, exponent: e, significand: sig)
                values.append(x)
            }
        }
        return values
    }

    /// Checks every Float64 route of the implementation (`float64Routes`: the in-process codec's
    /// scalar encoder and its bulk API, whose vectorised path takes its own route through
    /// Float32) on every probe: a probe counts as one mismatch when any route differs from the
    /// oracle, and is covered when every route produced its code. The oracle's answers are
    /// computed on `threads` threads.
    public static func run(
        _ implementation: some ConversionUnderTest, randomCount: Int, seed: UInt64, threads: Int
    ) throws -> SuiteResult {
        let t0 = Date()
        let (format, policy) = (implementation.format, implementation.policy)
        let inputs = probes(format: format, randomCount: randomCount, seed: seed)
        let oracle = try RoundingOracle(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        var expected = [UInt16](repeating: 0, count: inputs.count)
        let parts = max(1, min(threads, inputs.count / 10_000))
        let per = (inputs.count + parts - 1) / parts
        expected.withUnsafeMutableBufferPointer { out in
            let out = UncheckedBox(out)
            DispatchQueue.concurrentPerform(iterations: parts) { j in
                for i in (j * per)..<min(inputs.count, (j + 1) * per) { out.value[i] = oracle.code(forFloat64: inputs[i]) }
            }
        }
        func describe(_ i: UInt64) -> (bits: String, value: String) {
            let x = inputs[Int(i)]
            return (Describe.hex(x.bitPattern, digits: 16), "\(x) (\(Describe.hexFloat(x)))")
        }
        var evidence = CaseEvidence()
        implementation.beginCase()
        let routes = implementation.float64Routes
        let outputs = try inputs.withUnsafeBufferPointer { xs in
            try routes.indices.map { r in
                try BatchOutputs(count: xs.count, zero: UInt16(0)) { try implementation.encode(xs, route: r, deliver: $0) }
            }
        }
        let matcher = implementation.codeMatcher
        for i in inputs.indices where outputs.allSatisfy({ $0.valid[i] }) {
            let wrong = routes.indices.first { !matcher.matches(expected: expected[i], got: outputs[$0].values[i]) }
            evidence.wrong.check(wrong == nil, at: UInt64(i)) {
                let g = outputs[wrong!].values[i], e = expected[i]
                return Counterexample(
                    inputBits: describe(UInt64(i)).bits, inputValue: describe(UInt64(i)).value,
                    expectedCode: Describe.code(e, format), expectedValue: Describe.value(e, values),
                    gotCode: Describe.code(g, format), gotValue: Describe.value(g, values),
                    note: "\(format.name) \(policy)\(routes[wrong!])")
            }
        }
        for (r, out) in outputs.enumerated() {
            evidence.record(
                out.faults, site: implementation.name(of: .float64) + routes[r], describe: describe,
                expected: { (Describe.code(expected[Int($0)], format), Describe.value(expected[Int($0)], values)) })
        }
        var parameters = implementation.parameters(for: .float64)
        parameters.merge(["seed": "\(seed)", "random": "\(randomCount)"]) { _, b in b }
        return evidence.result(
            suite: "float64", caseName: ConformanceRunner.caseName(format, policy), expected: UInt64(inputs.count),
            implementations: [implementation], parameters: parameters, since: t0)
    }

    /// Swift Float64 encoders (scalar, and optionally bulk) as an implementation under test.
    public static func run(
        format: FloatFormat, policy: ConversionPolicy, randomCount: Int, seed: UInt64, threads: Int,
        encode: @escaping (Double) -> UInt16,
        bulkEncode: ((UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<UInt16>) throws -> Void)? = nil
    ) throws -> SuiteResult {
        let functions = CodecUnderTest.Functions(encodeDouble: encode, bulkEncodeDouble: bulkEncode)
        return try run(
            CodecUnderTest(format: format, policy: policy, functions: functions), randomCount: randomCount, seed: seed,
            threads: threads)
    }
}
