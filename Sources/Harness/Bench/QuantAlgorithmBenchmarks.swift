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
        }
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

/// A mutable array captured by a timed body (in-place kernels).
final class ArrayBox<Element>: @unchecked Sendable {
    var value: [Element]
    init(_ value: [Element]) { self.value = value }
}
