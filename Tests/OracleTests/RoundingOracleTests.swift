import Foundation
import Testing
import TestSupport
import Formats
@testable import Oracle

private func oracle(_ f: FloatFormat, _ rule: RoundingRule = .toNearestOrEven,
                    _ overflow: OverflowPolicy = .nonSaturating,
                    _ profile: CompatibilityProfile = .ocp) -> RoundingOracle {
    try! RoundingOracle(format: f, policy: ConversionPolicy(rounding: rule, overflow: overflow, profile: profile))
}

/// The OCP OFP8 rev 1.0 §5.2.1 boundary facts (see Docs/formats.md §1).
@Suite struct OverflowAfterRounding {
    @Test func e4m3fn464IsATieThatRoundsTo448() {
        #expect(oracle(.e4m3fn).code(forFloat32: 464) == 0x7E)
        #expect(oracle(.e4m3fn, .toNearestOrEven, .saturating).code(forFloat32: 464) == 0x7E)
        #expect(oracle(.e4m3fn).code(forFloat32: -464) == 0xFE)
    }

    @Test func e4m3fnJustAbove464Overflows() {
        let x = Float(464.0001)
        #expect(x > 464)
        #expect(oracle(.e4m3fn).code(forFloat32: x) == 0x7F)                          // NONSAT → NaN
        #expect(oracle(.e4m3fn, .toNearestOrEven, .saturating).code(forFloat32: x) == 0x7E)
        #expect(oracle(.e4m3fn).code(forFloat32: Float(464).nextUp) == 0x7F)
        #expect(oracle(.e4m3fn).code(forFloat64: 464.0.nextUp) == 0x7F)
        #expect(oracle(.e4m3fn).code(forFloat32: -x) == 0xFF)
    }

    /// Clamping before rounding is a known bug: 500 must be NaN under NONSAT, not 448.
    @Test func e4m3fn500IsNaNUnderNonSaturating() {
        #expect(oracle(.e4m3fn).code(forFloat32: 500) == 0x7F)
        #expect(oracle(.e4m3fn, .toNearestOrEven, .saturating).code(forFloat32: 500) == 0x7E)
    }

    @Test func e5m2At61440RoundsTo65536AndOverflows() {
        #expect(oracle(.e5m2).code(forFloat32: 61440) == 0x7C)                          // +∞
        #expect(oracle(.e5m2).code(forFloat32: -61440) == 0xFC)
        #expect(oracle(.e5m2, .toNearestOrEven, .saturating).code(forFloat32: 61440) == 0x7B)
        #expect(oracle(.e5m2).code(forFloat32: Float(61440).nextDown) == 0x7B)
    }

    @Test func e5m2At58000RoundsTo57344() {
        #expect(oracle(.e5m2).code(forFloat32: 58000) == 0x7B)
        #expect(oracle(.e5m2).code(forFloat64: 58000) == 0x7B)
    }

    /// IEEE 754 §7.4: toward zero, and directed rules pointing back to zero, overflow to ±max.
    @Test func directedOverflowFollowsIEEE() {
        #expect(oracle(.e5m2, .towardZero).code(forFloat32: 1e6) == 0x7B)
        #expect(oracle(.e5m2, .towardZero).code(forFloat32: -1e6) == 0xFB)
        #expect(oracle(.e5m2, .up).code(forFloat32: 1e6) == 0x7C)
        #expect(oracle(.e5m2, .up).code(forFloat32: -1e6) == 0xFB)
        #expect(oracle(.e5m2, .down).code(forFloat32: -1e6) == 0xFC)
        #expect(oracle(.e5m2, .down).code(forFloat32: 1e6) == 0x7B)
        // Just above max: up rounds away and overflows, toward zero stays at max.
        #expect(oracle(.e4m3fn, .up).code(forFloat32: Float(448).nextUp) == 0x7F)
        #expect(oracle(.e4m3fn, .towardZero).code(forFloat32: 479) == 0x7E)
        #expect(oracle(.e4m3fn, .towardZero).code(forFloat32: 480) == 0x7E)  // 480 is beyond max: overflow → max
        // Formats with neither ∞ nor NaN always saturate.
        #expect(oracle(.e2m1fn).code(forFloat32: 100) == 0x7)
        #expect(oracle(.e2m1fn).code(forFloat32: -.infinity) == 0xF)
    }

    @Test func infinityInputs() {
        #expect(oracle(.e4m3fn).code(forFloat32: .infinity) == 0x7F)
        #expect(oracle(.e4m3fn, .toNearestOrEven, .saturating).code(forFloat32: .infinity) == 0x7E)
        for ml in [CompatibilityProfile.mlDtypes0_6, .mlDtypes0_7] {
            #expect(oracle(.e4m3fn, .toNearestOrEven, .saturating, ml).code(forFloat32: .infinity) == 0x7F)
        }
        #expect(oracle(.e5m2).code(forFloat32: -.infinity) == 0xFC)
        #expect(oracle(.e8m0fnu).code(forFloat32: -.infinity) == 0xFF)
    }
}

@Suite struct SubnormalBoundary {
    @Test func e4m3fnTieBelowMinSubnormalGoesToZero() {
        #expect(oracle(.e4m3fn).code(forFloat32: 0x1p-10) == 0x00)
        #expect(oracle(.e4m3fn).code(forFloat32: -0x1p-10) == 0x80)
        #expect(oracle(.e4m3fn).code(forFloat32: Float(0x1p-10).nextUp) == 0x01)
        #expect(oracle(.e4m3fn, .up).code(forFloat32: 0x1p-40) == 0x01)
        #expect(oracle(.e4m3fn, .down).code(forFloat32: -0x1p-40) == 0x81)
        #expect(oracle(.e4m3fn, .towardZero).code(forFloat32: -0x1p-40) == 0x80)
    }

    @Test func e4m3fnSubnormalToNormalCarry() {
        // Max subnormal 7·2^-9, min normal 2^-6 = 8·2^-9; the tie 7.5·2^-9 goes to 8 (even).
        #expect(oracle(.e4m3fn).code(forFloat32: 7 * 0x1p-9) == 0x07)
        #expect(oracle(.e4m3fn).code(forFloat32: 7.5 * 0x1p-9) == 0x08)
        #expect(oracle(.e4m3fn).code(forFloat32: 6.5 * 0x1p-9) == 0x06)
        #expect(oracle(.e4m3fn).code(forFloat32: 0x1p-9) == 0x01)
    }

    @Test func fnuzHasNoNegativeZero() {
        #expect(oracle(.e4m3fnuz).code(forFloat32: -0x1p-12) == 0x00)
        #expect(oracle(.e4m3fnuz).code(forFloat32: -0x1p-11) == 0x00)     // tie → 0, not 0x80 (NaN)
        #expect(oracle(.e4m3fnuz).code(forFloat32: -0.0) == 0x00)
        #expect(oracle(.e5m2fnuz, .towardZero).code(forFloat32: -0x1p-20) == 0x00)
        #expect(oracle(.e4m3fnuz).code(forFloat32: -0x1p-10) == 0x81)
    }

    @Test func binary16SubnormalsAgreeWithHardware() {
        let o = oracle(.binary16)
        for e in -27 ... -13 {
            for k in 0..<64 {
                let x = Float(sign: .plus, exponent: e, significand: 1 + Float(k) / 64)
                #expect(o.code(forFloat32: x) == Float16(x).bitPattern, "\(x)")
            }
        }
    }
}

@Suite struct TieToEven {
    /// At every midpoint between adjacent finite codes of every format the result is the even
    /// code, and one Float32 step either side goes to the nearer code.
    @Test(arguments: FloatFormat.all.filter { $0.bitWidth <= 8 })
    func midpointsOfEveryAdjacentPair(_ f: FloatFormat) {
        let o = oracle(f)
        let table = ExactValueTable(format: f)
        let positives = table.values.filter { ($0.codeClass == .normal || $0.codeClass == .subnormal || $0.codeClass == .zero) && !$0.isNegative }
            .sorted { $0.double < $1.double }
        for (a, b) in zip(positives, positives.dropFirst()) {
            let mid = Float((a.double + b.double) / 2)
            let even = a.code % 2 == 0 ? a.code : b.code
            #expect(o.code(forFloat32: mid) == even, "\(f) tie \(mid)")
            #expect(o.code(forFloat32: mid.nextDown) == a.code, "\(f) below \(mid)")
            #expect(o.code(forFloat32: mid.nextUp) == b.code, "\(f) above \(mid)")
            if f.isSigned {
                #expect(o.code(forFloat32: -mid) == (f.hasNegativeZero || even != 0 ? even | f.signMask : 0))
            }
        }
    }

    @Test func e8m0TiesGoToTheEvenBiasedExponent() {
        let o = oracle(.e8m0fnu)
        #expect(o.code(forFloat32: 1.5) == 0x80)     // 1 (127, odd) vs 2 (128, even) → 2
        #expect(o.code(forFloat32: 3) == 0x80)       // 2 (128, even) vs 4 (129) → 2
        #expect(o.code(forFloat32: 6) == 0x82)       // 4 (129) vs 8 (130, even) → 8
        // ml_dtypes rounds E8M0 ties up, in both releases; 0.7 also from Float64 (directly) and
        // at the bottom tie 1.5·2^-127 (0.6 sends all of (2^-127, 1.5·2^-127] up).
        for profile in [CompatibilityProfile.mlDtypes0_6, .mlDtypes0_7] {
            let ml = oracle(.e8m0fnu, .toNearestOrEven, .nonSaturating, profile)
            #expect(ml.code(forFloat32: 3) == 0x81)
            #expect(ml.code(forFloat32: 1.5) == 0x80)
            #expect(ml.code(forFloat64: 3) == 0x81)
            #expect(ml.code(forFloat32: 0x1.8p-127) == 0x01)
        }
        let ml7 = oracle(.e8m0fnu, .toNearestOrEven, .nonSaturating, .mlDtypes0_7)
        #expect(ml7.code(forFloat32: 0x1.4p-127) == 0x00 && ml7.code(forFloat64: Double(0x1.8p-127).nextDown) == 0x00)
        #expect(oracle(.e8m0fnu, .toNearestOrEven, .nonSaturating, .mlDtypes0_6).code(forFloat32: 0x1.4p-127) == 0x01)
    }
}

@Suite struct E8M0Rules {
    @Test func noZeroNoSign() {
        for rule in RoundingRule.deterministic {
            let o = oracle(.e8m0fnu, rule)
            #expect(o.code(forFloat32: 0) == 0xFF)
            #expect(o.code(forFloat32: -0.0) == 0xFF)
            #expect(o.code(forFloat32: -1) == 0xFF)
            #expect(o.code(forFloat32: -0x1p-140) == 0xFF)
            #expect(o.code(forFloat32: 0x1p-140) == 0x00, "\(rule)")
            #expect(o.code(forFloat32: .leastNonzeroMagnitude) == 0x00)
            #expect(o.code(forFloat32: 0x1p-127) == 0x00)
            #expect(o.code(forFloat32: 1) == 0x7F)
            #expect(o.code(forFloat32: .nan) == 0xFF)
        }
        #expect(oracle(.e8m0fnu, .up).code(forFloat32: Float(0x1p-127).nextUp) == 0x01)
        #expect(oracle(.e8m0fnu).code(forFloat32: 0x1p127) == 0xFE)
        #expect(oracle(.e8m0fnu).code(forFloat32: 0x1.8p127) == 0xFE)          // tie → 2^127 (254 even)
        #expect(oracle(.e8m0fnu).code(forFloat32: Float(0x1.8p127).nextUp) == 0xFF)
        #expect(oracle(.e8m0fnu, .toNearestOrEven, .saturating).code(forFloat32: .greatestFiniteMagnitude) == 0xFE)
    }
}

@Suite struct DoubleRound {
    /// ml_dtypes issue #401: Float64 → Float32 → E4M3FN double-rounds.
    @Test func float64IsRoundedDirectly() {
        let x = -431.99999999999994
        #expect(x == -(432 - 0x1p-44))
        #expect(oracle(.e4m3fn).code(forFloat64: x) == 0xFD)                       // −416
        #expect(ExactValueTable.value(of: 0xFD, in: .e4m3fn).double == -416)
        #expect(oracle(.e4m3fn, .toNearestOrEven, .nonSaturating, .mlDtypes0_6).code(forFloat64: x) == 0xFE)  // −448
        #expect(oracle(.e4m3fn, .toNearestOrEven, .nonSaturating, .mlDtypes0_7).code(forFloat64: x) == 0xFD)  // fixed in 0.7
        // Float32 input −432 is an exact tie in both profiles.
        #expect(oracle(.e4m3fn).code(forFloat32: -432) == 0xFE)
    }

    /// The profile's binary32 pre-rounding agrees with the hardware Float(Double).
    @Test func float32PreRoundingMatchesHardware() {
        var g = SplitMix64(seed: 3)
        let scratch = GridScratch()
        for i in 0..<20_000 {
            // Exponents concentrated around the binary32 range, both ends included.
            let e = UInt64(Int.random(in: (1023 - 160)...(1023 + 130), using: &g))
            var bits = (g.next() & 0x800F_FFFF_FFFF_FFFF) | (e << 52)
            if i % 4 == 0 { bits = (bits & ~UInt64(0x1FFF_FFFF)) | 0x1000_0000 }   // exact binary32 ties
            let d = Double(bitPattern: bits)
            let r = RoundingOracle.roundToFloat32NearestEven(d, scratch: scratch)
            #expect(r.bitPattern == Double(Float(d)).bitPattern, "\(d)")
        }
    }

    @Test func binary16FromFloat64MatchesHardware() {
        var g = SplitMix64(seed: 5)
        let o = oracle(.binary16)
        for _ in 0..<20_000 {
            let e = UInt64(Int.random(in: (1023 - 30)...(1023 + 17), using: &g))
            let d = Double(bitPattern: (g.next() & 0x800F_FFFF_FFFF_FFFF) | (e << 52))
            #expect(o.code(forFloat64: d) == Float16(d).bitPattern, "\(d)")
        }
    }
}

/// The oracle against independent references: hardware conversions and a naive search.
@Suite struct IndependentReferences {
    @Test func binary16FromFloat32MatchesHardware() {
        var g = SplitMix64(seed: 9)
        let o = oracle(.binary16)
        for _ in 0..<30_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))
            let expect = Float16(x)
            let got = o.code(forFloat32: x)
            if expect.isNaN {
                #expect(ExactValueTable.value(of: got, in: .binary16).codeClass == .nan)
            } else {
                #expect(got == expect.bitPattern, "\(x)")
            }
        }
    }

    /// bfloat16 RNE by the classic bit trick (non-NaN inputs).
    @Test func bfloat16FromFloat32MatchesBitTrick() {
        var g = SplitMix64(seed: 10)
        let o = oracle(.bfloat16)
        for i in 0..<30_000 {
            var b = UInt32(truncatingIfNeeded: g.next())
            if i % 3 == 0 { b = (b & 0xFFFF_0000) | 0x8000 }     // exact ties
            let x = Float(bitPattern: b)
            if x.isNaN { continue }
            let expect = UInt16((b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
            #expect(o.code(forFloat32: x) == expect, "\(hex(b))")
        }
    }

    @Test(arguments: FloatFormat.all.filter { $0.bitWidth <= 8 }, RoundingRule.deterministic)
    func naiveSearchAgrees(_ f: FloatFormat, _ rule: RoundingRule) {
        let naive = NaiveRounder(format: f)
        var g = SplitMix64(seed: UInt64(f.name.count * 31 + rule.rawValue.count))
        for overflow in OverflowPolicy.allCases {
            let o = oracle(f, rule, overflow)
            for i in 0..<3000 {
                // Magnitudes around the format's range; every 5th one an exact grid midpoint.
                let lo = Double(f.minPositive).exponent - 3, hi = min(127, Double(f.maxFinite).exponent + 3)
                var x = Float(sign: i % 2 == 0 ? .plus : .minus, exponent: Int.random(in: lo...hi, using: &g),
                              significand: 1 + Float(g.next() % (1 << 23)) / Float(1 << 23))
                if i % 5 == 0 {
                    let v = naive.magnitudes.randomElement(using: &g)!.value
                    let idx = naive.magnitudes.firstIndex { $0.value == v }!
                    let next = idx + 1 < naive.magnitudes.count ? naive.magnitudes[idx + 1].value : naive.overflowValue
                    x = Float((v + next) / 2) * (i % 2 == 0 ? 1 : -1)
                }
                let negative = x < 0
                let got = o.code(forFloat32: x)
                let expected: UInt16
                if negative && !f.isSigned {
                    expected = f.canonicalNaN(negative: true)!
                } else {
                    switch naive.roundMagnitude(Double(abs(x)), rule: rule, negative: negative) {
                    case .belowSmallest: expected = 0
                    case .overflow:
                        expected = f.codeForOverflow(negative: negative, roundedAway: rule.carriesOverflowAway(negative: negative),
                                                     policy: o.policy)
                    case .code(let c):
                        let isZero = ExactValueTable.value(of: c, in: f).double == 0
                        expected = isZero ? f.codeForZero(negative: negative) : (negative ? c | f.signMask : c)
                    }
                }
                #expect(got == expected, "\(f) \(rule) \(overflow) x=\(x)")
            }
        }
    }
}

@Suite struct SpecialInputs {
    @Test func nanInputs() {
        #expect(oracle(.e4m3fn).code(forFloat32: .nan) == 0x7F)
        #expect(oracle(.e4m3fn).code(forFloat32: -.nan) == 0xFF)
        #expect(oracle(.e5m2).code(forFloat32: .nan) == 0x7E)
        #expect(oracle(.e4m3fnuz).code(forFloat32: -.nan) == 0x80)
        // No-NaN formats: documented choice (ocp: zero of the NaN's sign; ml_dtypes: opposite).
        #expect(oracle(.e2m1fn).code(forFloat32: .nan) == 0x0)
        #expect(oracle(.e2m1fn, .toNearestOrEven, .nonSaturating, .mlDtypes0_6).code(forFloat32: .nan) == 0x8)
        #expect(oracle(.e2m1fn, .toNearestOrEven, .nonSaturating, .mlDtypes0_7).code(forFloat64: -.nan) == 0x0)
        #expect(oracle(.e4m3fn).code(forBinary16Bits: 0xFE00) == 0xFF)
        #expect(oracle(.e4m3fn).code(forBFloat16Bits: 0x7FC0) == 0x7F)
    }

    @Test func sixteenBitSources() {
        #expect(oracle(.e4m3fn).code(forBinary16Bits: 0x5F40) == 0x7E)   // 464 in binary16 → 448
        #expect(oracle(.e4m3fn).code(forBFloat16Bits: 0x43E8) == 0x7E)   // 464 in bfloat16
        #expect(oracle(.e4m3fn).code(forBinary16Bits: 0x3C00) == 0x38)   // 1.0
    }

    @Test func stochasticIsRejected() {
        #expect(throws: OracleError.unsupportedRounding(.stochastic)) {
            try RoundingOracle(format: .e4m3fn, policy: ConversionPolicy(rounding: .stochastic))
        }
    }

    @Test func traceExplains() {
        let t = oracle(.e4m3fn).trace(.float64(-431.99999999999994))
        #expect(t.event == .finite && t.code == 0xFD)
        #expect(t.lowerNeighbour == -416 && t.upperNeighbour == -448)
        #expect(!t.wasTie && !t.wasExact)
        let ml = oracle(.e4m3fn, .toNearestOrEven, .nonSaturating, .mlDtypes0_6).trace(.float64(-431.99999999999994))
        #expect(ml.roundedFrom == -432 && ml.wasTie && ml.code == 0xFE)
        #expect(oracle(.e4m3fn).trace(.float32(500)).event == .overflow)
        #expect(t.description.contains("0xfd"))
    }
}
