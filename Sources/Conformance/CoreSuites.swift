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
                try o.effectiveFormats.map { f in
                    try DecodeSuite.run(CodecUnderTest(NarrowFloatCodec(format: f)), entries: [.decodeFloat64, .decode])
                }
            }),
        SuiteDescriptor(
            name: "roundtrip", summary: "decode→encode is the identity for every non-NaN code, every direction, both modes",
            run: { o in
                try o.effectiveFormats.map { f in
                    try RoundTripSuite.run(
                        format: f, conformers: policies(exhaustive: true).map { CodecUnderTest(NarrowFloatCodec(format: f, policy: $0)) },
                        entries: [.float32, .float64], caseName: f.name)
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
            run: { o in try StochasticSuite.runAll(o) }),
        SuiteDescriptor(
            name: "profiles", summary: "ml_dtypes profile differs from ocp exactly in the documented places",
            run: { o in try ProfileSuite.runAll(o) }),
    ]

    /// Every (format, policy) of a run: the in-process codec for each, in format-major order.
    static func codecs(_ o: VerifyOptions) -> [CodecUnderTest] {
        o.effectiveFormats.flatMap { f in
            policies(exhaustive: o.exhaustive).map { CodecUnderTest(NarrowFloatCodec(format: f, policy: $0), threads: o.threads) }
        }
    }

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
    /// Every code: each decoder in `entries` (`.decode` to Float32, `.decodeFloat64`) equals the
    /// oracle's exact value, with the sign of zero, NaN and infinity classes included. Covers
    /// codes × decoders.
    public static func run(_ implementation: some ConversionUnderTest, entries: [ConversionEntry]) throws -> SuiteResult {
        let t0 = Date()
        let format = implementation.format
        let table = ExactValueTable(format: format)
        let entries = entries.filter(implementation.entries.contains)
        let codes = (0..<format.codeCount).map { UInt16($0) }
        var evidence = CaseEvidence()
        implementation.beginCase()
        func ok(_ code: UInt16, _ got: Double) -> Bool {
            let exact = table[code]
            switch exact.codeClass {
            case .nan: return got.isNaN
            case .infinity: return got.isInfinite && (got < 0) == exact.isNegative
            default: return got.bitPattern == exact.double.bitPattern
            }
        }
        for (d, entry) in entries.enumerated() {
            let position = { (c: UInt64) in c * UInt64(entries.count) + UInt64(d) }
            func check(_ code: UInt16, _ got: Double, _ text: () -> String) {
                evidence.wrong.check(ok(code, got), at: position(UInt64(code))) {
                    let c = Describe.code(code, format)
                    return Counterexample(
                        inputBits: c, inputValue: "code", expectedCode: c, expectedValue: table[code].description,
                        gotCode: c, gotValue: text(), note: "\(format.name) \(entry.rawValue)")
                }
            }
            let faults = try codes.withUnsafeBufferPointer { codes throws -> [ConversionFault] in
                if entry == .decode {
                    return try implementation.decode(codes) { first, out in
                        for (k, got) in out.enumerated() {
                            check(codes[first + k], Double(got)) { "\(got) (float bits \(Describe.hex(got.bitPattern, digits: 8)))" }
                        }
                    }
                }
                return try implementation.decodeFloat64(codes) { first, out in
                    for (k, got) in out.enumerated() { check(codes[first + k], got) { "\(got)" } }
                }
            }
            evidence.record(
                faults, site: implementation.name(of: entry), position: position,
                describe: { (Describe.code(UInt16($0), format), "code") },
                expected: { (Describe.code(UInt16($0), format), table[UInt16($0)].description) })
        }
        return evidence.result(
            suite: "decode", caseName: format.name, expected: UInt64(format.codeCount * entries.count),
            implementations: [implementation], parameters: implementation.parameters(for: entries.count == 1 ? entries[0] : nil),
            since: t0)
    }
}

// MARK: - 2. Round trip

public enum RoundTripSuite {
    /// The inputs: the exact value of every code, in code order (a NaN code as the quiet NaN of
    /// its sign). Exact in Float32 for every format of 16 bits or fewer.
    public static func inputs(_ format: FloatFormat) -> [Double] {
        let table = ExactValueTable(format: format)
        return (0..<format.codeCount).map { i in
            let c = UInt16(i)
            return table[c].codeClass == .nan ? (table[c].isNegative ? -Double.nan : .nan) : table[c].double
        }
    }

    /// decode → encode is the identity for every non-NaN code, for every conformer (one per
    /// policy) and every encoder in `entries` (`.float32`, `.float64`): ±∞ codes come back as the
    /// policy's ∞ rule (±max under sat, OCP Table 3), NaN codes as a NaN code.
    ///
    /// The decoded values come from the oracle's exact table, not from the implementation's own
    /// decoder, so a wrong decoder cannot hide a wrong encoder (`DecodeSuite` checks the decoder).
    /// Inputs are ordered by conformer, then code, then entry.
    public static func run(
        format: FloatFormat, conformers: [any ConversionUnderTest], entries: [ConversionEntry], caseName: String
    ) throws -> SuiteResult {
        let t0 = Date()
        let table = ExactValueTable(format: format)
        let codes = (0..<format.codeCount).map { UInt16($0) }
        let doubles = inputs(format)
        func value(_ c: UInt16) -> Double { doubles[Int(c)] }
        let floats = doubles.map { Float($0) }
        let isNaNCode = { (c: UInt16) in format.classify(c) == .nan }
        var evidence = CaseEvidence()
        for (ci, impl) in conformers.enumerated() {
            impl.beginCase()
            let policy = impl.policy
            func expectedCode(_ c: UInt16) -> UInt16 {
                format.classify(c) == .infinity ? format.codeForInfinity(negative: format.sign(of: c), policy: policy) : c
            }
            for (ei, entry) in entries.enumerated() where impl.entries.contains(entry) {
                let position = { (c: UInt64) in (UInt64(ci) * UInt64(codes.count) + c) * UInt64(entries.count) + UInt64(ei) }
                let deliver: Delivery<UInt16> = { first, out in
                    for (k, got) in out.enumerated() {
                        let c = UInt16(first + k), e = expectedCode(c)
                        let ok = isNaNCode(c) ? Int(got) < format.codeCount && isNaNCode(got) : got == e
                        evidence.wrong.check(ok, at: position(UInt64(c))) {
                            Counterexample(
                                inputBits: Describe.code(c, format), inputValue: "\(value(c))",
                                expectedCode: isNaNCode(c) ? "a NaN code" : Describe.code(e, format),
                                expectedValue: Describe.value(e, table), gotCode: Describe.code(got, format),
                                gotValue: Int(got) < format.codeCount ? Describe.value(got, table) : "invalid code",
                                note: "\(format.name) \(policy) via \(impl.name(of: entry))")
                        }
                    }
                }
                let faults = entry == .float32
                    ? try floats.withUnsafeBufferPointer { try impl.encode($0, deliver: deliver) }
                    : try doubles.withUnsafeBufferPointer { try impl.encode($0, route: 0, deliver: deliver) }
                evidence.record(
                    faults, site: impl.name(of: entry), position: position,
                    describe: { (Describe.code(UInt16($0), format), "\(value(UInt16($0)))") },
                    expected: { (Describe.code(expectedCode(UInt16($0)), format), Describe.value(expectedCode(UInt16($0)), table)) })
            }
        }
        let parameters = conformers.first?.parameters(for: entries.count == 1 ? entries[0] : nil) ?? [:]
        return evidence.result(
            suite: "roundtrip", caseName: caseName, expected: UInt64(codes.count * conformers.count * entries.count),
            implementations: conformers, parameters: parameters, since: t0)
    }
}
