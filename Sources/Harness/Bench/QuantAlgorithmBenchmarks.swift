import Foundation
import Quant

/// Quantization algorithms beyond the codec: INT8/INT4 quantizers and SmoothQuant.
///
/// Shapes: cache = 16 × 1024 (16 Ki elements), dram = 4096 × 4096 (16 Mi elements), rows as
/// tokens (activations) or output channels (weights). `bytes` counts the compulsory traffic —
/// the Float32 input read once and the codes written once — so an algorithm that reads its input
/// twice (amax, then quantize) shows as a lower roofline fraction, which is the point.
/// Inputs: N(0, 1)-like values from the shared log-uniform pool (finite, no NaN).
public enum QuantAlgorithmBenchmarks {
    static func shape(_ size: SizeClass) -> (rows: Int, columns: Int) {
        size == .cache ? (16, 1024) : (4096, 4096)
    }

    static func parameters(_ size: SizeClass, _ extra: [String: String] = [:]) -> [String: String] {
        let s = shape(size)
        return ["shape": "\(s.rows)x\(s.columns)", "input": BenchInputs.description].merging(extra) { $1 }
    }

    public static let all: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        var out: [BenchCase] = []
        for size in ctx.sizes {
            let (rows, columns) = shape(size)
            let n = rows * columns
            // Per-token dynamic INT8 into caller buffers (the W8A8 activation path).
            out.append(BenchCase(
                name: BenchCase.standardName(group: "int8.quantize.per-token", variant: "", size: size, threads: 1),
                group: "int8.quantize.per-token", parameters: parameters(size), sizeClass: size, threads: 1,
                elements: n, bytes: n * 5 + rows * 4,
                prepare: {
                    let x = BenchInputs.floats(n)
                    let q = HeapBuffer<Int8>(zeroedCount: n)
                    let s = HeapBuffer<Float>(zeroedCount: rows)
                    return {
                        try! IntegerQuantizer.quantizeRowsInt8(
                            UnsafeBufferPointer(x.buffer), rows: rows, columns: columns, into: q.buffer, scales: s.buffer)
                    }
                }))
            // Per-tensor dynamic INT8 into caller buffers (amax pass + quantize pass).
            out.append(BenchCase(
                name: BenchCase.standardName(group: "int8.quantize.per-tensor", variant: "", size: size, threads: 1),
                group: "int8.quantize.per-tensor", parameters: parameters(size), sizeClass: size, threads: 1,
                elements: n, bytes: n * 5,
                prepare: {
                    let x = BenchInputs.floats(n)
                    let q = HeapBuffer<Int8>(zeroedCount: n)
                    return { _ = try! IntegerQuantizer.quantizeTensorInt8(UnsafeBufferPointer(x.buffer), into: q.buffer) }
                }))
            // The general (allocating) API: INT4 weights, per group of 128, packed two per byte.
            for (bits, granularity, label) in [(IntegerBits.int4, ScaleGranularity.blockwise(size: 128), "blockwise128"),
                                               (.int8, .perChannel, "per-channel")] {
                let group = "\(bits).quantize.\(label)"
                out.append(BenchCase(
                    name: BenchCase.standardName(group: group, variant: "", size: size, threads: 1),
                    group: group, parameters: parameters(size, ["api": "IntegerQuantizer.quantize (allocates its result)"]),
                    sizeClass: size, threads: 1, elements: n, bytes: n * 4 + n * bits.rawValue / 8,
                    prepare: {
                        let x = Array(BenchInputs.floats(n).buffer)
                        let shape = try! TensorShape(rows: rows, columns: columns)
                        return { _ = try! IntegerQuantizer.quantize(x, shape: shape, bits: bits, granularity: granularity) }
                    }))
            }
            // SmoothQuant: A ← A / s in place. Factors are exactly 1 so that repeated in-place
            // runs leave the data unchanged (a Float32 division costs the same for any normal s).
            out.append(BenchCase(
                name: BenchCase.standardName(group: "smoothquant.smooth-activations", variant: "", size: size, threads: 1),
                group: "smoothquant.smooth-activations", parameters: parameters(size, ["factors": "all 1.0"]),
                sizeClass: size, threads: 1, elements: n, bytes: n * 8,
                prepare: {
                    let box = ArrayBox(Array(BenchInputs.floats(n).buffer))
                    let shape = try! TensorShape(rows: rows, columns: columns)
                    let s = [Float](repeating: 1, count: columns)
                    return { try! SmoothQuant.smoothActivations(&box.value, shape: shape, factors: s) }
                }))
            // SmoothQuant calibration: one batch [tokens × features] into the running per-channel
            // max|A| of a layer (the online calibrator's update; reads the batch once).
            out.append(BenchCase(
                name: BenchCase.standardName(group: "smoothquant.calibrate", variant: "", size: size, threads: 1),
                group: "smoothquant.calibrate", parameters: parameters(size, ["api": "SmoothQuantCalibrator.observe (buffer form)"]),
                sizeClass: size, threads: 1, elements: n, bytes: n * 4,
                prepare: {
                    let x = BenchInputs.floats(n)
                    let shape = try! TensorShape(rows: rows, columns: columns)
                    let box = CalibratorBox()
                    return { try! box.value.observe(layer: "layer", activations: UnsafeBufferPointer(x.buffer), shape: shape) }
                }))
        }
        out += scaledFloatCases(ctx)
        out += gemvCases(ctx)
        // Smoothing factors for one layer (4096 channels, α = 0.5): Float64 pow per channel.
        if ctx.sizes.contains(.cache) {
            let channels = 4096
            out.append(BenchCase(
                name: BenchCase.standardName(group: "smoothquant.factors", variant: "", size: .cache, threads: 1),
                group: "smoothquant.factors", parameters: ["channels": String(channels), "alpha": "0.5"],
                sizeClass: .cache, threads: 1, elements: channels, bytes: channels * 12,
                prepare: {
                    let pool = BenchInputs.floats(BenchContext.elements(.cache)).buffer
                    let a = (0..<channels).map { abs(pool[$0]) }
                    let w = (0..<channels).map { abs(pool[channels + $0]) }
                    let config = try! SmoothQuantConfig(alpha: 0.5)
                    return { _ = try! SmoothQuant.factors(activationMax: a, weightMax: w, config: config) }
                }))
        }
        return out
    }
}

extension QuantAlgorithmBenchmarks {
    /// FP8 with per-tensor / per-token / block scales, MX (blocks of 32, E8M0 scales) and NVFP4
    /// (blocks of 16): the allocating quantize APIs, which compute the amax of every group, the
    /// scales, and encode. Bytes: Float32 in + codes out (+ one scale per group).
    static func scaledFloatCases(_ ctx: BenchContext) -> [BenchCase] {
        var out: [BenchCase] = []
        for size in ctx.sizes {
            let (rows, columns) = shape(size)
            let n = rows * columns
            func add(_ group: String, _ variant: String, groups: Int, codeBits: Int, scaleBytes: Int, extra: [String: String],
                     _ make: @escaping @Sendable ([Float], TensorShape) -> Void) {
                out.append(BenchCase(
                    name: BenchCase.standardName(group: group, variant: variant, size: size, threads: 1), group: group,
                    parameters: parameters(size, extra), sizeClass: size, threads: 1, elements: n,
                    bytes: n * 4 + n * codeBits / 8 + groups * scaleBytes,
                    prepare: {
                        let x = Array(BenchInputs.floats(n).buffer)
                        let shape = try! TensorShape(rows: rows, columns: columns)
                        return { make(x, shape) }
                    }))
            }
            for (label, granularity, groups) in [("per-tensor", ScaleGranularity.perTensor, 1), ("per-token", .perToken, rows),
                                                 ("blockwise128", .blockwise(size: 128), n / 128)] {
                add("fp8.quantize.\(label)", "e4m3fn", groups: groups, codeBits: 8, scaleBytes: 4,
                    extra: ["format": "e4m3fn", "granularity": "\(granularity)", "api": "FP8Scaling.quantize (allocates its result)"]) { x, shape in
                    _ = try! FP8Scaling.quantize(x, shape: shape, format: .e4m3fn, granularity: granularity)
                }
            }
            for element in [MXElementFormat.mxfp8E4M3, .mxfp4E2M1] {
                add("mx.quantize", element.rawValue, groups: n / 32, codeBits: element.format.bitWidth, scaleBytes: 1,
                    extra: ["element": element.rawValue, "rule": "ocp", "api": "MXQuantizer.quantize (allocates its result)"]) { x, shape in
                    _ = try! MXQuantizer.quantize(x, shape: shape, element: element)
                }
            }
            add("nvfp4.quantize", "", groups: n / 16, codeBits: 4, scaleBytes: 1,
                extra: ["api": "NVFP4Tensor.quantize (allocates its result)"]) { x, shape in
                _ = try! NVFP4Tensor.quantize(x, shape: shape)
            }
        }
        return out
    }

    /// Matrix–vector products y = W x, batch 1, the decode-phase shape of LLM inference:
    /// Float32 (the baseline), W8A8 (INT8 weights per channel, activations quantized per token
    /// on the fly) and FP8 E4M3FN weights (per-channel scales) with Float32 activations.
    /// Shapes: cache = 256 × 256; dram = 8192 × 8192 (64 MiB of 8-bit weights). Elements count
    /// multiply–adds (out · in); bytes count weights + x + y.
    static func gemvCases(_ ctx: BenchContext) -> [BenchCase] {
        var out: [BenchCase] = []
        for size in ctx.sizes {
            let d = size == .cache ? 256 : 8192
            let n = d * d
            let p = ["shape": "\(d)x\(d)", "batch": "1", "input": BenchInputs.description]
            out.append(BenchCase(
                name: BenchCase.standardName(group: "gemv.f32", variant: "", size: size, threads: 1), group: "gemv.f32",
                parameters: p, sizeClass: size, threads: 1, elements: n, bytes: n * 4 + d * 8,
                prepare: {
                    let w = HeapBuffer<Float>(count: n) { BenchInputs.floats(BenchContext.elements(.dram)).buffer[$0 % BenchContext.elements(.dram)] * 0x1p-10 }
                    let x = HeapBuffer<Float>(count: d) { BenchInputs.floats(BenchContext.elements(.cache)).buffer[$0] }
                    let y = HeapBuffer<Float>(zeroedCount: d)
                    return { try! Float32GEMV.multiply(weights: UnsafeBufferPointer(w.buffer), rows: d, columns: d, x: UnsafeBufferPointer(x.buffer), into: y.buffer) }
                }))
            out.append(BenchCase(
                name: BenchCase.standardName(group: "gemv.w8a8", variant: "", size: size, threads: 1), group: "gemv.w8a8",
                parameters: p.merging(["activations": "per-token INT8"]) { $1 }, sizeClass: size, threads: 1, elements: n,
                bytes: n + d * 8,
                prepare: {
                    let pool = BenchInputs.floats(BenchContext.elements(.dram)).buffer
                    let layer = try! W8A8Linear(weights: (0..<n).map { pool[$0 % pool.count] }, shape: try! TensorShape(rows: d, columns: d))
                    let x = HeapBuffer<Float>(count: d) { BenchInputs.floats(BenchContext.elements(.cache)).buffer[$0] }
                    let y = HeapBuffer<Float>(zeroedCount: d)
                    let scratch = HeapBuffer<Int8>(zeroedCount: d)
                    return { try! layer.forward(UnsafeBufferPointer(x.buffer), batch: 1, into: y.buffer, scratch: scratch.buffer) }
                }))
            out.append(BenchCase(
                name: BenchCase.standardName(group: "gemv.fp8-e4m3fn", variant: "", size: size, threads: 1), group: "gemv.fp8-e4m3fn",
                parameters: p.merging(["scales": "per-channel"]) { $1 }, sizeClass: size, threads: 1, elements: n,
                bytes: n + d * 8,
                prepare: {
                    let pool = BenchInputs.floats(BenchContext.elements(.dram)).buffer
                    let t = try! FP8Scaling.quantize((0..<n).map { pool[$0 % pool.count] }, shape: try! TensorShape(rows: d, columns: d),
                                                     format: .e4m3fn, granularity: .perChannel)
                    let weights = try! FP8GEMVWeights(t)
                    let x = HeapBuffer<Float>(count: d) { BenchInputs.floats(BenchContext.elements(.cache)).buffer[$0] }
                    let y = HeapBuffer<Float>(zeroedCount: d)
                    return { try! weights.multiply(UnsafeBufferPointer(x.buffer), into: y.buffer) }
                }))
        }
        return out
    }
}

/// A mutable array captured by a timed body (in-place kernels).
/// A calibrator captured by a timed body (its state grows in place).
final class CalibratorBox: @unchecked Sendable {
    var value = SmoothQuantCalibrator()
}

final class ArrayBox<Element>: @unchecked Sendable {
    var value: [Element]
    init(_ value: [Element]) { self.value = value }
}
