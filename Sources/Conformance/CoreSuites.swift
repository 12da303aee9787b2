import Foundation
import Formats
import Oracle
import Quant

/// The format-conformance suites of the core issue: decode, round trip, exhaustive Float32,
/// exhaustive Float16/BFloat16, Float64 midpoints + random, stochastic rounding, profiles.
extension ConformanceRunner {
    static let coreSuites: [SuiteDescriptor] = [
        SuiteDescriptor(
            name: "decode", summary: "every code of every format equals the oracle's exact value",
            run: { o in
                o.effectiveFormats.map { f in
                    let codec = NarrowFloatCodec(format: f)
                    return DecodeSuite.run(format: f, decoders: [codec.decodeDouble, { Double(codec.decodeFloat($0)) }])
                }
            }),
        SuiteDescriptor(
            name: "roundtrip", summary: "decode→encode is the identity for every non-NaN code, every direction, both modes",
            run: { o in
                o.effectiveFormats.map { f in
                    RoundTripSuite.run(format: f) { policy in
                        let codec = NarrowFloatCodec(format: f, policy: policy)
                        return RoundTripSuite.Implementation(
                            decode: codec.decodeDouble, encodeFloat: { codec.encode($0) }, encodeDouble: { codec.encode($0) })
                    }
                }
            }),
        SuiteDescriptor(
            name: "exhaustive-f32",
            summary: "all 2^32 Float32 inputs, every format, sat and nonsat (RNE; every direction with --exhaustive)",
            splitsByPattern: true,
            run: { o in try ExhaustiveFloat32Suite.runAll(o) }),
        SuiteDescriptor(
            name: "exhaustive-f16", summary: "all 65,536 Float16 and BFloat16 inputs, every format, both modes",
            run: { o in try HalfInputSuite.runAll(o) }),
        SuiteDescriptor(
            name: "float64", summary: "Float64 midpoints ±1, ±2 ulps and seeded random doubles vs MPFR",
            run: { o in try Float64Suite.runAll(o) }),
        SuiteDescriptor(
            name: "stochastic", summary: "stochastic rounding frequencies and bias (binomial test, false-alarm rate 1e-6)",
            run: { o in StochasticSuite.runAll(o) }),
        SuiteDescriptor(
            name: "profiles", summary: "ml_dtypes profile differs from ocp exactly in the documented places",
            run: { o in try ProfileSuite.runAll(o) }),
    ]

    /// Modes of the default run and of `--exhaustive`.
    static func policies(exhaustive: Bool) -> [ConversionPolicy] {
        let rules: [RoundingRule] = exhaustive ? RoundingRule.deterministic : [.toNearestOrEven]
        return rules.flatMap { r in
            [OverflowPolicy.saturating, .nonSaturating].map { ConversionPolicy(rounding: r, overflow: $0) }
        }
    }
}

/// Formatting shared by the suites' counterexamples.
enum Describe {
    static func hex<T: BinaryInteger>(_ v: T, digits: Int) -> String { HexFloat.hex(v, digits: digits) }

    static func code(_ c: UInt16, _ f: FloatFormat) -> String { hex(c, digits: f.bitWidth > 8 ? 4 : 2) }

    /// Exact value of a code from the oracle's table (decimal and class).
    static func value(_ c: UInt16, _ table: ExactValueTable) -> String {
        guard Int(c) < table.format.codeCount else { return "invalid code" }
        return table[c].description
    }

    static func float32(_ bits: UInt32) -> String {
        let x = Float(bitPattern: bits)
        return "\(x) (\(x.isFinite ? hexFloat(Double(x)) : "\(x)"))"
    }

    static func hexFloat(_ x: Double) -> String { HexFloat.string(x) }
}

// MARK: - 1. Decode

public enum DecodeSuite {
    /// Every code: the codec's Float32 and Float64 decodes equal the oracle's exact value, with
    /// the sign of zero, NaN and infinity classes included.
    /// `decoders` are the implementations under test (e.g. the Float64 and the Float32 decode).
    public static func run(format: FloatFormat, decoders: [(UInt16) -> Double]) -> SuiteResult {
        let t0 = Date()
        let table = ExactValueTable(format: format)
        var mismatches: UInt64 = 0
        var examples: [Counterexample] = []
        for c in 0..<format.codeCount {
            let code = UInt16(c)
            let exact = table[code]
            for got in decoders.map({ $0(code) }) {
                let ok: Bool
                switch exact.codeClass {
                case .nan: ok = got.isNaN
                case .infinity: ok = got.isInfinite && (got < 0) == exact.isNegative
                default: ok = got.bitPattern == exact.double.bitPattern
                }
                if !ok {
                    mismatches += 1
                    if examples.count < SuiteResult.counterexampleLimit {
                        examples.append(Counterexample(
                            inputBits: Describe.code(code, format), inputValue: "code",
                            expectedCode: Describe.code(code, format), expectedValue: exact.description,
                            gotCode: Describe.code(code, format), gotValue: "\(got)", note: format.name))
                    }
                }
            }
        }
        return SuiteResult(
            suite: "decode", caseName: format.name, passed: mismatches == 0, covered: UInt64(format.codeCount * decoders.count),
            expected: UInt64(format.codeCount * decoders.count), mismatches: mismatches, counterexamples: examples,
            wallSeconds: Date().timeIntervalSince(t0))
    }
}

// MARK: - 2. Round trip

public enum RoundTripSuite {
    /// The implementation under one policy: decode, and encode from Float32 and from Float64.
    public struct Implementation {
        public var decode: (UInt16) -> Double
        public var encodeFloat: (Float) -> UInt16
        public var encodeDouble: (Double) -> UInt16
        public init(decode: @escaping (UInt16) -> Double, encodeFloat: @escaping (Float) -> UInt16, encodeDouble: @escaping (Double) -> UInt16) {
            self.decode = decode
            self.encodeFloat = encodeFloat
            self.encodeDouble = encodeDouble
        }
    }

    /// decode → encode is the identity for every non-NaN code under every deterministic
    /// direction and both overflow policies (from both Float32 and Float64 values). NaN codes
    /// must come back as a NaN code.
    public static func run(format: FloatFormat, implementation: (ConversionPolicy) -> Implementation) -> SuiteResult {
        let t0 = Date()
        var covered: UInt64 = 0, mismatches: UInt64 = 0
        var examples: [Counterexample] = []
        for policy in ConformanceRunner.policies(exhaustive: true) {
            let codec = implementation(policy)
            for c in 0..<format.codeCount {
                let code = UInt16(c)
                // NaN codes must come back as a NaN; ±∞ as the policy's ∞ rule (±max under sat,
                // OCP Table 3); every finite code as itself.
                let cls = format.classify(code)
                let expected = cls == .infinity
                    ? format.codeForInfinity(negative: format.sign(of: code), policy: policy) : code
                let value = codec.decode(code)
                for back in [codec.encodeFloat(Float(value)), codec.encodeDouble(value)] {
                    covered += 1
                    let ok = cls == .nan ? format.classify(back) == .nan : back == expected
                    if !ok {
                        mismatches += 1
                        if examples.count < SuiteResult.counterexampleLimit {
                            examples.append(Counterexample(
                                inputBits: Describe.code(code, format), inputValue: "\(value)",
                                expectedCode: Describe.code(expected, format), expectedValue: "\(codec.decode(expected))",
                                gotCode: Describe.code(back, format), gotValue: Int(back) < format.codeCount ? "\(codec.decode(back))" : "invalid",
                                note: "\(format.name) \(policy)"))
                        }
                    }
                }
            }
        }
        return SuiteResult(
            suite: "roundtrip", caseName: format.name, passed: mismatches == 0, covered: covered,
            expected: UInt64(format.codeCount * 8 * 2), mismatches: mismatches, counterexamples: examples,
            wallSeconds: Date().timeIntervalSince(t0))
    }
}
