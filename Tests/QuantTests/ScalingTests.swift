import Foundation
import Formats
import Testing
@testable import Quant

@Suite("FP8 / MX / NVFP4 scaling")
struct ScalingTests {
    @Test("scale rule: 448/amax; amax 0, NaN, ∞ → 1; tiny amax → greatestFinite; power of two rounds down")
    func scaleRule() {
        #expect(FP8ScaleRule.scale(amax: 2, formatMax: 448) == 224)
        #expect(FP8ScaleRule.scale(amax: 3, formatMax: 448, rounding: .powerOfTwo) == 128)  // 149.33 → 128
        #expect(FP8ScaleRule.scale(amax: 2, formatMax: 448, margin: 1) == 112)
        for bad: Float in [0, .nan, .infinity, -.infinity] { #expect(FP8ScaleRule.scale(amax: bad, formatMax: 448) == 1) }
        #expect(FP8ScaleRule.scale(amax: .leastNonzeroMagnitude, formatMax: 448) == .greatestFiniteMagnitude)
        #expect(FP8ScaleRule.scale(amax: .leastNonzeroMagnitude, formatMax: 448, rounding: .powerOfTwo) == 0x1p127)
    }

    @Test("per-tensor E4M3: x·scale encoded RNE, dequant = decode · 1/scale")
    func perTensor() throws {
        // amax 448 → scale 1: codes are plain E4M3 encodings
        let x: [Float] = [448, -1, 0.5, 17, 0]
        let t = try FP8Scaling.quantize(x, shape: shape(5), format: .e4m3fn)
        #expect(t.scales == [1] && t.scaleInverses == [1])
        let codec = NarrowFloatCodec(format: .e4m3fn)
        #expect(t.codes == x.map { UInt8(codec.encode($0)) })
        #expect(t.dequantized() == [448, -1, 0.5, 16, 0])  // 17 is a tie between 16 and 18 → even (16)
        #expect(t.totalOverflows == 0 && t.totalUnderflows == 0)
    }

    @Test("per-channel, per-token (3-D) and ragged blocks each get their own amax")
    func granularities() throws {
        let x: [Float] = [1, 2, -4, /* row 2 */ 0.5, 0.25, 0]
        let pc = try FP8Scaling.quantize(x, shape: shape(2, 3), format: .e4m3fn, granularity: .perChannel)
        #expect(pc.scales == [112, 896])
        let pt = try FP8Scaling.quantize(x, shape: shape(1, 2, 3), format: .e4m3fn, granularity: .perToken)
        #expect(pt.scales == pc.scales)
        let bw = try FP8Scaling.quantize(x, shape: shape(2, 3), format: .e4m3fn, granularity: .blockwise(size: 2))
        // blocks: [1,2] [-4] [0.5,0.25] [0]
        #expect(bw.scales == [224, 112, 896, 1])
        #expect(bw.dequantized() == x)
        #expect(throws: QuantError.self) { try FP8Scaling.quantize(x, shape: shape(1, 2, 3), format: .e4m3fn, granularity: .perChannel) }
        #expect(throws: QuantError.unsupportedFormat(format: "binary16", reason: "scaled tensors hold codes of at most 8 bits")) {
            try FP8Scaling.quantize(x, shape: shape(6), format: .binary16)
        }
        #expect(throws: QuantError.self) { try FP8Scaling.quantize(x, shape: shape(6), format: .e8m0fnu) }
    }

    @Test("Float16 block scales: decode multiplier rounded up to binary16")
    func float16Storage() throws {
        let x: [Float] = [3, -1]  // scale 448/3 → inverse 3/448 = 0.0066964…
        let t = try FP8Scaling.quantize(x, shape: shape(2), format: .e4m3fn, storage: .float16)
        let inv = t.scaleInverses[0]
        #expect(Float(Float16(inv)) == inv)  // representable in binary16
        #expect(Double(inv) >= 3.0 / 448 && Double(Float(Float16(inv).nextDown)) < 3.0 / 448)
        #expect(t.totalOverflows == 0)
        // huge amax: multiplier clamps at 65504 and elements saturate, counted as overflow
        let big = try FP8Scaling.quantize([1e30, 1], shape: shape(2), format: .e4m3fn, storage: .float16)
        #expect(big.scaleInverses == [65504] && big.overflowCounts == [1])
    }

    /// Regression (found by the fp8-scaling accuracy suite at --exhaustive sizes): the Float32
    /// reciprocal 1/scale can round *down* onto a binary16 value that lies below the exact
    /// reciprocal; rounding that quotient up again kept it, one binary16 ulp too small.
    @Test("Float16 decode multiplier is the least binary16 ≥ the exact 1/scale, double rounding included")
    func float16MultiplierIsExactlyRoundedUp() {
        var g = SplitMix64(seed: 16)
        var doubleRoundingCases = 0
        var failures: [String] = []
        for _ in 0..<200_000 {
            // Encode multipliers across the binary16 range of their reciprocals.
            let bits = UInt32(truncatingIfNeeded: g.next())
            let scale = Float(sign: .plus, exponent: Int(bits >> 24) % 40 - 16, significand: 1 + Float(bits & 0x7F_FFFF) * 0x1p-23)
            let r = FP8Scaling.float16DecodeMultiplier(encodeScale: scale)
            let representable = Float(Float16(r)) == r
            let covers = Double(r) * Double(scale) >= 1
            let least = Double(Float(Float16(r).nextDown)) * Double(scale) < 1
            if 65504 * Double(scale) < 1 {
                if r != 65504 { failures.append("scale \(scale) → \(r), not the clamp 65504") }
            } else if !(representable && covers && least) {
                failures.append("scale \(scale) → \(r)")
            }
            let q = 1 / scale
            if Float(Float16(q)) == q && Double(q) * Double(scale) < 1 { doubleRoundingCases += 1 }
        }
        #expect(failures.isEmpty, "\(failures.count) wrong multipliers, first: \(failures.prefix(3))")
        #expect(doubleRoundingCases > 0, "the sample must contain quotients rounded down onto binary16 values")
    }

    @Test("overflow/underflow counters and the OCP tie boundaries")
    func counters() throws {
        // scale 1 given explicitly: 464 is a tie → 448 (no overflow), 465 overflows (saturates)
        let t = try FP8Scaling.quantize([464, 465, 1e-4, 0], shape: shape(4), format: .e4m3fn, scales: [1])
        #expect(t.overflowCounts == [1] && t.underflowCounts == [1])
        let u = try FP8Scaling.quantize([61440, 57344], shape: shape(2), format: .e5m2, scales: [1])
        #expect(u.overflowCounts == [1])  // E5M2 tie at 61440 rounds up: overflow
        let n = try FP8Scaling.quantize([500], shape: shape(1), format: .e4m3fn, scales: [1], overflow: .nonSaturating)
        #expect(n.dequantized()[0].isNaN && n.overflowCounts == [1])
        #expect(throws: QuantError.self) { try FP8Scaling.quantize([1], shape: shape(1), format: .e4m3fn, scales: [0]) }
    }

    @Test("NaN in a group gives scale 1, never a NaN scale")
    func nanGroup() throws {
        let t = try FP8Scaling.quantize([1, .nan, 2, 4], shape: shape(2, 2), format: .e4m3fn, granularity: .perToken)
        #expect(t.scales == [1, 112])
        #expect(t.dequantized()[1].isNaN)
    }

    @Test("delayed scaling: history window, max vs most_recent, margin, kept scale on bad amax")
    func delayed() throws {
        var s = try DelayedScalingState(format: .e4m3fn, recipe: .init(historyLength: 3))
        _ = try s.quantize([4], shape: shape(1))            // step 1 used scale 1, amax 4 → 112
        #expect(s.scale == 112 && s.scaleInverse == 1 / 112)
        _ = try s.quantize([1], shape: shape(1))            // window {4, 1} → still 112
        #expect(s.scale == 112)
        s.record(amax: 2)                                    // window {4, 1, 2}
        #expect(s.scale == 112)
        s.record(amax: 1)                                    // 4 fell out: {1, 2, 1} → 224
        #expect(s.scale == 224)
        s.record(amax: .nan)                                 // window {NaN, 2, 1}: max ignores NaN (fmaxf)
        #expect(s.scale == 224)
        var m = try DelayedScalingState(format: .e4m3fn, recipe: .init(margin: 1, historyLength: 4, algorithm: .mostRecent))
        m.record(amax: 7)
        #expect(m.scale == 32)                               // (448/7)/2
        m.record(amax: 0)
        #expect(m.scale == 32)                               // kept
        m.record(amax: .infinity)
        #expect(m.scale == 32)                               // kept
        m.record(amax: .leastNonzeroMagnitude)
        #expect(m.scale == .greatestFiniteMagnitude)
        // JSON round trip keeps NaN history entries
        let data = try JSONEncoder().encode(s)
        let back = try JSONDecoder().decode(DelayedScalingState.self, from: data)
        #expect(back.scale == s.scale && back.step == s.step)
        #expect(zip(back.amaxHistory, s.amaxHistory).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(throws: QuantError.self) { try DelayedScalingRecipe(historyLength: 0) }
        #expect(throws: QuantError.self) { try DelayedScalingRecipe(margin: -1) }
    }

    @Test("delayed scaling with an update interval collects the max between updates")
    func interval() throws {
        var s = try DelayedScalingState(format: .e4m3fn, recipe: .init(historyLength: 8, updateInterval: 2))
        s.record(amax: 4)
        #expect(s.scale == 1)
        s.record(amax: 2)
        #expect(s.scale == 112)  // max(4, 2) recorded in one slot
    }

    @Test("MX OCP rule: shared_exp = ⌊log2 amax⌋ − emax; saturating elements")
    func mxOCP() throws {
        // amax 6 → ⌊log2 6⌋ = 2; E2M1 emax 2 → k = 0 (X = 1)
        let x: [Float] = [6, -3, 0.5, 0.25]
        let t = try MXQuantizer.quantize(x, shape: shape(4), element: .mxfp4E2M1)
        #expect(t.scaleCodes == [127])
        #expect(t.dequantized() == [6, -3, 0.5, 0])  // 0.25 is a tie between 0 and 0.5 → 0 (even)
        // amax 7.9 → k = 0 and 7.9 saturates to 6 under the OCP rule; the round-up rule picks X = 2
        let y: [Float] = [7.9, 1]
        let o = try MXQuantizer.quantize(y, shape: shape(2), element: .mxfp4E2M1, rule: .ocp)
        #expect(o.scaleCodes == [127] && o.dequantized() == [6, 1])
        let r = try MXQuantizer.quantize(y, shape: shape(2), element: .mxfp4E2M1, rule: .roundUp)
        #expect(r.scaleCodes == [128] && r.dequantized() == [8, 1])
        // E4M3: amax 448 → k = 8 − 8 = 0 (OCP) and ⌈log2(448/448)⌉ = 0 (round-up)
        for rule in MXScaleRule.allCases {
            #expect(try MXQuantizer.quantize([448, 1], shape: shape(2), element: .mxfp8E4M3, rule: rule).scaleCodes == [127])
        }
        // all-zero block → 2^-127; NaN block → 0xFF and NaN elements
        let z = try MXQuantizer.quantize([0, 0, .nan, 1], shape: shape(2, 2), element: .mxfp8E5M2)
        #expect(z.scaleCodes == [0, 0xFF])
        let d = z.dequantized()
        #expect(d[0] == 0 && d[2].isNaN && d[3].isNaN)
    }

    @Test("MX blocks of 32 along rows with a ragged tail; FP6 and FP4 packing round trips", arguments: MXElementFormat.allCases)
    func mxPacking(element: MXElementFormat) throws {
        let x = randomFloats(3 * 45, seed: 9, scale: 2)
        let t = try MXQuantizer.quantize(x, shape: shape(3, 45), element: element)
        #expect(t.scaleCodes.count == 6)
        #expect(t.packed.count == (x.count * element.bitsPerElement + 7) / 8)
        let codes = t.elementCodes()
        #expect(try MXPacking.packed(codes, bits: element.bitsPerElement) == t.packed)
        // every element equals the codec's encoding of x / X
        let codec = NarrowFloatCodec(format: element.format, policy: .init(overflow: .saturating))
        for i in 0..<x.count {
            let g = (i / 45) * 2 + (i % 45) / 32
            let X = MXTensor.scaleValue(code: t.scaleCodes[g])
            #expect(UInt16(codes[i]) == codec.encode(Double(x[i]) / X))
        }
    }

    @Test("FP6 bit order: element i at bits [6i, 6i+6) of the little-endian 24-bit word")
    func fp6Order() throws {
        let p = try MXPacking.packed([0x01, 0x02, 0x03, 0x3F], bits: 6)
        // w = 1 | 2<<6 | 3<<12 | 63<<18 = 0xFC3081
        #expect(p == [0x81, 0x30, 0xFC])
        #expect(try MXPacking.unpacked(p, bits: 6, count: 4) == [1, 2, 3, 63])
        #expect(try MXPacking.packed([0xA, 0x5, 0x3], bits: 4) == [0x5A, 0x03])
        // never truncates, never traps
        #expect(throws: QuantError.valueOutOfRange(what: "6-bit codes", index: 0, value: 64, allowed: "[0, 63]")) {
            try MXPacking.packed([64], bits: 6)
        }
        #expect(throws: QuantError.invalidArgument(name: "bits", value: "5", reason: "packing supports 4, 6 or 8 bits")) {
            try MXPacking.packed([1], bits: 5)
        }
        #expect(throws: QuantError.lengthMismatch(what: "packed bytes", expected: 3, actual: 2)) {
            try MXPacking.unpacked([0, 0], bits: 6, count: 4)
        }
    }

    @Test("NVFP4: global scale 448·6/amax, E4M3 block scales, E2M1 elements")
    func nvfp4() throws {
        // amax 6·448 = 2688 → S_enc = 1; block amax 2688 → d = 448; x/d ∈ {6, 1, -0.5, 0}
        var x: [Float] = [2688, 448, -224, 0]
        x += [Float](repeating: 0, count: 12)
        x += [6, 3, 1.5]  // second (ragged) block: amax 6 → d = 1
        let t = try NVFP4Tensor.quantize(x, shape: shape(19))
        #expect(t.globalEncodeScale == 1)
        let fp8 = NarrowFloatCodec(format: .e4m3fn)
        #expect(t.blockScaleCodes.map { fp8.decodeFloat(UInt16($0)) } == [448, 1])
        #expect(t.dequantized() == x)
        #expect(throws: QuantError.self) { try NVFP4Tensor.quantize([.nan], shape: shape(1)) }
        let z = try NVFP4Tensor.quantize([0, 0], shape: shape(2))
        #expect(z.globalEncodeScale == 1 && z.dequantized() == [0, 0])
    }
}
