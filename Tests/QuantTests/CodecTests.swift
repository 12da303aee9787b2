import Testing
import Formats
@testable import Quant

/// Hand-checked facts from OCP OFP8 rev 1.0 §5.2.1 and Docs/formats.md §1.
@Suite struct CodecKnownValues {
    let e4m3 = NarrowFloatCodec(format: .e4m3fn)
    let e4m3sat = NarrowFloatCodec(format: .e4m3fn, policy: .init(overflow: .saturating))
    let e5m2 = NarrowFloatCodec(format: .e5m2)
    let e5m2sat = NarrowFloatCodec(format: .e5m2, policy: .init(overflow: .saturating))

    @Test func overflowAfterRoundingE4M3() {
        #expect(e4m3.encode(Float(448)) == 0x7E)
        #expect(e4m3.encode(Float(464)) == 0x7E)  // tie → even (448)
        #expect(e4m3.encode(Float(464.00003)) == 0x7F)  // above the tie: overflow → NaN
        #expect(e4m3.encode(Float(500)) == 0x7F)  // not clamped before rounding
        #expect(e4m3sat.encode(Float(500)) == 0x7E)
        #expect(e4m3sat.encode(-Float.infinity) == 0xFE)
        #expect(e4m3.encode(-Float.infinity) == 0xFF)
    }

    @Test func overflowAfterRoundingE5M2() {
        #expect(e5m2.encode(Float(58000)) == 0x7B)
        #expect(e5m2.encode(Float(61440)) == 0x7C)  // tie rounds to 2^16: overflow → +∞
        #expect(e5m2sat.encode(Float(61440)) == 0x7B)
        #expect(e5m2sat.encode(Float.infinity) == 0x7B)
        #expect(e5m2.encode(Float.infinity) == 0x7C)
    }

    @Test func subnormalsAndZero() {
        #expect(e4m3.encode(Float(0x1p-10)) == 0x00)  // tie between 0 and 2^-9 → +0
        #expect(e4m3.encode(Float(-0x1p-10)) == 0x80)  // −0
        #expect(e4m3.encode(Float(0x1.8p-10)) == 0x01)
        #expect(e4m3.encode(Float(0x1p-9)) == 0x01)
        #expect(e4m3.encode(Float(0x1.8p-9)) == 0x02)  // tie 1.5 → even (2)
        #expect(e4m3.encode(Float(0x1.Cp-7)) == 0x07)  // 7/8 · 2^-6, the largest subnormal
        #expect(e4m3.encode(Float(0x1.Ep-7)) == 0x08)  // carry from subnormal into min normal
        let fnuz = NarrowFloatCodec(format: .e4m3fnuz)
        #expect(fnuz.encode(Float(-0x1p-12)) == 0x00)  // no −0 in fnuz
        #expect(fnuz.encode(-Float.nan) == 0x80)
    }

    @Test func float64IsRoundedDirectly() {
        #expect(e4m3.encode(-431.99999999999994) == 0xFD)  // −416 = −1.101·2^8 (ml_dtypes #401 gives −448)
        #expect(e4m3.decodeDouble(0xFD) == -416)
        let ml0_6 = NarrowFloatCodec(format: .e4m3fn, policy: .init(profile: .mlDtypes0_6))
        #expect(ml0_6.encode(-431.99999999999994) == 0xFE)  // ml_dtypes 0.6 double-rounds
        let ml0_7 = NarrowFloatCodec(format: .e4m3fn, policy: .init(profile: .mlDtypes0_7))
        #expect(ml0_7.encode(-431.99999999999994) == 0xFD)  // 0.7 does not
    }

    @Test func mantissaCarryIntoExponent() {
        #expect(e4m3.encode(Float(15.5)) == 0x58)  // 1.111·2^3 + half ulp → 2^4 (even)
        #expect(e4m3.encode(Float(15.0)) == 0x57)
    }

    @Test func e8m0() {
        let c = NarrowFloatCodec(format: .e8m0fnu)
        #expect(c.encode(Float(1)) == 0x7F)
        #expect(c.encode(Float(3)) == 0x80)  // tie between 2 (0x80) and 4 (0x81) → even code
        #expect(c.encode(Float(1.5)) == 0x80)  // tie between 1 (0x7F) and 2 (0x80) → even code
        #expect(c.encode(Float(0)) == 0xFF)
        #expect(c.encode(Float(-1)) == 0xFF)
        #expect(c.encode(Float(0x1p-140)) == 0x00)
        #expect(c.decodeDouble(0) == 0x1p-127)
        #expect(c.decodeDouble(0xFE) == 0x1p127)
    }

    @Test func directedRounding() {
        let rtz = NarrowFloatCodec(format: .e4m3fn, policy: .init(rounding: .towardZero))
        #expect(rtz.encode(Float(500)) == 0x7E)  // IEEE §7.4: toward zero overflows to max
        #expect(rtz.encode(Float(17.9)) == 0x58)
        let up = NarrowFloatCodec(format: .e4m3fn, policy: .init(rounding: .up))
        #expect(up.encode(Float(16.1)) == 0x59)
        #expect(up.encode(Float(-500)) == 0xFE)  // toward +∞: negative overflow → −max
        #expect(up.encode(Float(449)) == 0x7F)
        let down = NarrowFloatCodec(format: .e4m3fn, policy: .init(rounding: .down))
        #expect(down.encode(Float(16.1)) == 0x58)
        #expect(down.encode(Float(-16.1)) == 0xD9)
    }
}

/// The vectorised kernels and the scalar codec are the same steps; they must agree everywhere.
@Suite struct KernelMatchesScalar {
    static let policies: [ConversionPolicy] = RoundingRule.deterministic.flatMap { r in
        OverflowPolicy.allCases.flatMap { o in
            CompatibilityProfile.allCases.map { ConversionPolicy(rounding: r, overflow: o, profile: $0) }
        }
    }

    @Test(arguments: FloatFormat.all)
    func randomAndSpecialPatterns(_ format: FloatFormat) throws {
        var rng = SplitMix64(seed: 7)
        var inputs: [Float] = [0, -0, .infinity, -.infinity, .nan, -.nan, .leastNonzeroMagnitude,
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        for _ in 0..<20_000 { inputs.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        // Midpoints of every adjacent code pair and neighbours (positive side).
        let codec0 = NarrowFloatCodec(format: format)
        for c in 0..<min(format.codeCount / 2, 2048) {
            let a = Double(codec0.decodeFloat(UInt16(c))), b = Double(codec0.decodeFloat(UInt16(c + 1)))
            guard a.isFinite, b.isFinite else { continue }
            let mid = Float((a + b) / 2)
            inputs += [mid, mid.nextUp, mid.nextDown, -mid, Float(a), Float(b)]
        }
        for policy in Self.policies {
            let codec = NarrowFloatCodec(format: format, policy: policy)
            let bulk = try codec.encodeWide(inputs)
            for (i, x) in inputs.enumerated() where bulk[i] != codec.encode(x) {
                Issue.record("\(format) \(policy) x=\(x) bits=0x\(String(x.bitPattern, radix: 16)) bulk=\(bulk[i]) scalar=\(codec.encode(x))")
                break
            }
        }
    }

    @Test func decodeRejectsCodesOutsideTheFormat() {
        let c = NarrowFloatCodec(format: .e2m1fn)
        #expect(throws: CodecError.invalidCode(index: 2, code: 0x10, format: "e2m1fn")) {
            _ = try c.decode([0x1, 0x2, 0x10, 0x3] as [UInt8])
        }
        #expect(throws: CodecError.codeTypeTooNarrow(format: "binary16", bits: 16, codeTypeBits: 8)) {
            _ = try NarrowFloatCodec(format: .binary16).encode([1.0] as [Float])
        }
        #expect(throws: CodecError.invalidThreadCount(0)) {
            _ = try NarrowFloatCodec(format: .e4m3fn).encode([1.0] as [Float], threads: 0)
        }
    }

    @Test(arguments: FloatFormat.all)
    func decodeIsExactAndRoundTrips(_ format: FloatFormat) throws {
        let codec = NarrowFloatCodec(format: format)
        for c in 0..<format.codeCount {
            let code = UInt16(c)
            let d = codec.decodeDouble(code)
            #expect(Double(codec.decodeFloat(code)).bitPattern == d.bitPattern || d.isNaN)
            if format.classify(code) != .nan {
                #expect(codec.encode(d) == code, "round trip \(format) 0x\(String(c, radix: 16))")
            }
        }
    }

    @Test func stochasticIsReproducibleAndThreadIndependent() throws {
        let c = NarrowFloatCodec(format: .e4m3fn, policy: .init(rounding: .stochastic))
        var rng = SplitMix64(seed: 3)
        let xs = (0..<50_000).map { _ in Float(Double(rng.next() % 1_000_000) / 1000 - 500) / 2 }
        let a = try c.encode(xs, seed: 11, threads: 1)
        let b = try c.encode(xs, seed: 11, threads: 2)
        let d = try c.encode(xs, seed: 12, threads: 1)
        #expect(a == b)
        #expect(a != d)
    }
}
