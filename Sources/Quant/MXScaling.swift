import Formats
import QuantKernels

/// The OCP Microscaling (MX v1.0 §5) element formats.
public enum MXElementFormat: String, Hashable, Sendable, Codable, CaseIterable {
    case mxfp8E4M3 = "mxfp8_e4m3"
    case mxfp8E5M2 = "mxfp8_e5m2"
    case mxfp6E3M2 = "mxfp6_e3m2"
    case mxfp6E2M3 = "mxfp6_e2m3"
    case mxfp4E2M1 = "mxfp4_e2m1"

    public var format: FloatFormat {
        switch self {
        case .mxfp8E4M3: return .e4m3fn
        case .mxfp8E5M2: return .e5m2
        case .mxfp6E3M2: return .e3m2fn
        case .mxfp6E2M3: return .e2m3fn
        case .mxfp4E2M1: return .e2m1fn
        }
    }

    /// emax_elem: exponent of the largest normal binade (OCP MX v1.0 Table 1 / microxcaling
    /// `_get_format_params`: 8, 15, 4, 2, 2), derived from the element's descriptor
    /// (`FloatFormat.emax`), not tabulated.
    public var emax: Int { format.emax }

    /// Bits per stored element: 8, 6 or 4.
    public var bitsPerElement: Int { format.bitWidth }
}

/// How the shared E8M0 block scale X = 2^k is chosen from the block's amax.
public enum MXScaleRule: String, Hashable, Sendable, Codable, CaseIterable {
    /// OCP MX reference (microsoft/microxcaling): k = ⌊log2 amax⌋ − emax_elem, clamped to
    /// [−127, 127]; elements above the element max saturate.
    case ocp
    /// Transformer Engine MXFP8: k = ⌈log2(amax / elem_max)⌉ (the scale rounded *up* to a power
    /// of two, computed exactly), clamped to [−127, 127]; no element saturates unless clamped.
    case roundUp = "round_up"
}

/// An MX-quantized tensor: blocks of 32 consecutive elements along the last dimension share one
/// E8M0 scale X = 2^(code − 127); the last block of a row may be shorter (ragged).
///
///     element code = encode_elem(x / X)     (x / X exact; RNE, saturating)
///     x̂ = decode_elem(code) · X             (exact in Float32 unless it under/overflows; computed in Float64)
///
/// A block containing NaN or ±∞ gets the NaN scale 0xFF, and all its elements decode to NaN
/// (its element codes are the codec's encoding of x unscaled). An all-zero block gets 2^−127.
///
/// `packed` layout over the flat row-major element order (across row boundaries):
/// - 8-bit elements: one byte each.
/// - 6-bit (FP6): each 4 elements form a 24-bit little-endian word w = b0 | b1<<8 | b2<<16, and
///   element i of the group occupies bits [6i, 6i+6) of w; ⌈6n/8⌉ bytes, trailing bits zero.
/// - 4-bit (FP4): two per byte, element 2k in the low nibble, 2k+1 in the high nibble; pad 0.
public struct MXTensor: Hashable, Sendable {
    public static let blockSize = 32
    /// The shared scale's format, OCP MX v1.0 §5.4 E8M0: X = 2^(code − bias), the all-ones
    /// code is NaN. The constants below are derived from its descriptor.
    public static let scaleFormat = FloatFormat.e8m0fnu
    /// The scale exponents k of X = 2^k: [minNormalExponent, emax] = [−127, 127].
    static let scaleExponents = scaleFormat.minNormalExponent...scaleFormat.emax
    /// The NaN scale code, 0xFF.
    static let nanScaleCode = UInt8(scaleFormat.canonicalNaN(negative: false)!)
    public let element: MXElementFormat
    public let rule: MXScaleRule
    public let shape: TensorShape
    /// E8M0 scale codes, one per block (row-major blocks).
    public let scaleCodes: [UInt8]
    public let packed: [UInt8]

    /// Element codes, unpacked (one per element).
    public func elementCodes() -> [UInt8] {
        MXPacking.unpack(packed, bits: element.bitsPerElement, count: shape.elementCount)
    }

    /// X = 2^(code − 127) as Float64 (NaN for 0xFF).
    public static func scaleValue(code: UInt8) -> Double {
        code == nanScaleCode ? .nan : Double(sign: .plus, exponent: Int(code) - scaleFormat.bias, significand: 1)
    }

    public func dequantized() -> [Float] {
        let codec = NarrowFloatCodec(format: element.format)
        let layout = try! GroupLayout(shape: shape, granularity: .blockwise(size: Self.blockSize))
        let codes = elementCodes()
        var out = [Float](repeating: 0, count: codes.count)
        for g in 0..<layout.groupCount {
            let x = Self.scaleValue(code: scaleCodes[g])
            for i in layout.range(of: g) { out[i] = Float(codec.decodeDouble(UInt16(codes[i])) * x) }
        }
        return out
    }
}

public enum MXQuantizer {
    /// Quantizes a row-major tensor to MX blocks of 32 along the last dimension.
    /// NaN/∞ inputs are allowed (their block gets the NaN scale). Throws on a length mismatch.
    public static func quantize(_ values: [Float], shape: TensorShape, element: MXElementFormat, rule: MXScaleRule = .ocp) throws -> MXTensor {
        try shape.validate(count: values.count, what: "values")
        let layout = try GroupLayout(shape: shape, granularity: .blockwise(size: MXTensor.blockSize))
        let codec = NarrowFloatCodec(format: element.format, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
        let elemMax = element.format.maxFinite
        let emax = element.emax
        // The scale format's constants, read once: a static access per block costs its lazy
        // initialisation check in the per-block loop.
        let scaleExponents = MXTensor.scaleExponents
        let scaleBias = MXTensor.scaleFormat.bias
        let nanScaleCode = MXTensor.nanScaleCode
        var scaleCodes = [UInt8](repeating: 0, count: layout.groupCount)
        var codes = [UInt8](repeating: 0, count: values.count)
        // Elements are x·2^−k rounded once (the product is exact in Float64). Blocks tile the
        // tensor contiguously in group order, so runs of them are staged as RO₂₄(x·2^−k) (round
        // to odd at Float32 precision, which the Float32 kernel then rounds exactly as it would
        // x·2^−k itself: see `NarrowFloatCodec.float64TakesFloat32Kernel`) and encoded together.
        // A block with the NaN scale encodes its raw values (NaN/∞ follow the codec's rules).
        var prm = codec.kernelParameters
        let vectorised = codec.float64TakesFloat32Kernel
        let stage = 4096
        values.withUnsafeBufferPointer { x in
            codes.withUnsafeMutableBufferPointer { cs in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: stage) { tmp in
                    var start = 0, filled = 0
                    func flush() {
                        if vectorised && filled > 0 { qk_encode_f32_u8(tmp.baseAddress!, cs.baseAddress! + start, filled, &prm) }
                        start += filled
                        filled = 0
                    }
                    for g in 0..<layout.groupCount {
                        let r = layout.range(of: g)
                        if filled + r.count > stage { flush() }
                        let src = x.baseAddress! + r.lowerBound
                        let amax = Float(bitPattern: alg_absmax_bits_f32(src, r.count))
                        let k = sharedExponent(amax: amax, emax: emax, elemMax: elemMax, rule: rule, range: scaleExponents)
                        scaleCodes[g] = k.map { UInt8($0 + scaleBias) } ?? nanScaleCode
                        let inv = k.map { Double(sign: .plus, exponent: -$0, significand: 1) }
                        if vectorised {
                            if let inv {
                                _ = alg_scale_to_odd_f32(src, r.count, inv, .infinity, 0, tmp.baseAddress! + filled)
                            } else {
                                (tmp.baseAddress! + filled).update(from: src, count: r.count)
                            }
                            filled += r.count
                        } else {
                            for i in r { cs[i] = UInt8(inv.map { codec.encode(Double(x[i]) * $0) } ?? codec.encode(x[i])) }
                            start = r.upperBound
                        }
                    }
                    flush()
                }
            }
        }
        return MXTensor(element: element, rule: rule, shape: shape, scaleCodes: scaleCodes,
                        packed: MXPacking.pack(codes, bits: element.bitsPerElement))
    }

    /// The shared exponent k (scale 2^k) of a block, or nil for the NaN scale (amax NaN/∞).
    /// `emax` and `elemMax` are the element format's `emax` and `maxFinite`; `range` is
    /// `MXTensor.scaleExponents`.
    @inline(__always)
    static func sharedExponent(amax: Float, emax: Int, elemMax: Double, rule: MXScaleRule, range: ClosedRange<Int>) -> Int? {
        guard amax.isFinite else { return nil }
        if amax == 0 { return range.lowerBound }
        let k: Int
        switch rule {
        case .ocp:
            k = Int(amax.exponent) - emax  // ⌊log2 amax⌋, exact (subnormals too)
        case .roundUp:
            // smallest k with amax ≤ elemMax · 2^k, exactly (Float64 products are exact here)
            let a = Double(amax)
            var kk = Int(amax.exponent) - Int(elemMax.exponent)
            while a > elemMax * Double(sign: .plus, exponent: kk, significand: 1) { kk += 1 }
            while a <= elemMax * Double(sign: .plus, exponent: kk - 1, significand: 1) { kk -= 1 }
            k = kk
        }
        return Swift.min(range.upperBound, Swift.max(range.lowerBound, k))
    }
}

/// NVFP4 (NVIDIA): blocks of 16 E2M1 values, an E4M3 decode scale per block and one Float32
/// encode scale per tensor.
///
///     S_enc = 448 · 6 / amax_tensor                      (Float32; 1 if amax is 0, NaN or ∞;
///                                                         Float.greatestFiniteMagnitude if it overflows)
///     d_b   = E4M3_RNE_sat( (block_amax / 6) · S_enc )   (the block decode scale, Float32 math)
///     code  = E2M1_RNE_sat( x · S_enc / d_b )            (one rounding of the exact quotient;
///                                                         0 when d_b = 0)
///     x̂     = (e2m1(code) · d_b) / S_enc                 (Float32: the product is exact, one
///                                                         rounding in the division)
///
/// TE dequantizes with a multiplication by fl(1/S_enc), which can differ from x̂ by one ulp.
/// Blocks run along the last dimension (ragged last block); `packed` holds two E2M1 codes per
/// byte (low nibble = even element) over the flat row-major order.
public struct NVFP4Tensor: Hashable, Sendable {
    public static let blockSize = 16
    /// The element format, E2M1 (max 6), and the block scale format, E4M3FN (max 448).
    public static let elementFormat = FloatFormat.e2m1fn
    public static let blockScaleFormat = FloatFormat.e4m3fn
    /// The formats' max finite values as Float32 (exact), from their descriptors.
    static let elementMax = Float(elementFormat.maxFinite)
    static let blockScaleMax = Float(blockScaleFormat.maxFinite)
    public let shape: TensorShape
    /// S_enc (Float32).
    public let globalEncodeScale: Float
    /// E4M3FN codes of d_b, one per block.
    public let blockScaleCodes: [UInt8]
    public let packed: [UInt8]

    public func elementCodes() -> [UInt8] { MXPacking.unpack(packed, bits: Self.elementFormat.bitWidth, count: shape.elementCount) }

    public func dequantized() -> [Float] {
        let fp4 = NarrowFloatCodec(format: Self.elementFormat), fp8 = NarrowFloatCodec(format: Self.blockScaleFormat)
        let layout = try! GroupLayout(shape: shape, granularity: .blockwise(size: Self.blockSize))
        let codes = elementCodes()
        var out = [Float](repeating: 0, count: codes.count)
        for g in 0..<layout.groupCount {
            let d = fp8.decodeFloat(UInt16(blockScaleCodes[g]))
            for i in layout.range(of: g) { out[i] = (fp4.decodeFloat(UInt16(codes[i])) * d) / globalEncodeScale }
        }
        return out
    }

    /// Throws `lengthMismatch` and `nonFiniteInput` (NVFP4 has no NaN encoding).
    public static func quantize(_ values: [Float], shape: TensorShape) throws -> NVFP4Tensor {
        try shape.validate(count: values.count, what: "values")
        try requireFinite(values, what: "values")
        let layout = try GroupLayout(shape: shape, granularity: .blockwise(size: blockSize))
        let fp4 = NarrowFloatCodec(format: elementFormat, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
        let fp8 = NarrowFloatCodec(format: blockScaleFormat, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
        let amax = values.withUnsafeBufferPointer { Float(bitPattern: alg_absmax_bits_f32($0.baseAddress, $0.count)) }
        let sEnc = FP8ScaleRule.scale(amax: amax, formatMax: blockScaleMax * elementMax)
        var scaleCodes = [UInt8](repeating: 0, count: layout.groupCount)
        var codes = [UInt8](repeating: 0, count: values.count)
        var prm = fp4.kernelParameters
        let vectorised = fp4.float64TakesFloat32Kernel
        values.withUnsafeBufferPointer { x in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: blockSize) { tmp in
            for g in 0..<layout.groupCount {
                let r = layout.range(of: g)
                let bAmax = Float(bitPattern: alg_absmax_bits_f32(x.baseAddress! + r.lowerBound, r.count))
                let c = UInt8(fp8.encode((bAmax / elementMax) * sEnc))
                scaleCodes[g] = c
                let d = Double(fp8.decodeFloat(UInt16(c)))
                guard d > 0 else { continue }  // codes stay +0
                if vectorised {
                    // RO₂₄ of the Float64 quotient, then the Float32 kernel: the same codes as
                    // encoding the quotient (see `NarrowFloatCodec.float64TakesFloat32Kernel`).
                    alg_mul_div_to_odd_f32(x.baseAddress! + r.lowerBound, r.count, Double(sEnc), d, tmp.baseAddress!)
                    codes.withUnsafeMutableBufferPointer { cs in
                        qk_encode_f32_u8(tmp.baseAddress!, cs.baseAddress! + r.lowerBound, r.count, &prm)
                    }
                } else {
                    for i in r { codes[i] = UInt8(fp4.encode(Double(x[i]) * Double(sEnc) / d)) }
                }
            }
            }
        }
        return NVFP4Tensor(shape: shape, globalEncodeScale: sEnc, blockScaleCodes: scaleCodes, packed: MXPacking.pack(codes, bits: elementFormat.bitWidth))
    }
}

/// Sub-byte packing shared by MX and NVFP4 (layouts documented on `MXTensor`).
public enum MXPacking {
    /// Packs element codes of `bits` ∈ {4, 6, 8} bits. Throws `invalidArgument` for another
    /// width and `valueOutOfRange` for a code that does not fit (never truncates).
    public static func packed(_ codes: [UInt8], bits: Int) throws -> [UInt8] {
        try validate(bits: bits)
        if bits < 8, let i = codes.firstIndex(where: { $0 >> UInt8(bits) != 0 }) {
            throw QuantError.valueOutOfRange(what: "\(bits)-bit codes", index: i, value: Double(codes[i]), allowed: "[0, \((1 << bits) - 1)]")
        }
        return pack(codes, bits: bits)
    }

    /// Unpacks `count` codes. Throws `invalidArgument` for a bad width or `lengthMismatch` if
    /// `packed` is not exactly ⌈count·bits/8⌉ bytes.
    public static func unpacked(_ packed: [UInt8], bits: Int, count: Int) throws -> [UInt8] {
        try validate(bits: bits)
        guard count >= 0 else { throw QuantError.invalidArgument(name: "count", value: "\(count)", reason: "must be >= 0") }
        let bytes = (count * bits + 7) / 8
        guard packed.count == bytes else { throw QuantError.lengthMismatch(what: "packed bytes", expected: bytes, actual: packed.count) }
        return unpack(packed, bits: bits, count: count)
    }

    static func validate(bits: Int) throws {
        guard bits == 4 || bits == 6 || bits == 8 else {
            throw QuantError.invalidArgument(name: "bits", value: "\(bits)", reason: "packing supports 4, 6 or 8 bits")
        }
    }

    static func pack(_ codes: [UInt8], bits: Int) -> [UInt8] {
        switch bits {
        case 8:
            return codes
        case 4:
            var out = [UInt8](repeating: 0, count: (codes.count + 1) / 2)
            for (i, c) in codes.enumerated() { out[i >> 1] |= (i & 1 == 0) ? (c & 0x0F) : (c & 0x0F) << 4 }
            return out
        case 6:
            var out = [UInt8](repeating: 0, count: (codes.count * 6 + 7) / 8)
            for (i, c) in codes.enumerated() {
                let bit = 6 * i, byte = bit >> 3, shift = bit & 7
                let v = UInt16(c & 0x3F) << UInt16(shift)
                out[byte] |= UInt8(truncatingIfNeeded: v)
                if shift > 2 { out[byte + 1] |= UInt8(truncatingIfNeeded: v >> 8) }
            }
            return out
        default:
            preconditionFailure("unsupported packing width \(bits)")  // validated by the public entry points
        }
    }

    static func unpack(_ packed: [UInt8], bits: Int, count: Int) -> [UInt8] {
        switch bits {
        case 8:
            return Array(packed.prefix(count))
        case 4:
            return (0..<count).map { i in (i & 1 == 0) ? packed[i >> 1] & 0x0F : packed[i >> 1] >> 4 }
        case 6:
            return (0..<count).map { i in
                let bit = 6 * i, byte = bit >> 3, shift = bit & 7
                var v = UInt16(packed[byte]) >> UInt16(shift)
                if shift > 2 { v |= UInt16(packed[byte + 1]) << UInt16(8 - shift) }
                return UInt8(v & 0x3F)
            }
        default:
            preconditionFailure("unsupported packing width \(bits)")  // validated by the public entry points
        }
    }
}
