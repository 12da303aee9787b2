import Formats
import QuantKernels
import Testing
@testable import Quant

@Suite("W8A8 and FP8 GEMV kernels")
struct LinearKernelsTests {
    /// RN₃₂(acc · xs · ws) from exact integer arithmetic, independent of the kernel's
    /// TwoProduct: |acc|·m_x·m_w (≤ 31 + 24 + 24 bits) is a UInt128, converted to Float with one
    /// rounding (integer → Float rounds to nearest, ties to even), then scaled by a power of two
    /// (exact while the result stays normal, which these tests keep to).
    static func exactOutput(_ acc: Int32, _ xs: Float, _ ws: Float) -> Float {
        if acc == 0 || xs == 0 || ws == 0 { return 0 }
        let (mx, ex) = (UInt128(xs.significandBitPattern | (xs.isNormal ? 1 << 23 : 0)), Int(xs.exponent) - 23)
        let (mw, ew) = (UInt128(ws.significandBitPattern | (ws.isNormal ? 1 << 23 : 0)), Int(ws.exponent) - 23)
        let n = UInt128(acc.magnitude) * mx * mw
        let r = Float(sign: acc < 0 ? .minus : .plus, exponent: ex + ew, significand: Float(n))
        return r
    }

    /// Scalar reference of the documented W8A8 formula.
    func reference(_ layer: W8A8Linear, _ x: [Float], batch: Int, scaling: ActivationScaling) throws -> [Float] {
        let xq: QuantizedIntegerTensor = try IntegerQuantizer.quantize(
            x, shape: shape(batch, layer.inFeatures), granularity: scaling == .perToken ? .perToken : .perTensor)
        let q = xq.values()
        var y = [Float](repeating: 0, count: batch * layer.outFeatures)
        for b in 0..<batch {
            let sx = scaling == .perToken ? xq.scales[b] : xq.scales[0]
            for o in 0..<layer.outFeatures {
                var acc: Int32 = 0
                for j in 0..<layer.inFeatures { acc += Int32(layer.codes[o * layer.inFeatures + j]) * Int32(q[b * layer.inFeatures + j]) }
                y[b * layer.outFeatures + o] = Self.exactOutput(acc, sx, layer.weightScales[o])
            }
        }
        return y
    }

    /// The one case a plain RN₃₂(RN₆₄(acc·p)) gets wrong: acc·p needs more than 53 bits and
    /// RN₆₄ lands exactly on a binary32 midpoint. Constructed as acc·m_x·m_w = K·2^30 ± 1 with
    /// K odd and the product in [2^54, 2^55) (ws = 1, so p = xs): RN₆₄ drops the ±1, leaving
    /// the midpoint K·2^30 of two binary32 neighbours 2^31 apart.
    @Test("W8A8 output rounding: exact midpoint cases and random accumulators")
    func w8a8OutputIsCorrectlyRounded() {
        var g = SplitMix64(seed: 55)
        var midpointCases = 0, plainWrong = 0
        var failures: [String] = []
        for _ in 0..<100_000 where midpointCases < 64 {
            let mx = UInt64(1 << 23) | (g.next() & 0x7F_FFFF) | 1
            // acc ≡ ±mx⁻¹ (mod 2^30) by Newton iteration on the 2-adic inverse.
            var inv: UInt64 = mx
            for _ in 0..<5 { inv = inv &* (2 &- mx &* inv) }
            let sign: UInt64 = g.next() & 1 == 0 ? 1 : (1 << 30) - 1
            // Both residue and residue + 2^30 are valid Int32 accumulators (< 2^31).
            let residue = (inv &* sign) & ((1 << 30) - 1)
            let acc = UInt128(residue) * UInt128(mx) >= (1 << 54) ? residue : residue + (1 << 30)
            let n = UInt128(acc) * UInt128(mx)
            // n = K·2^30 + 1 (sign 1) or K·2^30 − 1: K odd makes K·2^30 a binary32 midpoint.
            let k = sign == 1 ? (n - 1) >> 30 : (n + 1) >> 30
            guard n >= (1 << 54) && n < (1 << 55) && k & 1 == 1 else { continue }
            let xs = Float(sign: .plus, exponent: -23, significand: Float(mx))  // m_x · 2^−23, exact
            for s in [Int32(1), -1] {
                let a = Int32(acc) * s
                let got = W8A8Linear.output(acc: a, xScale: xs, wScale: 1)
                let want = Self.exactOutput(a, xs, 1)
                if got.bitPattern != want.bitPattern { failures.append("acc \(a), xs \(xs): \(got) ≠ \(want)") }
                if Float(Double(a) * Double(xs)) != want { plainWrong += 1 }
            }
            midpointCases += 1
        }
        for _ in 0..<20_000 {
            let a = Int32(truncatingIfNeeded: g.next()) >> Int32(g.next() % 24)
            let xs = Float(sign: .plus, exponent: Int(g.next() % 20) - 20, significand: 1 + Float(g.next() % (1 << 23)) * 0x1p-23)
            let ws = Float(sign: .plus, exponent: Int(g.next() % 20) - 20, significand: 1 + Float(g.next() % (1 << 23)) * 0x1p-23)
            let got = W8A8Linear.output(acc: a, xScale: xs, wScale: ws)
            let want = Self.exactOutput(a, xs, ws)
            if got.bitPattern != want.bitPattern { failures.append("acc \(a), xs \(xs), ws \(ws): \(got) ≠ \(want)") }
        }
        #expect(midpointCases == 64)
        #expect(failures.isEmpty, "\(failures.count) wrong outputs, first: \(failures.prefix(3))")
        // Negative control: the constructed cases do defeat the naive double rounding.
        #expect(plainWrong > 0)
    }

    @Test("W8A8 GEMM equals the scalar formula bit for bit", arguments: [(1, 7, 5), (3, 65, 9), (4, 256, 13)])
    func w8a8(batch: Int, inF: Int, outF: Int) throws {
        let w = randomFloats(outF * inF, seed: 21, scale: 0.05)
        let x = randomFloats(batch * inF, seed: 22)
        let layer = try W8A8Linear(weights: w, shape: shape(outF, inF))
        for scaling in ActivationScaling.allCases {
            #expect(try layer.forward(x, batch: batch, activationScaling: scaling) == reference(layer, x, batch: batch, scaling: scaling))
        }
        // and approximates the Float32 product
        let y = try layer.forward(x, batch: batch)
        for b in 0..<batch {
            for o in 0..<outF {
                var exact = 0.0
                for j in 0..<inF { exact += Double(w[o * inF + j]) * Double(x[b * inF + j]) }
                #expect(abs(Double(y[b * outF + o]) - exact) < 0.05 * Double(inF).squareRoot())
            }
        }
    }

    @Test("Int32 accumulation at the documented limit: in = 2^17, all codes 127")
    func int32Bound() throws {
        let n = W8A8Linear.maxInFeatures
        let layer = try W8A8Linear(codes: [Int8](repeating: 127, count: n), weightScales: [1], outFeatures: 1, inFeatures: n)
        let x = [Float](repeating: 127, count: n)  // scale 1 → codes 127
        let y = try layer.forward(x, batch: 1, activationScaling: .perTensor)
        #expect(y == [Float(2_114_060_288)])  // 2^17 · 127², no wrap-around
        #expect(throws: QuantError.limitExceeded(what: "in_features", value: n + 1, limit: n)) {
            try W8A8Linear(codes: [Int8](repeating: 1, count: n + 1), weightScales: [1], outFeatures: 1, inFeatures: n + 1)
        }
    }

    @Test("W8A8 input validation")
    func w8a8Errors() throws {
        #expect(throws: QuantError.valueOutOfRange(what: "weight codes", index: 1, value: -128, allowed: "[-127, 127]")) {
            try W8A8Linear(codes: [1, -128], weightScales: [1], outFeatures: 1, inFeatures: 2)
        }
        #expect(throws: QuantError.lengthMismatch(what: "weight scales", expected: 1, actual: 2)) {
            try W8A8Linear(codes: [1, 1], weightScales: [1, 1], outFeatures: 1, inFeatures: 2)
        }
        let layer = try W8A8Linear(codes: [1, 1], weightScales: [1], outFeatures: 1, inFeatures: 2)
        #expect(throws: QuantError.self) { try layer.forward([1, 2, 3], batch: 1) }
        #expect(throws: QuantError.self) { try layer.forward([1, .nan], batch: 1) }
        #expect(throws: QuantError.self) { try layer.forward([1, 2], batch: 0) }
        let int4 = try IntegerQuantizer.quantize([1, 2], shape: shape(1, 2), bits: .int4, granularity: .perChannel)
        #expect(throws: QuantError.self) { try W8A8Linear(int4) }
    }

    @Test("FP8 GEMV equals the documented 8-lane order; per-row, per-tensor and block scales",
          arguments: [ScaleGranularity.perChannel, .perTensor, .blockwise(size: 32), .blockwise(size: 20)])
    func fp8(granularity: ScaleGranularity) throws {
        let outF = 6, inF = 77
        let w = randomFloats(outF * inF, seed: 31)
        let x = randomFloats(inF, seed: 32)
        let t = try FP8Scaling.quantize(w, shape: shape(outF, inF), format: .e4m3fn, granularity: granularity)
        let g = try FP8GEMVWeights(t)
        let y = try g.multiply(x)
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let nb = (inF + g.blockSize - 1) / g.blockSize
        for o in 0..<outF {
            var s: Float = 0
            for b in 0..<nb {
                let j0 = b * g.blockSize, n = min(g.blockSize, inF - j0)
                var lanes = [Float](repeating: 0, count: 8)
                var j = 0
                while j + 8 <= n {
                    for l in 0..<8 { lanes[l] = lanes[l] + codec.decodeFloat(UInt16(t.codes[o * inF + j0 + j + l])) * x[j0 + j + l] }
                    j += 8
                }
                var d = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
                while j < n {
                    d = d + codec.decodeFloat(UInt16(t.codes[o * inF + j0 + j])) * x[j0 + j]
                    j += 1
                }
                s = s + d * g.scaleInverses[o * nb + b]
            }
            #expect(y[o] == s)
        }
        // consistent with dequantize-then-multiply up to summation order
        let deq = t.dequantized()
        for o in 0..<outF {
            var ref = 0.0
            for j in 0..<inF { ref += Double(deq[o * inF + j]) * Double(x[j]) }
            #expect(abs(Double(y[o]) - ref) < 1e-4)
        }
    }

    @Test("FP8 GEMV rejects other formats and NaN codes")
    func fp8Errors() throws {
        let t = try FP8Scaling.quantize([1, 2], shape: shape(1, 2), format: .e5m2)
        #expect(throws: QuantError.self) { try FP8GEMVWeights(t) }
        let n = try FP8Scaling.quantize([1, .nan], shape: shape(1, 2), format: .e4m3fn)
        #expect(throws: QuantError.self) { try FP8GEMVWeights(n) }
        let ok = try FP8GEMVWeights(try FP8Scaling.quantize([1, 2], shape: shape(1, 2), format: .e4m3fn))
        #expect(throws: QuantError.lengthMismatch(what: "x", expected: 2, actual: 3)) { try ok.multiply([1, 2, 3]) }
    }

    @Test("Float32 GEMV baseline matches a Float64 reference")
    func f32() throws {
        let rows = 9, cols = 37
        let w = randomFloats(rows * cols, seed: 41), x = randomFloats(cols, seed: 42)
        var y = [Float](repeating: 0, count: rows)
        try w.withUnsafeBufferPointer { wp in
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { try Float32GEMV.multiply(weights: wp, rows: rows, columns: cols, x: xp, into: $0) }
            }
        }
        for o in 0..<rows {
            var ref = 0.0
            for j in 0..<cols { ref += Double(w[o * cols + j]) * Double(x[j]) }
            #expect(abs(Double(y[o]) - ref) < 1e-4)
        }
    }
}

/// The FP8 GEMV decodes every finite E4M3FN code exactly, in the 8-lane vector loop and in the
/// scalar tail alike. Rows r hold code c_r in one column, zeros elsewhere, x is the unit vector
/// of that column, so y_r is the decoded value itself (scale 1). Subnormal codes are the case
/// that once went through Float32 subnormals (slow on Intel, still exact).
@Suite("FP8 GEMV decode") struct FP8GEMVDecode {
    @Test(arguments: [0, 14])  // column 0: vector loop; column 14 of 15: scalar tail
    func everyFiniteCodeDecodesExactly(column: Int) throws {
        let format = FloatFormat.e4m3fn
        let finite = (0..<256).map(UInt8.init).filter { $0 & 0x7F != 0x7F }
        let cols = 15
        var codes = [UInt8](repeating: 0, count: finite.count * cols)
        for (r, c) in finite.enumerated() { codes[r * cols + column] = c }
        var x = [Float](repeating: 0, count: cols)
        x[column] = 1
        let scales = [Float](repeating: 1, count: finite.count)
        var y = [Float](repeating: .nan, count: finite.count)
        codes.withUnsafeBufferPointer { c in
            scales.withUnsafeBufferPointer { s in
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        alg_gemv_e4m3(c.baseAddress, s.baseAddress, finite.count, cols, cols, xp.baseAddress, yp.baseAddress)
                    }
                }
            }
        }
        // The sum starts from +0, so the sign of a zero code is not observable here.
        for (r, c) in finite.enumerated() {
            let v = try #require(format.finiteValue(of: UInt16(c)))
            let expected = (v.negative ? -1 : 1) * Double(v.significand) * Double(sign: .plus, exponent: v.exponent, significand: 1)
            #expect(Double(y[r]) == expected, "code 0x\(String(c, radix: 16)): got \(y[r]), expected \(expected)")
        }
    }
}

/// `alg_scale_to_odd_f32` (FP8 scaling's vectorised path) against the definition of rounding
/// to odd, in both its AVX2 and portable variants, with its overflow count.
@Suite("Scaled round-to-odd kernel") struct ScaleToOddKernel {
    /// RO₂₄(p) from the definition: p if it is a Float32, else the neighbour with an odd last bit.
    static func roundToOdd(_ p: Double) -> Float {
        if p.isNaN { return .nan }
        if abs(p) > Double(Float.greatestFiniteMagnitude) && p.isFinite {
            return p < 0 ? -.greatestFiniteMagnitude : .greatestFiniteMagnitude
        }
        let f = Float(p)
        if Double(f) == p { return f }
        let lo = Double(f) < p ? f : f.nextDown, hi = Double(f) < p ? f.nextUp : f
        return lo.bitPattern & 1 == 1 ? lo : hi
    }

    static let inputs: [Float] = {
        var rng = SplitMix64(seed: 77)
        var v: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude,
                          .greatestFiniteMagnitude, 448, 464, -464, 480, 1, 1.5, 0x1.000002p0]
        for _ in 0..<5000 {
            let r = rng.next()
            v.append(Float(bitPattern: UInt32(truncatingIfNeeded: r)))
            v.append(Float(sign: r & 1 == 0 ? .plus : .minus, exponent: Int(r >> 40 % 60) - 30,
                           significand: 1 + Float(UInt32(truncatingIfNeeded: r >> 8) >> 9) * 0x1p-23))
        }
        return v
    }()

    @Test(arguments: [1.0, 448.0 / 3.0, 0x1p-11, 0x1p100, 0x1p-100, 0x1.fffffep-1, 1e-30])
    func matchesTheDefinition(scale: Double) {
        let x = Self.inputs
        let threshold = 464.0
        var fast = [Float](repeating: 0, count: x.count), portable = fast
        let (overFast, overPortable) = x.withUnsafeBufferPointer { xp in
            (fast.withUnsafeMutableBufferPointer { alg_scale_to_odd_f32(xp.baseAddress, x.count, scale, threshold, 0, $0.baseAddress) },
             portable.withUnsafeMutableBufferPointer { alg_scale_to_odd_f32_portable(xp.baseAddress, x.count, scale, threshold, 0, $0.baseAddress) })
        }
        var over = 0
        for i in x.indices {
            let p = Double(x[i]) * scale
            let expected = Self.roundToOdd(p)
            #expect(fast[i].bitPattern == portable[i].bitPattern, "x = \(x[i]): vector and portable differ")
            #expect(fast[i].bitPattern == expected.bitPattern || (fast[i].isNaN && expected.isNaN),
                    "x = \(x[i]), s = \(scale): got \(fast[i]), RO24 is \(expected)")
            if p.isFinite && abs(p) > threshold { over += 1 }
        }
        #expect(overFast == over && overPortable == over)
    }

    /// Negative control: plain round-to-nearest at Float32 (what double rounding would use)
    /// disagrees with the definition on these inputs, so the comparison above can fail.
    @Test func roundToNearestIsNotRoundToOdd() {
        let scale = 448.0 / 3.0
        let differs = Self.inputs.contains { x in
            let p = Double(x) * scale
            return p.isFinite && abs(p) <= Double(Float.greatestFiniteMagnitude)
                && Float(p).bitPattern != Self.roundToOdd(p).bitPattern
        }
        #expect(differs)
    }

    @Test func tieCountsAsOverflowWhenAsked() {
        let x: [Float] = [464, -464, 463.99997, 465]
        var out = [Float](repeating: 0, count: x.count)
        let withTie = alg_scale_to_odd_f32(x, x.count, 1, 464, 1, &out)
        let withoutTie = alg_scale_to_odd_f32(x, x.count, 1, 464, 0, &out)
        #expect(withTie == 3 && withoutTie == 1)
    }
}
