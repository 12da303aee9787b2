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

    public static func runAll(_ o: VerifyOptions) -> [SuiteResult] {
        let formats = o.effectiveFormats
        let tests = formats.count * (inputsPerFormat + 1)
        return formats.map { format in
            let codec = NarrowFloatCodec(format: format, policy: .init(rounding: .stochastic, overflow: .saturating))
            return run(format: format, draws: draws(exhaustive: o.exhaustive), testsInRun: tests, seed: seed) {
                codec.encode($0, randomBits: $1)
            }
        }
    }

    public static func run(
        format: FloatFormat, draws n: Int, testsInRun m: Int, seed: UInt64, encode: (Float, UInt64) -> UInt16
    ) -> SuiteResult {
        let t0 = Date()
        let threshold = (log(2 * Double(m) / falseAlarmRate) / (2 * Double(n))).squareRoot()
        let pooledThreshold = (log(2 * Double(m) / falseAlarmRate) / (2 * Double(n * inputsPerFormat))).squareRoot()
        var rng = SplitMix64(seed: seed ^ UInt64(format.codeCount) ^ UInt64(format.bias))
        // Positive finite codes whose successor is finite, by magnitude.
        var mags: [(UInt16, Double)] = []
        for c in 0..<format.codeCount {
            if let v = format.finiteValue(of: UInt16(c)), !v.negative { mags.append((UInt16(c), FloatFormat.double(v))) }
        }
        mags.sort { $0.1 < $1.1 }
        var failures: [Counterexample] = []
        var mismatches: UInt64 = 0
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
            for _ in 0..<n {
                let code = encode(input, SplitMix64.draw(seed: seed, index: stream)) & ~format.signMask
                stream += 1
                if code == hiCode { ups += 1 } else if code != loCode { strays += 1 }
            }
            let freq = Double(ups) / Double(n)
            let deviation = abs(freq - p)
            worstRatio = max(worstRatio, deviation / threshold)
            pooledError += freq - p
            if deviation >= threshold || strays > 0 {
                mismatches += 1
                if failures.count < SuiteResult.counterexampleLimit {
                    failures.append(Counterexample(
                        inputBits: "0x" + String(input.bitPattern, radix: 16), inputValue: "\(input)",
                        expectedCode: "P(up)=\(p)", expectedValue: "|freq−p| < \(threshold)",
                        gotCode: "freq=\(freq)", gotValue: strays > 0 ? "\(strays) draws outside {lo, hi}" : "deviation \(deviation)",
                        note: "\(format.name) between \(lo) and \(hi), \(n) draws"))
                }
            }
        }
        let pooledBias = pooledError / Double(inputsPerFormat)
        if abs(pooledBias) >= pooledThreshold {
            mismatches += 1
            failures.append(Counterexample(
                inputBits: "pooled", inputValue: "\(inputsPerFormat) inputs", expectedCode: "mean normalised error 0",
                expectedValue: "|bias| < \(pooledThreshold)", gotCode: "\(pooledBias)", gotValue: "biased", note: format.name))
        }
        return SuiteResult(
            suite: "stochastic", caseName: format.name, passed: mismatches == 0,
            covered: UInt64(n * inputsPerFormat), expected: UInt64(n * inputsPerFormat), mismatches: mismatches,
            counterexamples: failures,
            metrics: [
                Metric(name: "worst |freq−p| / threshold", value: worstRatio, bound: 1),
                Metric(name: "pooled normalised bias", value: pooledBias, bound: pooledThreshold, boundKind: .magnitude),
            ],
            parameters: ["seed": "\(seed)", "draws": "\(n)", "falseAlarmRate": "\(falseAlarmRate)", "tests": "\(m)"],
            wallSeconds: Date().timeIntervalSince(t0))
    }
}

// MARK: - 7. Profiles

/// The `.mlDtypes` profile must differ from `.ocp` exactly where a documented rule says so.
/// Inputs: all 65,536 BFloat16 patterns (every Float32 exponent) and all Float16 patterns as
/// Float32, and the Float64 probe set, RNE, both overflow policies. Every difference is
/// classified; an unexplained difference is a mismatch. The counts per rule are reported.
public enum ProfileSuite {
    public enum Difference: String, CaseIterable, Sendable {
        case nanOfNoNaNFormat = "NaN → zero of the opposite sign (formats without NaN)"
        case infinityUnderSaturation = "±∞ kept as ∞/NaN under sat"
        case e8m0TieRoundsUp = "E8M0FNU ties round up, not to the even code"
        case e8m0SubnormalUp = "E8M0FNU: Float32 subnormals in (2^-127, 1.5·2^-127] give 0x01"
        case binary16NaNPayload = "binary16: NaN payload kept (numpy)"
        case float64DoubleRounding = "Float64 rounded through Float32 first (#401)"
    }

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        o.effectiveFormats.flatMap { format in
            [OverflowPolicy.saturating, .nonSaturating].map { overflow in
                run(format: format, overflow: overflow,
                    ocp: NarrowFloatCodec(format: format, policy: .init(overflow: overflow, profile: .ocp)),
                    ml: NarrowFloatCodec(format: format, policy: .init(overflow: overflow, profile: .mlDtypes)))
            }
        }
    }

    /// The rule (shared data, `FloatFormat.rules(for: .mlDtypes)`) that explains a Float32
    /// difference. Ties differ from the even code only without mantissa bits (every tie is then
    /// 1.5·2^k); the small-value rule only where the grid rounds down, (s, 1.5·s].
    static func explain32(_ x: Float, format: FloatFormat, overflow: OverflowPolicy) -> Difference? {
        let rules = format.rules(for: .mlDtypes), s = Float(format.minNormal)
        if x.isNaN && format.nan == .none { return .nanOfNoNaNFormat }
        if x.isInfinite && overflow == .saturating { return .infinityUnderSaturation }
        if rules.tieBreak == .evenSignificand && format.mantissaBits == 0 && x > 0 && x.isFinite && x.significand == 1.5 { return .e8m0TieRoundsUp }
        if rules.smallValueRule == .aboveSmallestRoundsUp && x > s && x <= 1.5 * s { return .e8m0SubnormalUp }
        if rules.nanPayload == .keptFromFloat32AndFloat64 && x.isNaN { return .binary16NaNPayload }
        return nil
    }

    public static func run(format: FloatFormat, overflow: OverflowPolicy, ocp: NarrowFloatCodec, ml: NarrowFloatCodec) -> SuiteResult {
        let t0 = Date()
        var counts: [Difference: Int] = [:]
        var unexplained: [Counterexample] = []
        var mismatches: UInt64 = 0
        var covered: UInt64 = 0
        func record(_ bits: String, _ value: String, _ a: UInt16, _ b: UInt16, _ why: Difference?) {
            if let why { counts[why, default: 0] += 1; return }
            mismatches += 1
            if unexplained.count < SuiteResult.counterexampleLimit {
                unexplained.append(Counterexample(
                    inputBits: bits, inputValue: value, expectedCode: Describe.code(a, format), expectedValue: "ocp",
                    gotCode: Describe.code(b, format), gotValue: "ml_dtypes (unexplained)", note: format.name))
            }
        }
        var inputs32: [Float] = (0...UInt16.max).map { Float(bitPattern: UInt32($0) << 16) }
        inputs32 += (0...UInt16.max).map { Float(bitPattern: NarrowFloatCodec.float32Bits(fromFloat16Bits: $0)) }
        for x in inputs32 {
            covered += 1
            let a = ocp.encode(x), b = ml.encode(x)
            if a != b { record(Describe.hex(x.bitPattern, digits: 8), "\(x)", a, b, explain32(x, format: format, overflow: overflow)) }
        }
        for x in Float64Suite.probes(format: format, randomCount: 20_000, seed: Float64Suite.seed) {
            covered += 1
            let a = ocp.encode(x), b = ml.encode(x)
            if a != b {
                // Through Float32 (rule 1): the difference must be the double rounding itself,
                // or a documented Float32 difference of the value x becomes.
                var why: Difference?
                let rules = format.rules(for: .mlDtypes)
                if x.isNaN && rules.nanPayload == .keptFromFloat32AndFloat64 {
                    why = .binary16NaNPayload
                } else if rules.roundsFloat64ThroughFloat32 && b == ml.encode(Float(x)) {
                    why = ocp.encode(Float(x)) == b ? .float64DoubleRounding : explain32(Float(x), format: format, overflow: overflow)
                } else if !x.isFinite {
                    why = explain32(Float(x), format: format, overflow: overflow)
                }
                record(Describe.hex(x.bitPattern, digits: 16), "\(x)", a, b, why)
            }
        }
        return SuiteResult(
            suite: "profiles", caseName: "\(format.name)/\(overflow.rawValue)", passed: mismatches == 0,
            covered: covered, expected: covered, mismatches: mismatches, counterexamples: unexplained,
            metrics: Difference.allCases.map { Metric(name: $0.rawValue, value: Double(counts[$0, default: 0]), unit: "inputs") },
            wallSeconds: Date().timeIntervalSince(t0))
    }
}
