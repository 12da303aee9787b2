import Foundation
import Testing
import TestSupport
import Formats
import QuantKernels
@testable import Quant

/// Every encode-kernel implementation this machine can run (the portable generic lane, its AVX2
/// auto-vectorised build, and the fixed-point AVX2 kernel) against the scalar steps, through the
/// bulk loops and the range loops, on tails, misaligned and streaming-store outputs.
extension KernelMatchesScalar {
    static let implementations: [Int32] = [QK_IMPL_PORTABLE, QK_IMPL_AVX2_GENERIC, QK_IMPL_AVX2]
        .map { Int32($0) }.filter { qk_impl_available($0) != 0 }

    /// Runs one implementation of the bulk loop (16-bit or, for ≤ 8-bit formats, 8-bit codes).
    static func bulk(_ impl: Int32, _ codec: NarrowFloatCodec, _ xs: [Float], wide: Bool) -> [UInt16] {
        var prm = codec.kernelParameters
        return xs.withUnsafeBufferPointer { x -> [UInt16] in
            if wide {
                var o = [UInt16](repeating: 0xDEAD, count: xs.count)
                let ran = qk_encode_f32_u16_impl(impl, x.baseAddress, &o, xs.count, &prm)
                precondition(ran >= 0, "implementation \(impl) unavailable")
                return o
            }
            var o = [UInt8](repeating: 0xAD, count: xs.count)
            let ran = qk_encode_f32_u8_impl(impl, x.baseAddress, &o, xs.count, &prm)
            precondition(ran >= 0, "implementation \(impl) unavailable")
            return o.map { UInt16($0) }
        }
    }

    /// Runs one implementation of the range loop over patterns start ..< start + count.
    static func range(_ impl: Int32, _ codec: NarrowFloatCodec, start: UInt32, count: Int, wide: Bool) -> [UInt16] {
        var prm = codec.kernelParameters
        if wide {
            var o = [UInt16](repeating: 0xDEAD, count: count)
            precondition(qk_encode_f32_range_u16_impl(impl, start, &o, count, &prm) >= 0)
            return o
        }
        var o = [UInt8](repeating: 0xAD, count: count)
        precondition(qk_encode_f32_range_u8_impl(impl, start, &o, count, &prm) >= 0)
        return o.map { UInt16($0) }
    }

    @Test func everyBuiltInParameterSetTakesTheFastKernel() {
        // The AVX2 kernel's domain must cover every built-in format and deterministic rule, or the
        // speed figures would silently come from the generic loops.
        guard qk_impl_available(Int32(QK_IMPL_AVX2)) != 0 else { return }
        for format in FloatFormat.all {
            for policy in Self.policies where NarrowFloatCodec(format: format, policy: policy).usesKernel {  // the rest take the scalar steps in bulk
                var prm = NarrowFloatCodec(format: format, policy: policy).kernelParameters
                #expect(qk_fast_path_covers(&prm) != 0, "\(format) \(policy)")
            }
        }
    }

    @Test(arguments: FloatFormat.all)
    func everyImplementationOnBulkInputs(_ format: FloatFormat) throws {
        var rng = SplitMix64(seed: 11)
        var xs: [Float] = [0, -0, .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7F80_0001),
                           Float(bitPattern: 0xFFFF_FFFF), .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                           .leastNormalMagnitude, Float(bitPattern: 0x0040_0000), Float(bitPattern: 0x0060_0000),
                           Float(bitPattern: 0x0060_0001), .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        for _ in 0..<3000 { xs.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        // Values in and around the format's range, with each binade's ties.
        let codec0 = NarrowFloatCodec(format: format)
        let step = max(1, format.codeCount / 2 / 512)
        for c in stride(from: 0, to: format.codeCount / 2, by: step) {
            let a = Double(codec0.decodeFloat(UInt16(c))), b = Double(codec0.decodeFloat(UInt16(c + 1)))
            guard a.isFinite, b.isFinite else { continue }
            let mid = Float((a + b) / 2)
            xs += [mid, mid.nextUp, mid.nextDown, -mid, -mid.nextUp, Float(a), -Float(b)]
        }
        for _ in 0..<1000 {
            let e = Int(rng.next() % 40) - 20 + format.minNormalExponent / 2
            xs.append(Float(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: e,
                            significand: 1 + Float(rng.next() % 1024) / 1024))
        }
        xs.append(contentsOf: xs.prefix(29))  // a length that is not a multiple of 32
        for policy in Self.policies where NarrowFloatCodec(format: format, policy: policy).usesKernel {  // the rest take the scalar steps in bulk
            let codec = NarrowFloatCodec(format: format, policy: policy)
            let expected = xs.map { codec.encode($0) }
            for impl in Self.implementations {
                for wide in format.bitWidth <= 8 ? [false, true] : [true] {
                    let got = Self.bulk(impl, codec, xs, wide: wide)
                    if let i = got.indices.first(where: { got[$0] != expected[$0] }) {
                        Issue.record("impl \(impl) wide=\(wide) \(format) \(policy) x=\(xs[i]) bits=\(hex(xs[i].bitPattern)) kernel=\(got[i]) scalar=\(expected[i])")
                    }
                }
            }
        }
    }

    /// Dense windows of consecutive Float32 patterns through the range loops: around ±0, the
    /// Float32 subnormal/normal boundary and 2^−127, the format's every binade boundary and the
    /// midpoints (ties) next to it, the overflow threshold, ±Inf/NaN and the ends of the space.
    @Test(arguments: FloatFormat.all)
    func rangeKernelOnDenseWindows(_ format: FloatFormat) throws {
        var windows: [(start: UInt32, count: Int)] = []
        func around(_ bits: UInt32, _ half: UInt32) {
            for sign: UInt32 in [0, 0x8000_0000] {
                let c = (bits & 0x7FFF_FFFF) | sign
                let lo = c >= half ? c - half : 0
                windows.append((lo, Int(min(UInt64(2 * half), (1 << 32) - UInt64(lo)))))
            }
        }
        for b: UInt32 in [0, 0x0000_0100, 0x0040_0000, 0x0060_0000, 0x0080_0000, 0x7F7F_FF00, 0x7F80_0000,
                          0x7FC0_0000, 0x7FFF_FFFF] {
            around(b, 200)
        }
        windows.append((0xFFFF_FF00, 256))
        // Binade boundaries 2^e of the format, and the midpoints on either side of them.
        let codec0 = NarrowFloatCodec(format: format)
        let mantissaMask = Int(format.mantissaMask)
        for c in 0..<(format.codeCount / (format.isSigned ? 2 : 1)) {
            let v = Double(codec0.decodeFloat(UInt16(c)))
            guard v.isFinite else { continue }
            let isBinadeEdge = format.bitWidth <= 8 || c & mantissaMask == 0 || c & mantissaMask == mantissaMask
            guard isBinadeEdge else { continue }
            around(Float(v).bitPattern, 16)
            let next = Double(codec0.decodeFloat(UInt16(c + 1)))
            let upper = next.isFinite ? (v + next) / 2 : v + (v - Double(codec0.decodeFloat(UInt16(c - 1)))) / 2
            around(Float(upper).bitPattern, 16)  // a tie (or the overflow threshold past max)
        }
        // A few random windows.
        var rng = SplitMix64(seed: 5)
        for _ in 0..<8 { windows.append((UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF_0000, 333)) }

        let wide = format.bitWidth > 8
        for policy in Self.policies where NarrowFloatCodec(format: format, policy: policy).usesKernel {  // the rest take the scalar steps in bulk
            let codec = NarrowFloatCodec(format: format, policy: policy)
            var failures = 0
            for w in windows {
                let expected = (0..<w.count).map { codec.encode(Float(bitPattern: w.start &+ UInt32($0))) }
                for impl in Self.implementations {
                    let got = Self.range(impl, codec, start: w.start, count: w.count, wide: wide)
                    if let i = got.indices.first(where: { got[$0] != expected[$0] }), failures < 5 {
                        failures += 1
                        Issue.record("impl \(impl) \(format) \(policy) pattern=\(hex(w.start &+ UInt32(i))) kernel=\(got[i]) scalar=\(expected[i])")
                    }
                }
            }
        }
    }

    /// Outputs large enough for streaming stores, at every alignment, must equal the same
    /// kernel's output computed in small (cached-store) pieces; a sample is checked against the
    /// scalar steps too.
    @Test func streamingStoresAtEveryAlignment() throws {
        let n = (4 << 20) + 77
        var rng = SplitMix64(seed: 9)
        let xs = (0..<(n + 40)).map { _ in
            Float(Int64(bitPattern: rng.next() >> 40) - (1 << 23)) / 20000
        }
        for (format, wide) in [(FloatFormat.e4m3fn, false), (.bfloat16, true)] {
            let codec = NarrowFloatCodec(format: format)
            var prm = codec.kernelParameters
            for offset in [0, 1, 3, 31] {
                let slice = Array(xs[offset..<(offset + n - (wide ? n / 2 : 0))])
                let count = slice.count
                var whole = [UInt16](repeating: 0, count: count + 32)
                var pieces = [UInt16](repeating: 0, count: count)
                slice.withUnsafeBufferPointer { x in
                    whole.withUnsafeMutableBytes { raw in
                        // Start the output `offset` bytes into an aligned buffer.
                        let base = raw.baseAddress! + offset * (wide ? 2 : 1)
                        if wide {
                            qk_encode_f32_u16(x.baseAddress, base.assumingMemoryBound(to: UInt16.self), count, &prm)
                        } else {
                            qk_encode_f32_u8(x.baseAddress, base.assumingMemoryBound(to: UInt8.self), count, &prm)
                        }
                    }
                    pieces.withUnsafeMutableBytes { raw in
                        var i = 0
                        while i < count {
                            let m = min(65_536, count - i)
                            if wide {
                                qk_encode_f32_u16(x.baseAddress! + i, raw.baseAddress!.assumingMemoryBound(to: UInt16.self) + i, m, &prm)
                            } else {
                                qk_encode_f32_u8(x.baseAddress! + i, raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + i, m, &prm)
                            }
                            i += m
                        }
                    }
                }
                let got: [UInt16] = whole.withUnsafeBytes { raw in
                    let base = raw.baseAddress! + offset * (wide ? 2 : 1)
                    return (0..<count).map { i in
                        wide ? base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                             : UInt16(base.load(fromByteOffset: i, as: UInt8.self))
                    }
                }
                let want: [UInt16] = pieces.withUnsafeBytes { raw in
                    (0..<count).map { i in
                        wide ? raw.load(fromByteOffset: 2 * i, as: UInt16.self) : UInt16(raw.load(fromByteOffset: i, as: UInt8.self))
                    }
                }
                #expect(got == want, "\(format) offset \(offset)")
                for i in stride(from: 0, to: count, by: 4099) where got[i] != codec.encode(slice[i]) {
                    Issue.record("\(format) offset \(offset) x=\(slice[i]) kernel=\(got[i]) scalar=\(codec.encode(slice[i]))")
                    break
                }
            }
        }
    }

    /// Bulk decode (gathers, streaming stores past 4 MiB of output) against the scalar decode,
    /// and the first invalid code reported wherever it sits (vector body, tail, first lane).
    @Test(arguments: FloatFormat.all)
    func bulkDecodeMatchesScalarAndFindsTheFirstInvalidCode(_ format: FloatFormat) throws {
        let codec = NarrowFloatCodec(format: format)
        var rng = SplitMix64(seed: 3)
        for n in [0, 1, 31, 33, 1000, (1 << 20) + 13] {
            let codes = (0..<n).map { _ in UInt16(rng.next() % UInt64(format.codeCount)) }
            let want = codes.map { codec.decodeFloat($0).bitPattern }
            #expect(try codec.decode(codes).map(\.bitPattern) == want, "\(format) n=\(n) (16-bit storage)")
            if format.bitWidth <= 8 {
                #expect(try codec.decode(codes.map { UInt8($0) }).map(\.bitPattern) == want, "\(format) n=\(n)")
            }
            guard n > 0 else { continue }
            for position in Set([0, n / 2, n - 1]) {
                for invalid in [format.codeCount, 0xFFFF] where format.codeCount <= invalid && invalid < 1 << 16 {
                    var bad = codes
                    bad[position] = UInt16(invalid)
                    if position + 1 < n { bad[n - 1] = UInt16(invalid) }  // a later one too
                    let error = CodecError.invalidCode(index: position, code: UInt16(invalid), format: format.name)
                    #expect(throws: error) { _ = try codec.decode(bad) }
                    if format.bitWidth <= 8 && invalid < 1 << 8 {
                        #expect(throws: error) { _ = try codec.decode(bad.map { UInt8($0) }) }
                    }
                }
            }
        }
    }

    /// The streaming decode (outputs of 4 MiB and more) at every output alignment: the head
    /// before the first 32-byte boundary, the body and the tail, against the scalar decode.
    @Test(arguments: [FloatFormat.e4m3fn, .e5m2, .e4m3fnuz, .e2m1fn])
    func streamingDecodeAtEveryAlignment(_ format: FloatFormat) throws {
        let codec = NarrowFloatCodec(format: format)
        var rng = SplitMix64(seed: 11)
        let n = (1 << 20) + 5
        let codes = (0..<n).map { _ in UInt8(rng.next() % UInt64(format.codeCount)) }
        let want = codes.map { codec.decodeFloat(UInt16($0)).bitPattern }
        var out = [Float](repeating: 0, count: n + 8)
        for offset in 0..<8 {
            try codes.withUnsafeBufferPointer { src in
                try out.withUnsafeMutableBufferPointer { dst in
                    try codec.decode(src, into: UnsafeMutableBufferPointer(rebasing: dst[offset..<(offset + n)]))
                }
            }
            #expect(out[offset..<(offset + n)].map(\.bitPattern) == want, "\(format), output offset \(offset) floats")
        }
    }

    /// Every code of every format through the bulk decode (arithmetic where the format allows it,
    /// table elsewhere), bit for bit against the decode table, in both code widths.
    @Test(arguments: FloatFormat.all)
    func bulkDecodeOfEveryCode(_ format: FloatFormat) throws {
        let codec = NarrowFloatCodec(format: format)
        let codes = (0..<format.codeCount).map { UInt16($0) } + (0..<format.codeCount).reversed().map { UInt16($0) }
        let want = codes.map { codec.decodeFloat($0).bitPattern }
        #expect(try codec.decode(codes).map(\.bitPattern) == want, "\(format) (16-bit storage)")
        if format.bitWidth <= 8 {
            #expect(try codec.decode(codes.map { UInt8($0) }).map(\.bitPattern) == want, "\(format)")
        }
    }

    @Test func arithmeticDecodeCoversEveryFormatButE8M0AndCatchesWrongConstants() throws {
        guard qk_impl_available(Int32(QK_IMPL_AVX2)) != 0 else { return }
        for format in FloatFormat.all {
            var dp = NarrowFloatCodec(format: format).decodeParameters
            #expect((qk_decode_fast_path_covers(&dp) != 0) == (format != .e8m0fnu), "\(format)")
        }
        // Negative control: a bias off by one must show in the comparison with the table.
        let codec = NarrowFloatCodec(format: .e4m3fn)
        var wrong = codec.decodeParameters
        wrong.bias += 1
        let codes = (0..<256).map { UInt8($0) }
        var out = [Float](repeating: 0, count: 256)
        codec.tables.float32.withUnsafeBufferPointer { t in
            _ = qk_decode_u8_f32_format(codes, &out, 256, t.baseAddress, 256, &wrong)
        }
        #expect(codes.indices.contains { out[$0].bitPattern != codec.decodeFloat(UInt16($0)).bitPattern })
    }

    /// Negative controls: kernels fed deliberately wrong parameters (toward zero where the codec
    /// rounds to nearest; ties on the significand where E8M0FNU ties on the code) must be caught
    /// by the same comparison.
    @Test func comparisonCatchesWrongKernels() {
        let e4m3 = NarrowFloatCodec(format: .e4m3fn)
        var rtz = e4m3.kernelParameters
        rtz.mode = 1
        let e8m0 = NarrowFloatCodec(format: .e8m0fnu)
        var kTies = e8m0.kernelParameters
        kTies.tie_on_k = 1
        // Around 1.0625 (the midpoint of 1 and 1.125 in E4M3FN) and 3 (of 2 and 4 in E8M0FNU,
        // whose floor code 0x80 is even).
        let cases: [(NarrowFloatCodec, qk_encode_params, UInt32)] = [
            (e4m3, rtz, 0x3F88_0000 - 2048), (e8m0, kTies, 0x4040_0000 - 2048),
        ]
        for (codec, wrong, start) in cases {
            var prm = wrong
            var o = [UInt8](repeating: 0, count: 4096)
            for impl in Self.implementations {
                _ = qk_encode_f32_range_u8_impl(impl, start, &o, o.count, &prm)
                let differs = o.indices.contains { UInt16(o[$0]) != codec.encode(Float(bitPattern: start + UInt32($0))) }
                #expect(differs, "impl \(impl) \(codec.format): a wrong kernel went unnoticed")
            }
        }
    }
}

/// Opt-in (QC_EXHAUSTIVE=1, release build recommended): the range kernel against the scalar
/// codec over all 2^32 Float32 patterns for a few formats in both overflow modes.
@Suite struct ExhaustiveKernelCheck {
    static let cases: [(FloatFormat, ConversionPolicy)] = {
        var c: [(FloatFormat, ConversionPolicy)] = []
        for f in [FloatFormat.e4m3fn, .e5m2, .e8m0fnu, .bfloat16, .e2m1fn] {
            for o in OverflowPolicy.allCases { c.append((f, ConversionPolicy(overflow: o))) }
        }
        c.append((.e8m0fnu, ConversionPolicy(profile: .mlDtypes0_6)))
        c.append((.e8m0fnu, ConversionPolicy(profile: .mlDtypes0_7)))  // kernels: ties on the significand
        return c
    }()

    @Test func allPatterns() throws {
        guard ProcessInfo.processInfo.environment["QC_EXHAUSTIVE"] != nil else { return }
        for (format, policy) in Self.cases {
            let codec = NarrowFloatCodec(format: format, policy: policy)
            let chunk = 1 << 16
            let chunks = (1 << 32) / chunk
            let threads = 2
            let mismatches = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
            let firstBad = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: threads)
            defer { mismatches.deallocate(); firstBad.deallocate() }
            let t0 = Date()
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var bad = 0
                var first: UInt32 = 0
                var o8 = [UInt8](repeating: 0, count: chunk)
                var o16 = [UInt16](repeating: 0, count: chunk)
                for k in stride(from: t, to: chunks, by: threads) {
                    let start = UInt32(k * chunk)
                    if format.bitWidth <= 8 {
                        o8.withUnsafeMutableBufferPointer { codec.encodeBitPatterns(startingAt: start, into: $0) }
                        for i in 0..<chunk where UInt16(o8[i]) != codec.encode(Float(bitPattern: start + UInt32(i))) {
                            if bad == 0 { first = start + UInt32(i) }
                            bad += 1
                        }
                    } else {
                        o16.withUnsafeMutableBufferPointer { codec.encodeBitPatterns(startingAt: start, into: $0) }
                        for i in 0..<chunk where o16[i] != codec.encode(Float(bitPattern: start + UInt32(i))) {
                            if bad == 0 { first = start + UInt32(i) }
                            bad += 1
                        }
                    }
                }
                mismatches[t] = bad
                firstBad[t] = first
            }
            let bad = mismatches.reduce(0, +)
            print("EXHAUSTIVE \(format) \(policy): \(bad) mismatches over 2^32 patterns (\(String(format: "%.1f", Date().timeIntervalSince(t0))) s)")
            #expect(bad == 0, "\(format) \(policy): first mismatch at \(hex(firstBad.first { _ in true } ?? 0))")
        }
    }
}
