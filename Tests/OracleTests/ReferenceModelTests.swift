import Testing
import Formats
@testable import Oracle

/// The reference models' constants are derived from the format descriptors; these pin the
/// derivations to the values the specifications state.
@Suite struct ReferenceModelTests {
    /// OCP MX v1.0 Table 1: emax_elem = 8 (E4M3), 15 (E5M2), 4 (E3M2), 2 (E2M3), 2 (E2M1).
    @Test func mxElementEmaxMatchesTheSpecification() {
        let stated: [(FloatFormat, Int)] = [(.e4m3fn, 8), (.e5m2, 15), (.e3m2fn, 4), (.e2m3fn, 2), (.e2m1fn, 2)]
        for (format, emax) in stated {
            #expect(MXReference.elementEmax(format) == emax, "\(format.name)")
        }
    }

    /// E8M0: bias 127, 2^−127 … 2^127, NaN 0xFF.
    @Test func e8m0ScaleRangeAndCodes() {
        #expect(MXReference.scaleExponentRange == -127...127)
        #expect(MXReference.nanScaleCode == 0xFF)
        #expect(MXReference.scaleCode(exponent: 0) == 127)
        #expect(MXReference.scaleCode(exponent: -127) == 0)
        #expect(MXReference.scaleCode(exponent: nil) == 0xFF)
    }

    @Test func mxSharedExponentRules() throws {
        let ocp = try MXReference(element: .e4m3fn, rule: .ocp)
        let up = try MXReference(element: .e4m3fn, rule: .roundUp)
        #expect(ocp.scaleExponent(amax: 448) == 0)        // ⌊log₂ 448⌋ − 8
        #expect(ocp.scaleExponent(amax: 500) == 0)        // saturates, OCP keeps k
        #expect(up.scaleExponent(amax: 448) == 0)         // 448 ≤ 448·2^0
        #expect(up.scaleExponent(amax: 449) == 1)         // the least k with amax ≤ 448·2^k
        #expect(ocp.scaleExponent(amax: 0) == -127)
        #expect(ocp.scaleExponent(amax: .nan) == nil && up.scaleExponent(amax: .infinity) == nil)
        #expect(ocp.scaleExponent(amax: .greatestFiniteMagnitude) == 127 - 8)
    }

    /// NVFP4: S_enc maps amax to E4M3_max · E2M1_max = 448 · 6.
    @Test func nvfp4GlobalTarget() throws {
        #expect(NVFP4Reference.globalTarget == 2688)
        let r = try NVFP4Reference()
        #expect(r.globalEncodeScale(amax: 2688, m: MPFRScratch()) == 1)
        #expect(r.globalEncodeScale(amax: 0, m: MPFRScratch()) == 1)
    }

    /// binary16 limits from the descriptor: 65504 and 2^−24.
    @Test func binary16ReciprocalClamps() {
        let m = MPFRScratch()
        #expect(m.reciprocalUpBinary16(1e-10) == 65504)
        #expect(m.reciprocalUpBinary16(1e30) == 0x1p-24)
        #expect(m.reciprocalUpBinary16(2) == 0.5)
        // 1/3 rounded up at 11 bits.
        #expect(m.reciprocalUpBinary16(3) == Float(0x1.558p-2))
    }

    @Test func integerQMaxAndTies() {
        #expect(IntegerReference.qMax(bits: 8) == 127 && IntegerReference.qMax(bits: 4) == 7)
        let m = MPFRScratch()
        #expect(IntegerReference.code(0.3125, scale: 0.125, qMax: 7, m: m).code == 2)   // 2.5 → 2
        #expect(IntegerReference.code(0.4375, scale: 0.125, qMax: 7, m: m).code == 4)   // 3.5 → 4
        #expect(IntegerReference.code(-100, scale: 0.125, qMax: 7, m: m).code == -7)
    }

    @Test func smoothingFactorClosedForms() {
        let one = SmoothingFactorReference(alpha: 1)
        defer { one.finish() }
        #expect(one.allowed(a: 3, w: 5) == [3])
        let zero = SmoothingFactorReference(alpha: 0)
        #expect(zero.allowed(a: 3, w: 4) == [0.25])
        #expect(zero.allowed(a: 0, w: 4) == [1e-5])
        let half = SmoothingFactorReference(alpha: 0.5)
        #expect(half.allowed(a: 4, w: 1) == [2, 2])
    }

    @Test func delayedScalingKeepsTheScaleForNonFiniteAmax() {
        var model = DelayedScalingReference(
            recipe: .init(margin: 0, historyLength: 2, reduction: .mostRecent, updateInterval: 1, rounding: .exact), format: .e4m3fn)
        let m = MPFRScratch()
        model.record(4, m: m)
        #expect(model.scale == 112 && model.inverse == Float(1) / 112)   // 448 / 4
        #expect(model.history == [0, 4])                                 // rolled, slot 0 zeroed
        model.record(.nan, m: m)
        #expect(model.scale == 112)                                      // NaN amax: scale kept
        #expect(model.history[0] == 0 && model.history[1].isNaN)
    }
}
