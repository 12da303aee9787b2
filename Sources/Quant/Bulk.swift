import Dispatch
import Formats
import QuantKernels

/// Errors of the codec's bulk API (bad user input; never a trap).
public enum CodecError: Error, Equatable, Sendable, CustomStringConvertible {
    case lengthMismatch(input: Int, output: Int)
    /// The format's codes do not fit the requested code type (e.g. UInt8 for binary16).
    case codeTypeTooNarrow(format: String, bits: Int, codeTypeBits: Int)
    /// A code ≥ 2^bitWidth, e.g. 0x40 given as an E2M1FN code.
    case invalidCode(index: Int, code: UInt16, format: String)
    case invalidThreadCount(Int)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .lengthMismatch(let i, let o): return "input has \(i) elements but output has room for \(o)"
        case .codeTypeTooNarrow(let f, let b, let t): return "\(f) codes are \(b) bits wide and do not fit \(t)-bit storage"
        case .invalidCode(let i, let c, let f):
            return "element \(i) holds code 0x\(String(c, radix: 16)), which is not a valid \(f) code"
        case .invalidThreadCount(let n): return "thread count must be at least 1 (got \(n))"
        }
    }
}

extension NarrowFloatCodec {
    /// The kernel parameters: the descriptor's constants of the conversion steps.
    var kernelParameters: qk_encode_params {
        func pair(_ f: (Bool) -> UInt16) -> (UInt32, UInt32) { (UInt32(f(false)), UInt32(f(true))) }
        let mode: Int32
        switch policy.rounding {
        case .toNearestOrEven, .stochastic: mode = 0
        case .towardZero: mode = 1
        case .up: mode = 2
        case .down: mode = 3
        }
        return qk_encode_params(
            p: Int32(p), min_q: Int32(minQuantumExponent), code_offset: Int32(codeOffset),
            max_mag: Int32(maxMagnitude), sign_bit: UInt32(signMask),
            has_zero: format.hasZero ? 1 : 0, negative_is_nan: format.isSigned ? 0 : 1,
            tie_on_k: tieParityFromSignificand ? 1 : 0, mode: mode,
            nan_code: pair { format.codeForNaN(negative: $0, profile: policy.profile) },
            inf_code: pair { format.codeForInfinity(negative: $0, policy: policy) },
            ovf_code: pair {
                format.codeForOverflow(
                    negative: $0, roundedAway: policy.rounding.carriesOverflowAway(negative: $0), policy: policy)
            },
            zero_code: pair { format.hasZero ? format.codeForZero(negative: $0) : format.canonicalNaN(negative: true)! })
    }

    /// The decode kernel's format constants (its arithmetic decode; the table covers the rest).
    var decodeParameters: qk_decode_params {
        qk_decode_params(
            p: Int32(format.mantissaBits), bias: Int32(format.bias), sign_bit: UInt32(format.signMask),
            max_mag: UInt32(format.maxFiniteMagnitudeCode),
            inf_mag: format.infinityCode(negative: false).map { UInt32($0) } ?? 0xFFFF_FFFF,
            nan_nz: format.nan == .negativeZero ? UInt32(format.signMask) : 0xFFFF_FFFF,
            has_subnormals: format.hasSubnormals ? 1 : 0)
    }

    /// Whether the bulk path can use the vectorised kernels (everything but stochastic rounding).
    var usesKernel: Bool {
        policy.rounding != .stochastic && MLDtypesProfile.kernelsModel(rules)
    }

    // MARK: - Bulk encode

    /// Float32 → codes, for formats of at most 8 bits. `seed` drives stochastic rounding
    /// (element i draws `SplitMix64.draw(seed:index:)` with index `firstIndex + i`, so results
    /// are independent of `threads`, and an array converted in pieces — each call given its
    /// first element's position — gets the codes of one whole call).
    public func encode(
        _ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<UInt8>,
        seed: UInt64 = 0, firstIndex: UInt64 = 0, threads: Int = 1
    ) throws(CodecError) {
        try encodeChunks(input, into: output, seed: seed, firstIndex: firstIndex, threads: threads,
                         useKernel: usesKernel, kernel: qk_encode_f32_u8)
    }

    /// Float32 → codes in 16-bit storage (any format).
    public func encode(
        _ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<UInt16>,
        seed: UInt64 = 0, firstIndex: UInt64 = 0, threads: Int = 1
    ) throws(CodecError) {
        try encodeChunks(input, into: output, seed: seed, firstIndex: firstIndex, threads: threads,
                         useKernel: usesKernel, kernel: qk_encode_f32_u16)
    }

    /// Float64 → codes, each correctly rounded from the exact input (see
    /// `float64TakesFloat32Kernel` for how the vectorised path keeps that exact).
    public func encode(
        _ input: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<UInt8>,
        seed: UInt64 = 0, firstIndex: UInt64 = 0, threads: Int = 1
    ) throws(CodecError) {
        try encodeChunks(input, into: output, seed: seed, firstIndex: firstIndex, threads: threads,
                         useKernel: float64TakesFloat32Kernel) { src, dst, n, prm in
            Self.roundedToOddInFloat32(src, count: n) { f, offset, m in qk_encode_f32_u8(f, dst + offset, m, prm) }
        }
    }

    /// Float64 → codes in 16-bit storage.
    public func encode(
        _ input: UnsafeBufferPointer<Double>, into output: UnsafeMutableBufferPointer<UInt16>,
        seed: UInt64 = 0, firstIndex: UInt64 = 0, threads: Int = 1
    ) throws(CodecError) {
        try encodeChunks(input, into: output, seed: seed, firstIndex: firstIndex, threads: threads,
                         useKernel: float64TakesFloat32Kernel) { src, dst, n, prm in
            Self.roundedToOddInFloat32(src, count: n) { f, offset, m in qk_encode_f32_u16(f, dst + offset, m, prm) }
        }
    }

    /// The one body of the four bulk `encode` overloads: checks the buffers, then converts
    /// `threads` contiguous chunks, each with one call `kernel(source, destination, count,
    /// parameters)` where `useKernel`, else element by element with the scalar rule (the only
    /// path that draws `SplitMix64` bits, index `firstIndex + i`). Always inlined, so each
    /// overload is specialised for its input and code type: the per-element scalar rule is a
    /// direct call (`BulkEncodeInput`), not a call through a function value.
    @inline(__always)
    private func encodeChunks<Input: BulkEncodeInput, Code: FixedWidthInteger & UnsignedInteger>(
        _ input: UnsafeBufferPointer<Input>, into output: UnsafeMutableBufferPointer<Code>,
        seed: UInt64, firstIndex: UInt64, threads: Int, useKernel: Bool,
        kernel: (UnsafePointer<Input>, UnsafeMutablePointer<Code>, Int, UnsafePointer<qk_encode_params>) -> Void
    ) throws(CodecError) {
        try check(input.count, output.count, codeBits: Code.bitWidth, threads: threads)
        var prm = kernelParameters
        let src = input.baseAddress, dst = output.baseAddress
        Self.parallelChunks(count: input.count, threads: threads) { lo, hi in
            if useKernel {
                kernel(src! + lo, dst! + lo, hi - lo, &prm)
            } else {
                for i in lo..<hi {
                    let bits = SplitMix64.draw(seed: seed, index: firstIndex &+ UInt64(i))
                    dst![i] = Code(truncatingIfNeeded: Input.encode(src![i], by: self, randomBits: bits))
                }
            }
        }
    }

    /// Whether bulk Float64 input can go through the Float32 kernels: deterministic rounding
    /// where the profile rounds Float64 directly (stochastic rounding needs the exact distance
    /// to both neighbours; `ProfileRules.roundsFloat64ThroughFloat32` — the `ml_dtypes` profile —
    /// deliberately double-rounds, which the scalar path reproduces).
    ///
    /// Why it stays correctly rounded: each input is first rounded **to odd** at Float32's 24
    /// bits (RO₂₄: the exact value if representable, else whichever of its two Float32
    /// neighbours has an odd last bit). Every value and every midpoint of a target format of
    /// precision q ≤ 22 bits is a Float32 with an even last bit (q + 1 ≤ 23 significant bits,
    /// on the 2⁻¹⁴⁸ grid — the finest here is bfloat16's midpoint 2⁻¹³⁴), so RO₂₄(x) lies on the
    /// same side of each of them as x, and equals one only when x does. Hence
    /// RN_q(RO₂₄(x)) = RN_q(x) (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
    /// proved algorithms using rounding to odd", IEEE TC 57(4), 2008, for p ≥ q + 2), and the
    /// same holds for toward-zero/up/down and for the overflow and E8M0 small-value thresholds,
    /// which are such values too. Below 2⁻¹⁴⁹ the odd neighbour is ±2⁻¹⁴⁹ (never a zero, so the
    /// sign and "non-zero" survive); above Float32's range it is ±(2 − 2⁻²³)·2¹²⁷, odd and
    /// beyond every format's overflow threshold. NaN stays NaN with its sign. The exhaustive
    /// Float64 suite checks this path against MPFR as well as the scalar one.
    var float64TakesFloat32Kernel: Bool {
        usesKernel && !rules.roundsFloat64ThroughFloat32
    }

    /// Converts `count` doubles to RO₂₄ (`alg_to_odd_f64`, the rounding the scaled FP8/MX
    /// paths use too) in blocks of a stack buffer and hands each block (pointer, offset from
    /// `input`, length) to `body`.
    static func roundedToOddInFloat32(
        _ input: UnsafePointer<Double>, count: Int, _ body: (UnsafePointer<Float>, Int, Int) -> Void
    ) {
        let block = 2048
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { tmp in
            var i = 0
            while i < count {
                let n = Swift.min(block, count - i)
                alg_to_odd_f64(input + i, n, tmp.baseAddress!)
                body(UnsafePointer(tmp.baseAddress!), i, n)
                i += n
            }
        }
    }

    /// Array convenience: Float32 → 8-bit codes.
    public func encode(_ input: [Float], seed: UInt64 = 0, threads: Int = 1) throws(CodecError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: input.count)
        try input.withUnsafeBufferPointer { (i: UnsafeBufferPointer<Float>) throws(CodecError) in
            try out.withUnsafeMutableBufferPointer { (o: inout UnsafeMutableBufferPointer<UInt8>) throws(CodecError) in
                try encode(i, into: o, seed: seed, threads: threads)
            }
        }
        return out
    }

    /// Array convenience: Float32 → 16-bit codes (any format).
    public func encodeWide(_ input: [Float], seed: UInt64 = 0, threads: Int = 1) throws(CodecError) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: input.count)
        try input.withUnsafeBufferPointer { (i: UnsafeBufferPointer<Float>) throws(CodecError) in
            try out.withUnsafeMutableBufferPointer { (o: inout UnsafeMutableBufferPointer<UInt16>) throws(CodecError) in
                try encode(i, into: o, seed: seed, threads: threads)
            }
        }
        return out
    }

    /// Consecutive Float32 bit patterns `start, start+1, …` → codes: the exhaustive sweep's fused
    /// input generator over the same loop body as `encode(_:into:)` (stochastic rounding draws
    /// with seed 0 and the offset from `start` as index).
    public func encodeBitPatterns(startingAt start: UInt32, into output: UnsafeMutableBufferPointer<UInt8>) {
        precondition(format.bitWidth <= 8)
        encodeBitPatterns(startingAt: start, into: output, kernel: qk_encode_f32_range_u8)
    }

    public func encodeBitPatterns(startingAt start: UInt32, into output: UnsafeMutableBufferPointer<UInt16>) {
        encodeBitPatterns(startingAt: start, into: output, kernel: qk_encode_f32_range_u16)
    }

    /// The body of both `encodeBitPatterns` overloads, `kernel` the C range kernel of the code
    /// type (always inlined, so each overload calls its kernel directly).
    @inline(__always)
    private func encodeBitPatterns<Code: FixedWidthInteger & UnsignedInteger>(
        startingAt start: UInt32, into output: UnsafeMutableBufferPointer<Code>,
        kernel: (UInt32, UnsafeMutablePointer<Code>?, Int, UnsafePointer<qk_encode_params>) -> Void
    ) {
        precondition(UInt64(start) + UInt64(output.count) <= 1 << 32)
        guard usesKernel else {
            for i in 0..<output.count {
                let code = encode(Float(bitPattern: start &+ UInt32(i)), randomBits: SplitMix64.draw(seed: 0, index: UInt64(i)))
                output[i] = Code(truncatingIfNeeded: code)
            }
            return
        }
        var prm = kernelParameters
        kernel(start, output.baseAddress, output.count, &prm)
    }

    // MARK: - Bulk decode

    /// Codes → Float32 (exact). Throws on a code outside the format (e.g. ≥ 16 for E2M1FN).
    public func decode(
        _ codes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<Float>, threads: Int = 1
    ) throws(CodecError) {
        try decodeChunks(codes, into: output, threads: threads, kernel: qk_decode_u8_f32_format)
    }

    /// 16-bit codes → Float32 (exact).
    public func decode(
        _ codes: UnsafeBufferPointer<UInt16>, into output: UnsafeMutableBufferPointer<Float>, threads: Int = 1
    ) throws(CodecError) {
        try decodeChunks(codes, into: output, threads: threads, kernel: qk_decode_u16_f32_format)
    }

    /// The body of both bulk `decode` overloads: `threads` chunks, each decoded by `kernel`
    /// (the C decode of the code type: codes, output, count, Float32 table, code count,
    /// parameters → index of the first invalid code in the chunk, or its count); the first
    /// invalid code overall is thrown. Always inlined, so each overload calls its kernel directly.
    @inline(__always)
    private func decodeChunks<Code: FixedWidthInteger & UnsignedInteger>(
        _ codes: UnsafeBufferPointer<Code>, into output: UnsafeMutableBufferPointer<Float>, threads: Int,
        kernel: (UnsafePointer<Code>, UnsafeMutablePointer<Float>, Int, UnsafePointer<Float>?, UInt32,
                 UnsafePointer<qk_decode_params>) -> Int
    ) throws(CodecError) {
        try check(codes.count, output.count, codeBits: Code.bitWidth, threads: threads)
        let table = tables.float32
        let count = UInt32(format.codeCount)
        var dp = decodeParameters
        let firstBad = table.withUnsafeBufferPointer { t in
            Self.parallelFirstIndex(count: codes.count, threads: threads) { lo, hi in
                lo + kernel(codes.baseAddress! + lo, output.baseAddress! + lo, hi - lo, t.baseAddress, count, &dp)
            }
        }
        if let i = firstBad { throw .invalidCode(index: i, code: UInt16(codes[i]), format: format.name) }
    }

    /// Array convenience: 8-bit codes → Float32.
    public func decode(_ codes: [UInt8], threads: Int = 1) throws(CodecError) -> [Float] {
        var out = [Float](repeating: 0, count: codes.count)
        try codes.withUnsafeBufferPointer { (c: UnsafeBufferPointer<UInt8>) throws(CodecError) in
            try out.withUnsafeMutableBufferPointer { (o: inout UnsafeMutableBufferPointer<Float>) throws(CodecError) in
                try decode(c, into: o, threads: threads)
            }
        }
        return out
    }

    /// Array convenience: 16-bit codes → Float32.
    public func decode(_ codes: [UInt16], threads: Int = 1) throws(CodecError) -> [Float] {
        var out = [Float](repeating: 0, count: codes.count)
        try codes.withUnsafeBufferPointer { (c: UnsafeBufferPointer<UInt16>) throws(CodecError) in
            try out.withUnsafeMutableBufferPointer { (o: inout UnsafeMutableBufferPointer<Float>) throws(CodecError) in
                try decode(c, into: o, threads: threads)
            }
        }
        return out
    }

    // MARK: - Plumbing

    private func check(_ n: Int, _ m: Int, codeBits: Int, threads: Int) throws(CodecError) {
        guard threads >= 1 else { throw .invalidThreadCount(threads) }
        guard format.bitWidth <= codeBits else {
            throw .codeTypeTooNarrow(format: format.name, bits: format.bitWidth, codeTypeBits: codeBits)
        }
        guard n == m else { throw .lengthMismatch(input: n, output: m) }
    }

    /// Whether the running machine uses the AVX2 kernels.
    public static var usesAVX2Kernels: Bool { qk_uses_avx2() != 0 }

    /// Splits [0, count) into `threads` contiguous chunks (multiples of 64 elements) and runs
    /// `body(lo, hi)` on each concurrently.
    static func parallelChunks(count: Int, threads: Int, _ body: (Int, Int) -> Void) {
        let t = Swift.min(threads, Swift.max(1, count / 4096))
        if t <= 1 { if count > 0 { body(0, count) }; return }
        let per = ((count + t - 1) / t + 63) & ~63
        DispatchQueue.concurrentPerform(iterations: t) { j in
            let lo = j * per, hi = Swift.min(count, lo + per)
            if lo < hi { body(lo, hi) }
        }
    }

    /// Like `parallelChunks`, where each chunk returns its first failing index or `hi`; returns
    /// the smallest failing index overall.
    static func parallelFirstIndex(count: Int, threads: Int, _ body: (Int, Int) -> Int) -> Int? {
        let t = Swift.min(threads, Swift.max(1, count / 4096))
        if t <= 1 {
            let r = count > 0 ? body(0, count) : count
            return r < count ? r : nil
        }
        let per = ((count + t - 1) / t + 63) & ~63
        let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: t)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: t) { j in
            let lo = j * per, hi = Swift.min(count, lo + per)
            if lo < hi { let r = body(lo, hi); results[j] = r < hi ? r : Int.max } else { results[j] = Int.max }
        }
        let m = results.min()!
        return m == Int.max ? nil : m
    }
}

/// The input types of the bulk `encode` overloads, so that one generic body serves Float and
/// Double: each names its scalar rule, `NarrowFloatCodec.encode(_:randomBits:)`.
protocol BulkEncodeInput {
    static func encode(_ x: Self, by codec: NarrowFloatCodec, randomBits: UInt64) -> UInt16
}

extension Float: BulkEncodeInput {
    @inline(__always)
    static func encode(_ x: Float, by codec: NarrowFloatCodec, randomBits: UInt64) -> UInt16 {
        codec.encode(x, randomBits: randomBits)
    }
}

extension Double: BulkEncodeInput {
    @inline(__always)
    static func encode(_ x: Double, by codec: NarrowFloatCodec, randomBits: UInt64) -> UInt16 {
        codec.encode(x, randomBits: randomBits)
    }
}
