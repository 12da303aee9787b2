import Foundation
import Testing
@testable import Quant

/// Timing figures for the brief's targets. Disabled unless QUANT_PERF=1; run in release:
///
///     QUANT_PERF=1 swift test -c release --filter AlgPerformanceFigures
///
/// Prints best-of-N wall times; asserts nothing about speed (timings are not unit-testable).
@Suite("Alg performance figures", .enabled(if: ProcessInfo.processInfo.environment["QUANT_PERF"] == "1"))
struct AlgPerformanceFigures {
    func best(_ reps: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        let clock = ContinuousClock()
        for _ in 0..<reps {
            let d = try clock.measure { try body() }
            best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        return best
    }

    @Test("W8A8 GEMV vs Float32 GEMV, 4096 x 4096")
    func gemv() throws {
        let n = 4096
        let w = randomFloats(n * n, seed: 1, scale: 0.02)
        let x = randomFloats(n, seed: 2)
        let layer = try W8A8Linear(weights: w, shape: shape(n, n))
        var y = [Float](repeating: 0, count: n)
        var scratch = [Int8](repeating: 0, count: n)
        let tq = try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                try scratch.withUnsafeMutableBufferPointer { sp in
                    try best(20) { try layer.forward(xp, batch: 1, activationScaling: .perToken, into: yp, scratch: sp) }
                }
            }
        }
        let tf = try w.withUnsafeBufferPointer { wp in
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { yp in
                    try best(20) { try Float32GEMV.multiply(weights: wp, rows: n, columns: n, x: xp, into: yp) }
                }
            }
        }
        let fp8 = try FP8GEMVWeights(FP8Scaling.quantize(w, shape: shape(n, n), format: .e4m3fn, granularity: .perChannel))
        let fp8b = try FP8GEMVWeights(FP8Scaling.quantize(w, shape: shape(n, n), format: .e4m3fn, granularity: .blockwise(size: 32)))
        let t8 = try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in try best(20) { try fp8.multiply(xp, into: yp) } }
        }
        let t8b = try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in try best(20) { try fp8b.multiply(xp, into: yp) } }
        }
        var yb = [Float](repeating: 0, count: 8 * n)
        let xb = randomFloats(8 * n, seed: 3)
        var sb = [Int8](repeating: 0, count: 8 * n)
        let tb = try xb.withUnsafeBufferPointer { xp in
            try yb.withUnsafeMutableBufferPointer { yp in
                try sb.withUnsafeMutableBufferPointer { sp in
                    try best(10) { try layer.forward(xp, batch: 8, activationScaling: .perToken, into: yp, scratch: sp) }
                }
            }
        }
        print(String(format: "PERF gemv4096 w8a8=%.3f ms f32=%.3f ms speedup=%.2fx | fp8-e4m3 per-row=%.3f ms block32=%.3f ms | w8a8 batch8=%.3f ms",
                     tq * 1e3, tf * 1e3, tf / tq, t8 * 1e3, t8b * 1e3, tb * 1e3))
    }

    @Test("per-token INT8 quantize and SmoothQuant calibration vs memcpy, 4096 x 4096 floats")
    func bandwidth() throws {
        let rows = 4096, cols = 4096, n = rows * cols
        let x = randomFloats(n, seed: 4)
        var dst = [Float](repeating: 0, count: n)
        var q = [Int8](repeating: 0, count: n)
        var s = [Float](repeating: 0, count: rows)
        let tc = try x.withUnsafeBytes { src in
            try dst.withUnsafeMutableBytes { d in try best(40) { try MemoryBandwidthReference.copy(src, into: d) } }
        }
        let tq = try x.withUnsafeBufferPointer { xp in
            try q.withUnsafeMutableBufferPointer { qp in
                try s.withUnsafeMutableBufferPointer { sp in
                    try best(40) { try IntegerQuantizer.quantizeRowsInt8(xp, rows: rows, columns: cols, into: qp, scales: sp) }
                }
            }
        }
        let sh = try TensorShape(rows: rows, columns: cols)
        var cal = SmoothQuantCalibrator()
        let ts = try x.withUnsafeBufferPointer { xp in try best(40) { try cal.observe(layer: "l", activations: xp, shape: sh) } }
        let gb = Double(n * 4) / 1e9
        print(String(format: "PERF bandwidth 64MiB: memcpy=%.2f ms (%.1f GB/s read+write) | int8 per-token=%.2f ms (%.2fx memcpy time) | smoothquant observe=%.2f ms (%.2fx memcpy time)",
                     tc * 1e3, 2 * gb / tc, tq * 1e3, tq / tc, ts * 1e3, ts / tc))
    }
}
