import Foundation
import Formats
import Oracle
import Quant

// MARK: - 3. Exhaustive Float32

/// All 2^32 Float32 bit patterns through the encoder under test, compared with the oracle's
/// interval table of the same (format, policy).
public enum ExhaustiveFloat32Suite {
    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        var results: [SuiteResult] = []
        for format in o.effectiveFormats {
            for policy in ConformanceRunner.policies(exhaustive: o.exhaustive) {
                let codec = NarrowFloatCodec(format: format, policy: policy)
                if format.bitWidth <= 8 {
                    results.append(try run(
                        format: format, policy: policy, patterns: o.patterns, threads: o.threads, progress: o.progress,
                        codeType: UInt8.self, encode: { start, out in codec.encodeBitPatterns(startingAt: start, into: out) }))
                } else {
                    results.append(try run(
                        format: format, policy: policy, patterns: o.patterns, threads: o.threads, progress: o.progress,
                        codeType: UInt16.self, encode: { start, out in codec.encodeBitPatterns(startingAt: start, into: out) }))
                }
            }
        }
        return results
    }

    /// Sweeps `patterns` with `encode` and compares against the oracle. `covered` must equal
    /// `patterns.count` for the case to pass.
    /// The encoder under test writes the codes of patterns `start ..< start + out.count`
    /// (the production one is `NarrowFloatCodec.encodeBitPatterns`: the fused pattern generator
    /// over the same vectorised loop body as the bulk API).
    public static func run<Code: SweepCode>(
        format: FloatFormat, policy: ConversionPolicy, patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        threads: Int, progress: (@Sendable (UInt64) -> Void)? = nil, codeType: Code.Type,
        encode: @escaping @Sendable (UInt32, UnsafeMutableBufferPointer<Code>) -> Void
    ) throws -> SuiteResult {
        let t0 = Date()
        let table = try OracleTables.intervals(format: format, policy: policy)
        let outcome = ExhaustiveSweep.run(
            patterns: patterns, intervals: table, codeType: Code.self, threads: threads, progress: progress,
            encode: encode)
        let values = ExactValueTable(format: format)
        let examples = outcome.firstMismatches.map { m in
            Counterexample(
                inputBits: Describe.hex(m.pattern, digits: 8), inputValue: Describe.float32(m.pattern),
                expectedCode: Describe.code(m.expected, format), expectedValue: Describe.value(m.expected, values),
                gotCode: Describe.code(m.got, format), gotValue: Describe.value(m.got, values),
                note: "\(format.name) \(policy)")
        }
        let expected = UInt64(patterns.count)
        return SuiteResult(
            suite: "exhaustive-f32", caseName: "\(format.name)/\(policy.overflow.rawValue)/\(policy.rounding.rawValue)",
            passed: outcome.mismatches == 0 && outcome.covered == expected, covered: outcome.covered,
            expected: expected, mismatches: outcome.mismatches, counterexamples: examples,
            parameters: [
                "format": format.name, "overflow": policy.overflow.rawValue, "rounding": policy.rounding.rawValue,
                "profile": policy.profile.rawValue, "patterns": "\(patterns.lowerBound)..<\(patterns.upperBound)",
            ],
            wallSeconds: Date().timeIntervalSince(t0))
    }
}

/// Interval tables are built once per (format, policy) per process.
enum OracleTables {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: [CodeInterval]] = [:]

    static func intervals(format: FloatFormat, policy: ConversionPolicy) throws -> [CodeInterval] {
        let key = "\(format.name)|\(policy)"
        lock.lock()
        if let t = cache[key] { lock.unlock(); return t }
        lock.unlock()
        let table = try RoundingIntervalTable(format: format, policy: policy)
        let converted = table.intervals.map { CodeInterval(lo: $0.lo, hi: $0.hi, code: $0.code) }
        lock.lock()
        cache[key] = converted
        lock.unlock()
        return converted
    }
}

// MARK: - 4. Exhaustive Float16 and BFloat16 inputs

public enum HalfInputSuite {
    public enum Kind: String, CaseIterable, Sendable { case float16 = "f16", bfloat16 = "bf16" }

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        var results: [SuiteResult] = []
        for kind in Kind.allCases {
            for format in o.effectiveFormats {
                for policy in ConformanceRunner.policies(exhaustive: o.exhaustive) {
                    let codec = NarrowFloatCodec(format: format, policy: policy)
                    results.append(try run(kind: kind, format: format, policy: policy) { bits in
                        kind == .float16 ? codec.encode(float16Bits: bits) : codec.encode(bfloat16Bits: bits)
                    })
                }
            }
        }
        return results
    }

    public static func run(
        kind: Kind, format: FloatFormat, policy: ConversionPolicy, encode: (UInt16) -> UInt16
    ) throws -> SuiteResult {
        let t0 = Date()
        let oracle = try RoundingOracle(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        var mismatches: UInt64 = 0, covered: UInt64 = 0
        var examples: [Counterexample] = []
        for b in 0...UInt16.max {
            covered += 1
            let expected = kind == .float16 ? oracle.code(forBinary16Bits: b) : oracle.code(forBFloat16Bits: b)
            let got = encode(b)
            if got != expected {
                mismatches += 1
                if examples.count < SuiteResult.counterexampleLimit {
                    let f32 = kind == .float16 ? NarrowFloatCodec.float32Bits(fromFloat16Bits: b) : UInt32(b) << 16
                    examples.append(Counterexample(
                        inputBits: Describe.hex(b, digits: 4), inputValue: Describe.float32(f32),
                        expectedCode: Describe.code(expected, format), expectedValue: Describe.value(expected, values),
                        gotCode: Describe.code(got, format), gotValue: Describe.value(got, values),
                        note: "\(kind.rawValue) → \(format.name) \(policy)"))
                }
            }
        }
        return SuiteResult(
            suite: "exhaustive-f16", caseName: "\(kind.rawValue)/\(format.name)/\(policy.overflow.rawValue)/\(policy.rounding.rawValue)",
            passed: mismatches == 0 && covered == 65536, covered: covered, expected: 65536, mismatches: mismatches,
            counterexamples: examples, wallSeconds: Date().timeIntervalSince(t0))
    }
}

// MARK: - 5. Float64

public enum Float64Suite {
    /// Random doubles per (format, policy): 10^5 by default (2.6·10^6 over the 26 default cases),
    /// 10^6 with `--exhaustive` (10^8 over its 104 cases).
    public static func randomCount(exhaustive: Bool) -> Int { exhaustive ? 1_000_000 : 100_000 }
    public static let seed: UInt64 = 0x5EED_F64

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        var results: [SuiteResult] = []
        for format in o.effectiveFormats {
            for policy in ConformanceRunner.policies(exhaustive: o.exhaustive) {
                let codec = NarrowFloatCodec(format: format, policy: policy)
                results.append(try run(
                    format: format, policy: policy, randomCount: randomCount(exhaustive: o.exhaustive),
                    seed: seed, threads: o.threads, encode: { codec.encode($0) },
                    bulkEncode: { inputs, out in try codec.encode(inputs, into: out, threads: o.threads) }))
            }
        }
        return results
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

    /// Checks `encode` (scalar) and, when given, `bulkEncode` (the bulk API, whose vectorised
    /// path takes its own route through Float32) on every probe: a probe counts as one
    /// mismatch when either differs from the oracle.
    public static func run(
        format: FloatFormat, policy: ConversionPolicy, randomCount: Int, seed: UInt64, threads: Int,
        encode: @escaping @Sendable (Double) -> UInt16,
        bulkEncode: ((UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<UInt16>) throws -> Void)? = nil
    ) throws -> SuiteResult {
        let t0 = Date()
        let inputs = probes(format: format, randomCount: randomCount, seed: seed)
        var bulk = [UInt16]()
        if let bulkEncode {
            bulk = [UInt16](repeating: 0, count: inputs.count)
            try inputs.withUnsafeBufferPointer { i in try bulk.withUnsafeMutableBufferPointer { try bulkEncode(i, $0) } }
        }
        let bulkCodes = bulk
        let oracle = try RoundingOracle(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        // Parallel over contiguous slices; mismatches merged in input order.
        let t = max(1, min(threads, inputs.count / 10_000))
        let per = (inputs.count + t - 1) / t
        let box = ResultsBox<(Int, [(Int, UInt16, UInt16, String)])>(count: t)
        DispatchQueue.concurrentPerform(iterations: t) { j in
            var mism: [(Int, UInt16, UInt16, String)] = []
            var count = 0
            for i in (j * per)..<min(inputs.count, (j + 1) * per) {
                let expected = oracle.code(forFloat64: inputs[i])
                let got = encode(inputs[i])
                let gotBulk = bulkCodes.isEmpty ? expected : bulkCodes[i]
                if got != expected || gotBulk != expected {
                    count += 1
                    if mism.count < SuiteResult.counterexampleLimit {
                        mism.append(got != expected ? (i, expected, got, "") : (i, expected, gotBulk, " (bulk API)"))
                    }
                }
            }
            box.set(j, (count, mism))
        }
        let parts = box.all()
        let mismatches = parts.reduce(0) { $0 + $1.0 }
        let examples = parts.flatMap { $0.1 }.prefix(SuiteResult.counterexampleLimit).map { (i, e, g, path) in
            Counterexample(
                inputBits: Describe.hex(inputs[i].bitPattern, digits: 16),
                inputValue: "\(inputs[i]) (\(Describe.hexFloat(inputs[i])))",
                expectedCode: Describe.code(e, format), expectedValue: Describe.value(e, values),
                gotCode: Describe.code(g, format), gotValue: Describe.value(g, values), note: "\(format.name) \(policy)\(path)")
        }
        return SuiteResult(
            suite: "float64", caseName: "\(format.name)/\(policy.overflow.rawValue)/\(policy.rounding.rawValue)",
            passed: mismatches == 0, covered: UInt64(inputs.count), expected: UInt64(inputs.count),
            mismatches: UInt64(mismatches), counterexamples: Array(examples),
            parameters: ["seed": "\(seed)", "random": "\(randomCount)"], wallSeconds: Date().timeIntervalSince(t0))
    }
}

/// Per-worker results collected under a lock.
final class ResultsBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.lock(); items[i] = v; lock.unlock() }
    func all() -> [T] { lock.lock(); defer { lock.unlock() }; return items.compactMap { $0 } }
}
