import Formats
import QuantKernels

/// Granularity of the on-the-fly activation quantization in W8A8.
public enum ActivationScaling: String, Hashable, Sendable, Codable, CaseIterable {
    /// One scale for the whole activation batch.
    case perTensor = "per_tensor"
    /// One scale per row (token) of the batch.
    case perToken = "per_token"
}

/// A W8A8 linear layer: INT8 weights W [out, in] with one Float32 scale per output row, and
/// INT8 activations quantized on the fly (`IntegerQuantizer` rule: scale = max(amax, 1e-5)/127,
/// round half to even). For activations X [batch, in]:
///
///     acc[b][o] = Σ_j W_q[o][j] · X_q[b][j]              (Int32, exact)
///     Y[b][o]   = RN₃₂(acc[b][o] · s_x[b] · s_w[o])     (correctly rounded: one rounding, ties
///                                                          to even, of the exact product)
///
/// The epilogue is exact up to its single rounding: s_x·s_w is exact in binary64, the product
/// with acc is split into h + e exactly (TwoProduct with FMA), and h is rounded to binary32
/// with e breaking the one case where that differs from rounding the exact value (h exactly
/// on a binary32 midpoint). `output(acc:xScale:wScale:)` exposes it.
///
/// **Int32 bound.** Weights and activation codes satisfy |q| ≤ 127 (weights are checked at
/// construction; −128 is rejected) and in_features ≤ 2^17, so
/// |acc| ≤ 2^17 · 127² = 2 114 060 288 < 2^31 − 1: the accumulation cannot overflow.
public struct W8A8Linear: Sendable {
    public static let maxInFeatures = 1 << 17

    /// One output from its exact accumulator: RN₃₂(acc · xScale · wScale), correctly rounded.
    public static func output(acc: Int32, xScale: Float, wScale: Float) -> Float {
        alg_w8a8_output(acc, xScale, wScale)
    }
    public let outFeatures: Int
    public let inFeatures: Int
    public let codes: [Int8]
    public let weightScales: [Float]

    /// Validates shapes, |code| ≤ 127, finite positive scales and in ≤ 2^17.
    public init(codes: [Int8], weightScales: [Float], outFeatures: Int, inFeatures: Int) throws {
        let shape = try TensorShape(rows: outFeatures, columns: inFeatures)
        guard inFeatures <= Self.maxInFeatures else {
            throw QuantError.limitExceeded(what: "in_features", value: inFeatures, limit: Self.maxInFeatures)
        }
        try shape.validate(count: codes.count, what: "weight codes")
        guard weightScales.count == outFeatures else {
            throw QuantError.lengthMismatch(what: "weight scales", expected: outFeatures, actual: weightScales.count)
        }
        if let i = codes.firstIndex(of: -128) {
            throw QuantError.valueOutOfRange(what: "weight codes", index: i, value: -128, allowed: "[-127, 127]")
        }
        for (i, s) in weightScales.enumerated() {
            guard s.isFinite else { throw QuantError.nonFiniteInput(what: "weight scales", index: i, value: Double(s)) }
        }
        self.codes = codes
        self.weightScales = weightScales
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
    }

    /// From an INT8 per-channel quantized weight [out, in].
    public init(_ w: QuantizedIntegerTensor) throws {
        guard w.bits == .int8, w.granularity == .perChannel || (w.granularity == .perToken && w.shape.rank == 2) else {
            throw QuantError.invalidArgument(name: "weights", value: "\(w.bits) \(w.granularity)", reason: "W8A8 needs INT8 per-channel weights [out, in]")
        }
        try self.init(codes: w.values(), weightScales: w.scales, outFeatures: w.shape.dimensions[0], inFeatures: w.shape.dimensions[1])
    }

    /// Quantizes Float32 weights [out, in] per channel (max-abs) and builds the layer.
    public init(weights: [Float], shape: TensorShape) throws {
        try self.init(IntegerQuantizer.quantize(weights, shape: shape, bits: .int8, granularity: .perChannel))
    }

    /// Y [batch, out] for X [batch, in] (row-major).
    public func forward(_ x: [Float], batch: Int, activationScaling: ActivationScaling = .perToken) throws -> [Float] {
        guard batch >= 1, x.count % batch == 0, x.count / batch == inFeatures else {
            throw QuantError.lengthMismatch(what: "activations [\(batch), \(inFeatures)]", expected: max(batch, 0) * inFeatures, actual: x.count)
        }
        var y = [Float](repeating: 0, count: batch * outFeatures)
        var scratch = [Int8](repeating: 0, count: x.count)
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                try scratch.withUnsafeMutableBufferPointer { sp in
                    try forward(xp, batch: batch, activationScaling: activationScaling, into: yp, scratch: sp)
                }
            }
        }
        return y
    }

    /// Allocation-free form: `scratch` holds the quantized activations (batch · in).
    /// Throws on shape/length mismatches and non-finite activations.
    public func forward(
        _ x: UnsafeBufferPointer<Float>, batch: Int, activationScaling: ActivationScaling = .perToken,
        into y: UnsafeMutableBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Int8>
    ) throws {
        guard batch >= 1 else { throw QuantError.invalidArgument(name: "batch", value: "\(batch)", reason: "must be >= 1") }
        let (n, overflow) = batch.multipliedReportingOverflow(by: inFeatures)
        guard !overflow, x.count == n else {
            throw QuantError.lengthMismatch(what: "activations [\(batch), \(inFeatures)]", expected: overflow ? Int.max : n, actual: x.count)
        }
        let (m, overflowY) = batch.multipliedReportingOverflow(by: outFeatures)
        guard !overflowY, y.count == m else {
            throw QuantError.lengthMismatch(what: "output [\(batch), \(outFeatures)]", expected: overflowY ? Int.max : m, actual: y.count)
        }
        guard scratch.count == n else { throw QuantError.lengthMismatch(what: "scratch", expected: n, actual: scratch.count) }
        var xs = [Float](repeating: 0, count: batch)
        switch activationScaling {
        case .perToken:
            try xs.withUnsafeMutableBufferPointer { sp in
                try IntegerQuantizer.quantizeRowsInt8(x, rows: batch, columns: inFeatures, into: scratch, scales: sp)
            }
        case .perTensor:
            let s = try IntegerQuantizer.quantizeTensorInt8(x, into: scratch)
            for b in 0..<batch { xs[b] = s }
        }
        codes.withUnsafeBufferPointer { w in
            weightScales.withUnsafeBufferPointer { ws in
                alg_gemm_w8a8(w.baseAddress, ws.baseAddress, outFeatures, inFeatures, scratch.baseAddress, xs, batch, y.baseAddress)
            }
        }
    }
}

/// FP8 E4M3FN weights [out, in] with per-row (per-channel), per-tensor or block-wise scales,
/// multiplied by a Float32 vector with on-the-fly decoding:
///
///     y[o] = Σ_b ( Σ_{j ∈ block b} decode(W[o][j]) · x[j] ) · scaleInverse[o][b]
///
/// The inner sums use a fixed 8-lane order (see `alg_gemv_e4m3`), identical on the AVX2 and
/// portable paths, so results are deterministic.
public struct FP8GEMVWeights: Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// Columns per scale block (== inFeatures for per-row / per-tensor scaling).
    public let blockSize: Int
    public let codes: [UInt8]
    /// Decode multipliers, ⌈in / blockSize⌉ per row.
    public let scaleInverses: [Float]

    /// From an E4M3FN `FP8Tensor` [out, in] with per-tensor, per-channel/per-token or block-wise
    /// scales. Throws for another format, rank ≠ 2, NaN codes or non-finite scales.
    public init(_ t: FP8Tensor) throws {
        guard t.format.hasSameEncoding(as: .e4m3fn) else {
            throw QuantError.unsupportedFormat(format: t.format.name, reason: "the FP8 GEMV kernel decodes E4M3FN")
        }
        guard t.shape.rank == 2 else {
            throw QuantError.rankMismatch(what: "FP8 GEMV weights [out, in]", expected: "2", actual: t.shape.rank)
        }
        let rows = t.shape.dimensions[0], cols = t.shape.dimensions[1]
        if let i = t.codes.firstIndex(where: { t.format.classify(UInt16($0)) == .nan }) {
            throw QuantError.valueOutOfRange(what: "E4M3FN weight codes", index: i, value: .nan, allowed: "finite codes")
        }
        for (i, s) in t.scaleInverses.enumerated() where !s.isFinite {
            throw QuantError.nonFiniteInput(what: "scale inverses", index: i, value: Double(s))
        }
        switch t.granularity {
        case .perTensor:
            blockSize = cols
            scaleInverses = [Float](repeating: t.scaleInverses[0], count: rows)
        case .perChannel, .perToken:
            blockSize = cols
            scaleInverses = t.scaleInverses
        case .blockwise(let size):
            blockSize = size
            scaleInverses = t.scaleInverses
        }
        outFeatures = rows
        inFeatures = cols
        codes = t.codes
    }

    /// y = W x.
    public func multiply(_ x: [Float]) throws -> [Float] {
        var y = [Float](repeating: 0, count: outFeatures)
        try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try multiply(xp, into: $0) } }
        return y
    }

    public func multiply(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) throws {
        guard x.count == inFeatures else { throw QuantError.lengthMismatch(what: "x", expected: inFeatures, actual: x.count) }
        guard y.count == outFeatures else { throw QuantError.lengthMismatch(what: "y", expected: outFeatures, actual: y.count) }
        codes.withUnsafeBufferPointer { c in
            scaleInverses.withUnsafeBufferPointer { s in
                alg_gemv_e4m3(c.baseAddress, s.baseAddress, outFeatures, inFeatures, blockSize, x.baseAddress, y.baseAddress)
            }
        }
    }
}

/// Vectorised Float32 GEMV (AVX2+FMA when available), the baseline W8A8 is measured against.
public enum Float32GEMV {
    /// y = W x for row-major W [rows, columns].
    public static func multiply(
        weights: UnsafeBufferPointer<Float>, rows: Int, columns: Int,
        x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>
    ) throws {
        let shape = try TensorShape(rows: rows, columns: columns)
        try shape.validate(count: weights.count, what: "weights")
        guard x.count == columns else { throw QuantError.lengthMismatch(what: "x", expected: columns, actual: x.count) }
        guard y.count == rows else { throw QuantError.lengthMismatch(what: "y", expected: rows, actual: y.count) }
        alg_gemv_f32(weights.baseAddress, rows, columns, x.baseAddress, y.baseAddress)
    }
}

/// Memory-copy reference for bandwidth comparisons (plain `memcpy`).
public enum MemoryBandwidthReference {
    public static func copy(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws {
        guard destination.count >= source.count else {
            throw QuantError.lengthMismatch(what: "destination bytes", expected: source.count, actual: destination.count)
        }
        alg_copy_bytes(destination.baseAddress, source.baseAddress, source.count)
    }
}
