import Testing
import Formats
@testable import Oracle

/// A small bit-level Float32 → E4M3FN converter with switchable, deliberately planted bugs.
/// With no bug it is a correct RNE converter; each bug is one that has shipped somewhere
/// (Docs/formats.md §1). The oracle must disagree with every buggy variant at the named inputs.
enum PlantedBug: CaseIterable {
    case tiesAway, droppedCarry, clampBeforeRound, flushSubnormals
}

func e4m3fnUnderTest(_ x: Float, saturating: Bool = false, bug: PlantedBug? = nil) -> UInt16 {
    let sign: UInt16 = x.sign == .minus ? 0x80 : 0
    if x.isNaN { return sign | 0x7F }
    var a = abs(x)
    if bug == .clampBeforeRound && a > 448 { a = 448 }
    if a.isInfinite { return sign | (saturating ? 0x7E : 0x7F) }
    if a == 0 { return sign }
    if a.exponent < -6 && bug == .flushSubnormals { return sign }
    var q = max(Int(a.exponent), -6) - 3
    let scaled = Double(a) * Double(sign: .plus, exponent: -q, significand: 1)   // exact
    var n = Int(scaled.rounded(.down))
    let frac = scaled - Double(n)
    let up = frac > 0.5 || (frac == 0.5 && (bug == .tiesAway || n % 2 == 1))
    if up { n += 1 }
    if n == 16 {
        if bug == .droppedCarry { n = 8 } else { n = 8; q += 1 }   // the carry bumps the exponent
    }
    if n == 0 { return sign }
    if n < 8 { return sign | UInt16(n) }                          // subnormal, q == −9
    let field = q + 3 + 7
    if field > 15 || (field == 15 && n - 8 == 7) { return sign | (saturating ? 0x7E : 0x7F) }
    return sign | UInt16(field << 3) | UInt16(n - 8)
}

@Suite struct NegativeControls {
    let rne = try! RoundingOracle(format: .e4m3fn)
    let rneSat = try! RoundingOracle(format: .e4m3fn, policy: ConversionPolicy(overflow: .saturating))

    /// Inputs covering every boundary kind of E4M3FN: midpoints of all adjacent pairs ± one
    /// Float32 step, the overflow region and specials.
    static var boundaryInputs: [Float] {
        let values = ExactValueTable(format: .e4m3fn).values
            .filter { !$0.isNegative && $0.codeClass != .nan }.map(\.double).sorted() + [480]
        var xs: [Float] = [0, .infinity, .nan, 500, 1e9, .leastNonzeroMagnitude]
        for (a, b) in zip(values, values.dropFirst()) {
            let m = Float((a + b) / 2)
            xs += [m, m.nextUp, m.nextDown, Float(a)]
        }
        return xs + xs.map { -$0 }
    }

    func mismatches(_ oracle: RoundingOracle, saturating: Bool, bug: PlantedBug?) -> [Float] {
        Self.boundaryInputs.filter { oracle.code(forFloat32: $0) != e4m3fnUnderTest($0, saturating: saturating, bug: bug) }
    }

    @Test func correctConverterAgreesEverywhere() {
        #expect(mismatches(rne, saturating: false, bug: nil).isEmpty)
        #expect(mismatches(rneSat, saturating: true, bug: nil).isEmpty)
        var g = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))
            #expect(rne.code(forFloat32: x) == e4m3fnUnderTest(x), "\(x)")
        }
    }

    @Test func tiesAwayIsCaught() {
        #expect(rne.code(forFloat32: 0x1p-10) == 0x00)
        #expect(e4m3fnUnderTest(0x1p-10, bug: .tiesAway) == 0x01)
        #expect(rne.code(forFloat32: 464) == 0x7E)
        #expect(e4m3fnUnderTest(464, bug: .tiesAway) == 0x7F)
        #expect(rne.code(forFloat32: 17) == 0x58)       // 16 (even) vs 18
        #expect(e4m3fnUnderTest(17, bug: .tiesAway) == 0x59)
        #expect(!mismatches(rne, saturating: false, bug: .tiesAway).isEmpty)
    }

    @Test func droppedCarryIsCaught() {
        #expect(rne.code(forFloat32: 15.5) == 0x58)     // 15 = 1.111·2^3 rounds up to 16 = 1.000·2^4
        #expect(e4m3fnUnderTest(15.5, bug: .droppedCarry) == 0x50)   // wraps to 8
        #expect(rne.code(forFloat32: 0.2421875) == 0x28)             // 0.2421875 = 15.5·2^-6 → 0.25
        #expect(e4m3fnUnderTest(0.2421875, bug: .droppedCarry) == 0x20)
        #expect(!mismatches(rne, saturating: false, bug: .droppedCarry).isEmpty)
    }

    @Test func clampBeforeRoundIsCaught() {
        #expect(rne.code(forFloat32: 500) == 0x7F)
        #expect(e4m3fnUnderTest(500, bug: .clampBeforeRound) == 0x7E)
        #expect(!mismatches(rne, saturating: false, bug: .clampBeforeRound).isEmpty)
        // Under SAT the clamp happens to be harmless: the check must not cry wolf.
        #expect(mismatches(rneSat, saturating: true, bug: .clampBeforeRound).isEmpty)
    }

    @Test func flushedSubnormalsAreCaught() {
        #expect(rne.code(forFloat32: 0x1p-9) == 0x01)
        #expect(e4m3fnUnderTest(0x1p-9, bug: .flushSubnormals) == 0x00)
        #expect(!mismatches(rne, saturating: false, bug: .flushSubnormals).isEmpty)
    }
}
