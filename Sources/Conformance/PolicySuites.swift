import Foundation
import Formats
import Quant

// MARK: - 6. Stochastic rounding

/// For seeded inputs x strictly between neighbouring codes lo < hi, stochastic rounding must
/// pick hi with probability p = (x − lo)/(hi − lo).
///
/// Test: with N independent draws, Hoeffding's inequality gives
/// P(|k/N − p| ≥ t) ≤ 2·exp(−2Nt²), so with t = √(ln(2m/α)/(2N)) over m tests in a run the
/// probability of any false alarm is at most α = 1e-6 (no normal approximation involved).
/// The normalised error of one draw is (1 − p) or −p, whose mean is k/N − p: the same bound
/// checks that the rounding is unbiased; the pooled mean over all inputs of a format is checked
/// with the pooled N.
public enum StochasticSuite {
    public static let falseAlarmRate = 1e-6
    public static let inputsPerFormat = 16
    public static let seed: UInt64 = 0x5EED_5
    public static func draws(exhaustive: Bool) -> Int { exhaustive ? 200_000 : 20_000 }

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        let formats = o.effectiveFormats
        let tests = formats.count * (inputsPerFormat + 1)
        return try formats.map { format in
            let codec = NarrowFloatCodec(format: format, policy: .init(rounding: .stochastic, overflow: .saturating))
            return try run(CodecUnderTest(codec), draws: draws(exhaustive: o.exhaustive), testsInRun: tests, seed: seed)
        }
    }

    /// A Swift stochastic encoder (`encode(x, randomBits)`) as an implementation under test.
    public static func run(
        format: FloatFormat, draws n: Int, testsInRun m: Int, seed: UInt64, encode: @escaping (Float, UInt64) -> UInt16
    ) throws -> SuiteResult {
        let implementation = CodecUnderTest(
            format: format, policy: .init(rounding: .stochastic, overflow: .saturating),
            functions: .init(encodeStochastic: encode))
        return try run(implementation, draws: n, testsInRun: m, seed: seed)
    }

    /// `draws` draws for each of `inputsPerFormat` seeded inputs through the implementation's
    /// stochastic encoder (the random bits of draw k are `SplitMix64.draw(seed:index:)`).
    public static func run(
        _ implementation: some ConversionUnderTest, draws n: Int, testsInRun m: Int, seed: UInt64
    ) throws -> SuiteResult {
        let t0 = Date()
        let format = implementation.format
        let threshold = (log(2 * Double(m) / falseAlarmRate) / (2 * Double(n))).squareRoot()
        let pooledThreshold = (log(2 * Double(m) / falseAlarmRate) / (2 * Double(n * inputsPerFormat))).squareRoot()
        var rng = SplitMix64(seed: seed ^ UInt64(format.codeCount) ^ UInt64(format.bias))
        // Positive finite codes whose successor is finite, by magnitude.
        var mags: [(UInt16, Double)] = []
        for c in 0..<format.codeCount {
            if let v = format.finiteValue(of: UInt16(c)), !v.negative { mags.append((UInt16(c), FloatFormat.double(v))) }
        }
        mags.sort { $0.1 < $1.1 }
        var evidence = CaseEvidence()
        implementation.beginCase()
        var worstRatio = 0.0
        var pooledError = 0.0
        var stream: UInt64 = 0
        for _ in 0..<inputsPerFormat {
            var x: Float = 0, lo = 0.0, hi = 0.0, p = 0.0, loCode: UInt16 = 0, hiCode: UInt16 = 0
            repeat {
                let i = Int(rng.next() % UInt64(mags.count - 1))
                (loCode, lo) = mags[i]
                (hiCode, hi) = mags[i + 1]
                let f = Double(rng.next() >> 11) / Double(1 << 53)
                x = Float(lo + f * (hi - lo))
                p = (Double(x) - lo) / (hi - lo)
            } while !(p > 0 && p < 1)
            let negative = format.isSigned && rng.next() & 1 == 1
            let input = negative ? -x : x
            var ups = 0
            var strays = 0
            let bits = (0..<n).map { SplitMix64.draw(seed: seed, index: stream + UInt64($0)) }
            let xs = [Float](repeating: input, count: n)
            let faults = try xs.withUnsafeBufferPointer { xs in
                try bits.withUnsafeBufferPointer { bits in
                    try implementation.encode(xs, randomBits: bits) { _, codes in
                        for c in codes {
                            let code = c & ~format.signMask
                            if code == hiCode { ups += 1 } else if code != loCode { strays += 1 }
                        }
                    }
                }
            }
            let index = stream / UInt64(n)
            stream += UInt64(n)
            evidence.record(
                faults, site: implementation.name(of: .stochasticFloat32), position: { _ in index },
                describe: { _ in ("0x" + String(input.bitPattern, radix: 16), "\(input)") },
                expected: { _ in ("P(up)=\(p)", "|freq−p| < \(threshold)") })
            if !faults.isEmpty { continue }
            let freq = Double(ups) / Double(n)
            let deviation = abs(freq - p)
            worstRatio = max(worstRatio, deviation / threshold)
            pooledError += freq - p
            evidence.wrong.addCovered(UInt64(n))
            if deviation >= threshold || strays > 0 {
                evidence.wrong.recordMismatch(at: index) {
                    Counterexample(
                        inputBits: "0x" + String(input.bitPattern, radix: 16), inputValue: "\(input)",
                        expectedCode: "P(up)=\(p)", expectedValue: "|freq−p| < \(threshold)",
                        gotCode: "freq=\(freq)", gotValue: strays > 0 ? "\(strays) draws outside {lo, hi}" : "deviation \(deviation)",
                        note: "\(format.name) between \(lo) and \(hi), \(n) draws")
                }
            }
        }
        let pooledBias = pooledError / Double(inputsPerFormat)
        if abs(pooledBias) >= pooledThreshold {
            evidence.wrong.recordMismatch(at: UInt64(inputsPerFormat)) {
                Counterexample(
                    inputBits: "pooled", inputValue: "\(inputsPerFormat) inputs", expectedCode: "mean normalised error 0",
                    expectedValue: "|bias| < \(pooledThreshold)", gotCode: "\(pooledBias)", gotValue: "biased", note: format.name)
            }
        }
        return evidence.result(
            suite: "stochastic", caseName: format.name, expected: UInt64(n * inputsPerFormat),
            implementations: [implementation],
            parameters: implementation.parameters(for: .stochasticFloat32).merging(
                ["seed": "\(seed)", "draws": "\(n)", "falseAlarmRate": "\(falseAlarmRate)", "tests": "\(m)"]) { _, b in b },
            metrics: [
                Metric(name: "worst |freq−p| / threshold", value: worstRatio, bound: 1),
                Metric(name: "pooled normalised bias", value: pooledBias, bound: pooledThreshold, boundKind: .magnitude),
            ],
            since: t0)
    }
}

// MARK: - 7. Profiles

/// Each ml_dtypes profile (one per release, `CompatibilityProfile.mlDtypes0_6`, `.mlDtypes0_7`)
/// is checked two ways:
///
/// - **Against its own release's golden tables** (`Golden/mldtypes/<release>/`, written by that
///   release's `astype`, RNE/NONSAT): every recorded code must be reproduced, through the
///   implementation's bulk Float32, Float64, Float16 and BFloat16 entry points. Negative
///   control: the *other* releases' profiles run over the same tables and must differ from them
///   exactly where their rules for the format differ (count reported as a metric) — so the
///   tables do tell the releases apart.
/// - **Against `.ocp`**, on all 65,536 BFloat16 patterns (every Float32 exponent), all Float16
///   patterns as Float32, and the Float64 probe set, RNE, both overflow policies: every
///   difference must be explained by a rule of that release (`FloatFormat.rules(for:)`); an
///   unexplained difference is a mismatch. The counts per rule are reported.
public enum ProfileSuite {
    public enum Difference: String, CaseIterable, Sendable {
        case nanOfNoNaNFormat = "NaN → zero of the opposite sign (formats without NaN)"
        case infinityUnderSaturation = "±∞ kept as ∞/NaN under sat"
        case e8m0TieRoundsUp = "E8M0FNU ties round up, not to the even code"
        case e8m0SubnormalUp = "E8M0FNU: Float32 subnormals in (2^-127, 1.5·2^-127] give 0x01"
        case binary16NaNPayload = "binary16: NaN payload kept (numpy)"
        case float64DoubleRounding = "Float64 rounded through Float32 first (#401)"
    }

    /// The profiles checked: every ml_dtypes release.
    public static var profiles: [CompatibilityProfile] { CompatibilityProfile.allCases.filter { $0.mlDtypesRelease != nil } }

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try profiles.flatMap { profile in
            try o.effectiveFormats.flatMap { format in
                let golden = try runGolden(
                    format: format, profile: profile,
                    implementation: CodecUnderTest(NarrowFloatCodec(format: format, policy: .init(profile: profile))),
                    others: profiles.filter { $0 != profile }.map { CodecUnderTest(NarrowFloatCodec(format: format, policy: .init(profile: $0))) })
                return try [golden] + [OverflowPolicy.saturating, .nonSaturating].map { overflow in
                    try run(format: format, overflow: overflow,
                        ocp: NarrowFloatCodec(format: format, policy: .init(overflow: overflow, profile: .ocp)),
                        ml: NarrowFloatCodec(format: format, policy: .init(overflow: overflow, profile: profile)))
                }
            }
        }
    }

    // MARK: Golden tables of the release

    /// Every golden table of `profile`'s release for `format` through `implementation` (which
    /// claims `profile`, RNE, NONSAT); `others` (claiming the other releases) are the negative
    /// control. A missing or malformed table fails the case with its one-line reason.
    public static func runGolden(
        format: FloatFormat, profile: CompatibilityProfile, implementation: some ConversionUnderTest,
        others: [any ConversionUnderTest]
    ) throws -> SuiteResult {
        let t0 = Date()
        var evidence = CaseEvidence()
        var metrics: [Metric] = []
        var controlsHold = true
        let caseName = "\(profile.rawValue)/\(format.name)/golden"
        guard let release = profile.mlDtypesRelease else { preconditionFailure("\(profile) is not an ml_dtypes profile") }
        let tables: [MLDtypesGoldenTable]
        do {
            tables = try MLDtypesGoldenTable.inputs(for: format).map { try MLDtypesGoldenTable.load(release, format, $0) }
        } catch {
            evidence.wrong.recordMismatch(at: 0) {
                Counterexample(inputBits: "—", inputValue: "Golden/mldtypes/\(release.shortVersion)/\(format.name)",
                    expectedCode: "golden tables", expectedValue: "ml_dtypes \(release.version)", gotCode: "unreadable", gotValue: "\(error)")
            }
            return evidence.result(suite: "profiles", caseName: caseName, expected: nil, implementations: [implementation],
                parameters: implementation.parameters(for: nil), since: t0)
        }
        implementation.beginCase()
        var position: UInt64 = 0
        for table in tables {
            let codes = try goldenOutputs(table, implementation, &evidence)
            for (i, e) in table.entries.enumerated() where codes.valid[i] {
                evidence.wrong.addCovered(1)
                let got = codes.values[i]
                if got != e.code {
                    evidence.wrong.recordMismatch(at: position + UInt64(i)) {
                        Counterexample(
                            inputBits: "\(table.input.rawValue) " + Describe.hex(e.input, digits: table.input.hexDigits),
                            inputValue: table.input.valueText(e.input), expectedCode: Describe.code(e.code, format),
                            expectedValue: "ml_dtypes \(release.version)", gotCode: Describe.code(got, format), gotValue: profile.rawValue,
                            note: "Golden/mldtypes/\(release.shortVersion)/\(format.name)/\(table.input.rawValue).txt")
                    }
                }
            }
            position += UInt64(table.entries.count)
        }
        // Negative control: another release's rules differ from these tables exactly where its
        // rules for this format differ from this release's.
        for other in others {
            other.beginCase()
            var scratch = CaseEvidence()
            var differing = 0
            for table in tables {
                let codes = try goldenOutputs(table, other, &scratch)
                differing += zip(table.entries, codes.values).filter { $0.code != $1 }.count
            }
            let rulesDiffer = format.rules(for: other.policy.profile) != format.rules(for: profile)
            metrics.append(Metric(name: "codes of \(other.policy.profile.rawValue) differing from these tables (negative control)",
                value: Double(differing), unit: "inputs"))
            if (differing > 0) != rulesDiffer || scratch.faultCount > 0 {
                controlsHold = false
                evidence.wrong.recordMismatch(at: position) {
                    Counterexample(
                        inputBits: "negative control", inputValue: other.policy.profile.rawValue,
                        expectedCode: rulesDiffer ? "> 0 differing codes" : "0 differing codes",
                        expectedValue: rulesDiffer ? "its rules differ" : "same rules",
                        gotCode: "\(differing)", gotValue: scratch.faultCount > 0 ? "\(scratch.faultCount) faults" : "differing codes",
                        note: "\(other.policy.profile.rawValue) on the \(profile.rawValue) tables of \(format.name)")
                }
            }
        }
        return evidence.result(
            suite: "profiles", caseName: caseName, expected: UInt64(tables.reduce(0) { $0 + $1.entries.count }),
            implementations: [implementation], parameters: implementation.parameters(for: nil).merging(
                ["golden": "Golden/mldtypes/\(release.shortVersion)", "release": release.version]) { _, b in b },
            metrics: metrics, since: t0, alsoRequire: controlsHold)
    }

    /// One golden table's inputs through the entry point of their type.
    static func goldenOutputs(
        _ table: MLDtypesGoldenTable, _ implementation: some ConversionUnderTest, _ evidence: inout CaseEvidence
    ) throws -> BatchOutputs<UInt16> {
        let bits = table.entries.map(\.input)
        func run<I>(_ xs: [I], _ call: (UnsafeBufferPointer<I>, Delivery<UInt16>) throws -> [ConversionFault]) throws -> BatchOutputs<UInt16> {
            let out = try xs.withUnsafeBufferPointer { xs in try BatchOutputs(count: xs.count, zero: UInt16(0)) { deliver in
                try withoutActuallyEscaping(deliver) { try call(xs, $0) }
            } }
            evidence.record(out.faults, site: "\(table.input.rawValue) encoder", describe: { ("input #\($0)", "") }, expected: { _ in ("—", "—") })
            return out
        }
        switch table.input {
        case .f32: return try run(bits.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }) { try implementation.encode($0, deliver: $1) }
        case .f64: return try run(bits.map { Double(bitPattern: $0) }) { try implementation.encode($0, route: 0, deliver: $1) }
        case .f16: return try run(bits.map { UInt16(truncatingIfNeeded: $0) }) { try implementation.encode(float16Bits: $0, deliver: $1) }
        case .bf16: return try run(bits.map { UInt16(truncatingIfNeeded: $0) }) { try implementation.encode(bfloat16Bits: $0, deliver: $1) }
        }
    }

    // MARK: Differences from OCP

    /// Two in-process codecs, the `.ocp` and an ml_dtypes one.
    public static func run(format: FloatFormat, overflow: OverflowPolicy, ocp: NarrowFloatCodec, ml: NarrowFloatCodec) throws -> SuiteResult {
        try run(format: format, overflow: overflow, ocp: CodecUnderTest(ocp), ml: CodecUnderTest(ml))
    }

    /// The rule of `profile` (shared data, `FloatFormat.rules(for:)`) that explains a difference
    /// on the value `x` (a Float32, or a Float64 converted directly). Ties differ from the even
    /// code only without mantissa bits (every tie is then 1.5·2^k, with an even lower code); the
    /// small-value rule only where the grid rounds down, (s, 1.5·s], and only for Float32.
    static func explain<T: BinaryFloatingPoint>(_ x: T, format: FloatFormat, overflow: OverflowPolicy, profile: CompatibilityProfile) -> Difference? {
        let rules = format.rules(for: profile), s = T(format.minNormal)
        if x.isNaN && format.nan == .none { return .nanOfNoNaNFormat }
        if x.isInfinite && overflow == .saturating { return .infinityUnderSaturation }
        if rules.smallValueRule == .aboveSmallestRoundsUp && T.self == Float.self && x > s && x <= 1.5 * s { return .e8m0SubnormalUp }
        if rules.tieBreak == .evenSignificand && format.mantissaBits == 0 && x > 0 && x.isFinite && x.significand == 1.5 { return .e8m0TieRoundsUp }
        if rules.nanPayload == .keptFromFloat32AndFloat64 && x.isNaN { return .binary16NaNPayload }
        return nil
    }

    /// Compares the two implementations' Float32 and Float64 (first route) encoders on the
    /// inputs above; every difference must be explained by a rule of `ml`'s profile.
    public static func run(
        format: FloatFormat, overflow: OverflowPolicy, ocp: some ConversionUnderTest, ml: some ConversionUnderTest
    ) throws -> SuiteResult {
        let t0 = Date()
        let profile = ml.policy.profile
        var counts: [Difference: Int] = [:]
        var evidence = CaseEvidence()
        func record(_ i: Int, _ bits: String, _ value: String, _ a: UInt16, _ b: UInt16, _ why: Difference?) {
            if let why { counts[why, default: 0] += 1; return }
            evidence.wrong.recordMismatch(at: UInt64(i)) {
                Counterexample(
                    inputBits: bits, inputValue: value, expectedCode: Describe.code(a, format), expectedValue: "ocp",
                    gotCode: Describe.code(b, format), gotValue: "\(profile.rawValue) (unexplained)", note: format.name)
            }
        }
        var inputs32: [Float] = (0...UInt16.max).map { Float(bitPattern: UInt32($0) << 16) }
        inputs32 += (0...UInt16.max).map { Float(bitPattern: NarrowFloatCodec.float32Bits(fromFloat16Bits: $0)) }
        let inputs64 = Float64Suite.probes(format: format, randomCount: 20_000, seed: Float64Suite.seed)
        let narrowed = inputs64.map { Float($0) }
        // Every encoder's outputs first (batched), then the differences classified in input order.
        ocp.beginCase()
        ml.beginCase()
        func outputs<I>(_ xs: [I], _ call: (UnsafeBufferPointer<I>, Delivery<UInt16>) throws -> [ConversionFault]) throws -> BatchOutputs<UInt16> {
            let out = try xs.withUnsafeBufferPointer { xs in try BatchOutputs(count: xs.count, zero: UInt16(0)) { deliver in
                try withoutActuallyEscaping(deliver) { try call(xs, $0) }
            } }
            evidence.record(
                out.faults, site: "encoder", describe: { ("input #\($0)", "") }, expected: { _ in ("—", "—") })
            return out
        }
        let a32 = try outputs(inputs32) { try ocp.encode($0, deliver: $1) }, b32 = try outputs(inputs32) { try ml.encode($0, deliver: $1) }
        let a64 = try outputs(inputs64) { try ocp.encode($0, route: 0, deliver: $1) }
        let b64 = try outputs(inputs64) { try ml.encode($0, route: 0, deliver: $1) }
        let aVia32 = try outputs(narrowed) { try ocp.encode($0, deliver: $1) }, bVia32 = try outputs(narrowed) { try ml.encode($0, deliver: $1) }
        for (i, x) in inputs32.enumerated() where a32.valid[i] && b32.valid[i] {
            evidence.wrong.addCovered(1)
            let a = a32.values[i], b = b32.values[i]
            if a != b { record(i, Describe.hex(x.bitPattern, digits: 8), "\(x)", a, b, explain(x, format: format, overflow: overflow, profile: profile)) }
        }
        let rules = format.rules(for: profile)
        for (i, x) in inputs64.enumerated() where a64.valid[i] && b64.valid[i] && aVia32.valid[i] && bVia32.valid[i] {
            evidence.wrong.addCovered(1)
            let a = a64.values[i], b = b64.values[i]
            if a != b {
                // Through Float32 (rule 1): the difference must be the double rounding itself,
                // or a documented Float32 difference of the value x becomes. Directly: a
                // documented difference of x itself.
                var why: Difference?
                if x.isNaN && rules.nanPayload == .keptFromFloat32AndFloat64 {
                    why = .binary16NaNPayload
                } else if rules.roundsFloat64ThroughFloat32 {
                    if b == bVia32.values[i] {
                        why = aVia32.values[i] == b ? .float64DoubleRounding : explain(Float(x), format: format, overflow: overflow, profile: profile)
                    }
                } else {
                    why = explain(x, format: format, overflow: overflow, profile: profile)
                }
                record(inputs32.count + i, Describe.hex(x.bitPattern, digits: 16), "\(x)", a, b, why)
            }
        }
        return evidence.result(
            suite: "profiles", caseName: "\(profile.rawValue)/\(format.name)/\(overflow.rawValue)", expected: UInt64(inputs32.count + inputs64.count),
            implementations: [ocp, ml], parameters: ml.parameters(for: nil),
            metrics: Difference.allCases.map { Metric(name: $0.rawValue, value: Double(counts[$0, default: 0]), unit: "inputs") },
            since: t0)
    }
}

extension MLDtypesGoldenTable.Input {
    /// Hex digits of an input bit pattern.
    public var hexDigits: Int {
        switch self {
        case .f32: return 8
        case .f64: return 16
        case .f16, .bf16: return 4
        }
    }

    /// The input's value, for counterexamples.
    public func valueText(_ bits: UInt64) -> String {
        switch self {
        case .f32: return "\(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))"
        case .f64: return "\(Double(bitPattern: bits))"
        case .f16: return "\(Float(bitPattern: NarrowFloatCodec.float32Bits(fromFloat16Bits: UInt16(truncatingIfNeeded: bits))))"
        case .bf16: return "\(Float(bitPattern: UInt32(truncatingIfNeeded: bits) << 16))"
        }
    }
}
