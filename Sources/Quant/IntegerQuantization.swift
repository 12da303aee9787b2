import QuantKernels

/// Signed symmetric integer widths.
public enum IntegerBits: Int, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case int8 = 8
    case int4 = 4

    /// q_max = 2^(b−1) − 1: 127 for INT8, 7 for INT4. The range is symmetric, [−q_max, q_max]
    /// (−128 / −8 are never produced).
    public var qMax: Int { (1 << (rawValue - 1)) - 1 }

    public var description: String { "int\(rawValue)" }
}

/// A symmetric integer-quantized tensor: x̂ = q · scale, one Float32 scale per group.
///
/// Storage (`storage`):
/// - INT8: one byte per element, two's complement (`Int8(bitPattern:)`), row-major.
/// - INT4: two elements per byte over the flat row-major order. Byte k holds element 2k in its
///   **low nibble** (bits 0–3) and element 2k+1 in its **high nibble** (bits 4–7), each a 4-bit
///   two's complement in [−7, 7]. An odd element count leaves the last high nibble 0. Packing
///   runs across row boundaries (rows of odd length share a byte).
public struct QuantizedIntegerTensor: Hashable, Sendable, Codable {
    public let shape: TensorShape
    public let bits: IntegerBits
    public let granularity: ScaleGranularity
    /// One scale per group (see `ScaleGranularity`), the *dequantization* multiplier.
    public let scales: [Float]
    public let storage: [UInt8]

    /// Validating initialiser for tensors built elsewhere: checks the shape/granularity, the
    /// scale count, the storage length and that every code is in [−q_max, q_max].
    public init(shape: TensorShape, bits: IntegerBits, granularity: ScaleGranularity, scales: [Float], storage: [UInt8]) throws {
        let layout = try GroupLayout(shape: shape, granularity: granularity)
        guard scales.count == layout.groupCount else {
            throw QuantError.lengthMismatch(what: "scales", expected: layout.groupCount, actual: scales.count)
        }
        try requireFinite(scales, what: "scales")
        let bytes = Self.storageCount(elements: shape.elementCount, bits: bits)
        guard storage.count == bytes else {
            throw QuantError.lengthMismatch(what: "\(bits) storage", expected: bytes, actual: storage.count)
        }
        self.init(unchecked: shape, bits: bits, granularity: granularity, scales: scales, storage: storage)
        let q = values()
        if let i = q.firstIndex(where: { Int(abs(Int16($0))) > bits.qMax }) {
            throw QuantError.valueOutOfRange(what: "\(bits) codes", index: i, value: Double(q[i]), allowed: "[-\(bits.qMax), \(bits.qMax)]")
        }
        if bits == .int4 && shape.elementCount % 2 == 1 && storage[storage.count - 1] >> 4 != 0 {
            throw QuantError.valueOutOfRange(what: "int4 padding nibble", index: shape.elementCount, value: Double(storage[storage.count - 1] >> 4), allowed: "{0}")
        }
    }

    private enum CodingKeys: String, CodingKey { case shape, bits, granularity, scales, storage }

    /// Decoding re-runs the validating initialiser.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(shape: c.decode(TensorShape.self, forKey: .shape), bits: c.decode(IntegerBits.self, forKey: .bits),
                      granularity: c.decode(ScaleGranularity.self, forKey: .granularity),
                      scales: c.decode([Float].self, forKey: .scales), storage: c.decode([UInt8].self, forKey: .storage))
    }

    init(unchecked shape: TensorShape, bits: IntegerBits, granularity: ScaleGranularity, scales: [Float], storage: [UInt8]) {
        self.shape = shape
        self.bits = bits
        self.granularity = granularity
        self.scales = scales
        self.storage = storage
    }

    static func storageCount(elements: Int, bits: IntegerBits) -> Int {
        bits == .int8 ? elements : (elements + 1) / 2
    }

    /// The integer codes, unpacked, one per element in row-major order.
    public func values() -> [Int8] {
        switch bits {
        case .int8:
            return storage.map { Int8(bitPattern: $0) }
        case .int4:
            var out = [Int8](repeating: 0, count: shape.elementCount)
            for i in 0..<shape.elementCount {
                let byte = storage[i >> 1]
                let nibble = (i & 1 == 0) ? byte & 0x0F : byte >> 4
                // sign-extend the 4-bit two's complement value
                out[i] = Int8(bitPattern: nibble << 4) >> 4
            }
            return out
        }
    }

    /// x̂_i = Float(q_i) · scale_{group(i)} (one Float32 multiplication, exact for INT8/INT4 codes
    /// up to the final rounding of the product).
    public func dequantized() -> [Float] {
        let layout = try! GroupLayout(shape: shape, granularity: granularity)  // validated at creation
        let q = values()
        var out = [Float](repeating: 0, count: q.count)
        for g in 0..<layout.groupCount {
            let s = scales[g]
            for i in layout.range(of: g) { out[i] = Float(q[i]) * s }
        }
        return out
    }
}

/// Dynamic symmetric integer quantization (SmoothQuant `fake_quant.py` semantics):
///
///     q_max = 2^(b−1) − 1
///     scale = max(amax, 1e-5) / q_max                     (Float32)
///     q     = clamp(round_half_even(x / scale), −q_max, q_max)   (x / scale in Float32)
///     x̂     = q · scale
///
/// with amax per group chosen by `AmaxMode` (max |x| or a percentile of |x|). The clamp only
/// acts with percentile amax (elements above amax saturate) or in the last ulp of max-abs.
///
/// Edge cases: an all-zero group gets scale 1e-5/q_max and codes 0; NaN/±∞ input throws
/// `QuantError.nonFiniteInput` (nothing is written).
public enum IntegerQuantizer {
    /// The Float32 scale floor numerator of fake_quant.py.
    public static let amaxFloor: Float = 1e-5

    /// scale = max(amax, 1e-5) / q_max in Float32.
    @inlinable
    public static func scale(amax: Float, bits: IntegerBits) -> Float {
        max(amax, 1e-5) / Float(bits.qMax)
    }

    /// Quantizes a row-major tensor. Throws on a shape/length mismatch, an invalid granularity
    /// (per-channel needs rank 2, block size ≥ 1), an invalid percentile or non-finite input.
    public static func quantize(
        _ values: [Float], shape: TensorShape, bits: IntegerBits = .int8,
        granularity: ScaleGranularity = .perTensor, amax: AmaxMode = .maxAbs
    ) throws -> QuantizedIntegerTensor {
        try shape.validate(count: values.count, what: "values")
        let layout = try GroupLayout(shape: shape, granularity: granularity)
        try amax.validate()
        try requireFinite(values, what: "values")
        var scales = [Float](repeating: 0, count: layout.groupCount)
        var q = [Int8](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { x in
            q.withUnsafeMutableBufferPointer { qb in
                for g in 0..<layout.groupCount {
                    let r = layout.range(of: g)
                    let group = UnsafeBufferPointer(rebasing: x[r])
                    let s = scale(amax: amax.amax(of: group), bits: bits)
                    scales[g] = s
                    alg_quantize_int8_f32(group.baseAddress, group.count, s, Int32(bits.qMax), qb.baseAddress! + r.lowerBound)
                }
            }
        }
        return QuantizedIntegerTensor(
            unchecked: shape, bits: bits, granularity: granularity, scales: scales, storage: pack(q, bits: bits))
    }

    /// quantize → dequantize (x̂), the fake-quant of `fake_quant.py`.
    public static func fakeQuantize(
        _ values: [Float], shape: TensorShape, bits: IntegerBits = .int8,
        granularity: ScaleGranularity = .perTensor, amax: AmaxMode = .maxAbs
    ) throws -> [Float] {
        try quantize(values, shape: shape, bits: bits, granularity: granularity, amax: amax).dequantized()
    }

    /// Packs codes in [−q_max, q_max] into storage bytes (INT4 layout documented on
    /// `QuantizedIntegerTensor`). Throws `valueOutOfRange` for a code outside the range.
    public static func packed(_ q: [Int8], bits: IntegerBits) throws -> [UInt8] {
        if let i = q.firstIndex(where: { Int(abs(Int16($0))) > bits.qMax }) {
            throw QuantError.valueOutOfRange(what: "\(bits) codes", index: i, value: Double(q[i]), allowed: "[-\(bits.qMax), \(bits.qMax)]")
        }
        return pack(q, bits: bits)
    }

    static func pack(_ q: [Int8], bits: IntegerBits) -> [UInt8] {
        switch bits {
        case .int8:
            return q.map { UInt8(bitPattern: $0) }
        case .int4:
            var out = [UInt8](repeating: 0, count: (q.count + 1) / 2)
            for i in 0..<q.count {
                let nibble = UInt8(bitPattern: q[i]) & 0x0F
                out[i >> 1] |= (i & 1 == 0) ? nibble : nibble << 4
            }
            return out
        }
    }

    // MARK: - Hot paths (no allocation)

    /// Per-row (per-token) dynamic INT8 of a row-major `[rows, columns]` block into
    /// caller-owned buffers: for each row, amax = max |x|, scale = max(amax, 1e-5)/127,
    /// q = clamp(round_half_even(x/scale), ±127). Vectorised (AVX2 when available).
    ///
    /// Throws `invalidShape` for non-positive sizes, `lengthMismatch` for wrong buffer sizes and
    /// `nonFiniteInput` for a NaN/Inf (rows before the offending one are already written).
    public static func quantizeRowsInt8(
        _ input: UnsafeBufferPointer<Float>, rows: Int, columns: Int,
        into codes: UnsafeMutableBufferPointer<Int8>, scales: UnsafeMutableBufferPointer<Float>
    ) throws {
        let shape = try TensorShape(rows: rows, columns: columns)
        try shape.validate(count: input.count, what: "input")
        guard codes.count == input.count else {
            throw QuantError.lengthMismatch(what: "codes", expected: input.count, actual: codes.count)
        }
        guard scales.count == rows else {
            throw QuantError.lengthMismatch(what: "scales", expected: rows, actual: scales.count)
        }
        let bad = alg_quantize_rows_int8_f32(input.baseAddress, rows, columns, 127, codes.baseAddress, scales.baseAddress)
        if bad >= 0 {
            try requireFinite(UnsafeBufferPointer(rebasing: input[Int(bad) * columns ..< (Int(bad) + 1) * columns]), what: "input row \(bad)")
        }
    }

    /// Per-tensor dynamic INT8 into caller-owned buffers; returns the scale
    /// max(max|x|, 1e-5)/127. Throws on length mismatch or non-finite input (nothing written).
    @discardableResult
    public static func quantizeTensorInt8(
        _ input: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<Int8>
    ) throws -> Float {
        guard !input.isEmpty else { throw QuantError.emptyInput(what: "input") }
        guard codes.count == input.count else {
            throw QuantError.lengthMismatch(what: "codes", expected: input.count, actual: codes.count)
        }
        let bits = alg_absmax_bits_f32(input.baseAddress, input.count)
        if bits >= 0x7F80_0000 { try requireFinite(input, what: "input") }
        let s = scale(amax: Float(bitPattern: bits), bits: .int8)
        alg_quantize_int8_f32(input.baseAddress, input.count, s, 127, codes.baseAddress)
        return s
    }
}
