import Foundation
import Testing
import TestSupport
import Formats
@testable import Oracle

/// Timings, printed, never asserted. Run in release:
/// `QUANTCHECK_ORACLE_BENCH=1 swift test -c release --filter OracleBenchmarks`
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["QUANTCHECK_ORACLE_BENCH"] != nil))
struct OracleBenchmarks {
    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Prints wall time and process CPU time (the machine is shared: CPU time is the steadier).
    static func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpu0 = processCPUSeconds()
        let r = try body()
        let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = processCPUSeconds() - cpu0
        print("BENCH \(label): wall \(String(format: "%.4f", s)) s, cpu \(String(format: "%.4f", cpu)) s")
        return r
    }

    /// Every 16-bit-target table under every deterministic policy, fully probed against the
    /// direct oracle (the debug unit tests probe a sample).
    @Test func sixteenBitTablesFullyProbed() throws {
        for f in [FloatFormat.binary16, .bfloat16] {
            for p in allDeterministicPolicies {
                let t = try RoundingIntervalTable(format: f, policy: p)
                try t.validatePartition()
                let bad = disagreements(t, randomCount: 20_000, seed: 7)
                #expect(bad.isEmpty, "\(f) \(p): \(bad.prefix(5).map(hex))")
            }
        }
    }

    @Test func intervalTables() throws {
        for f in FloatFormat.all {
            let t = try Self.time("interval table \(f.name) rne/nonsat") {
                try RoundingIntervalTable(format: f)
            }
            try t.validatePartition()
            print("  \(t.intervals.count) intervals")
        }
    }

    /// The accuracy-suite reference: A 64×1024 times Wᵀ with W 1024×1024, Float32, exact.
    @Test func exactMatrixProduct64x1024x1024() throws {
        var g = SplitMix64(seed: 2024)
        func value() -> Float {
            // Activations/weights spread over 2^-12 … 2^4 with random signs.
            Float(sign: g.next() & 1 == 0 ? .plus : .minus, exponent: Int(g.next() % 17) - 12,
                  significand: 1 + Float(g.next() % (1 << 23)) / Float(1 << 23))
        }
        let t = 64, k = 1024, o = 1024
        let a = (0..<(t * k)).map { _ in value() }
        let w = (0..<(o * k)).map { _ in value() }
        let c = try Self.time("exact A·Wᵀ 64×1024 · (1024×1024)ᵀ Float32, \(ProcessInfo.processInfo.activeProcessorCount) cores") {
            try ExactLinearAlgebra.matrixProduct(a, w, tokens: t, inFeatures: k, outFeatures: o)
        }
        let computed = Self.time("Float32 naive GEMM (for the MSE)") { () -> [Float] in
            var out = [Float](repeating: 0, count: t * o)
            for r in 0..<t { for col in 0..<o {
                var s: Float = 0
                for i in 0..<k { s += a[r * k + i] * w[col * k + i] }
                out[r * o + col] = s
            } }
            return out
        }
        let mse = try Self.time("exact MSE of 65536 entries") { try c.meanSquaredError(of: computed) }
        print("  MSE(naive Float32 GEMM) = \(mse)")
        // Spot checks against the Float64 accumulator.
        for (r, col) in [(0, 0), (17, 999), (63, 1023)] {
            let d = try ExactLinearAlgebra.dot(Array(a[(r * k)..<((r + 1) * k)]).map(Double.init),
                                               Array(w[(col * k)..<((col + 1) * k)]).map(Double.init))
            #expect(d.exact() == c.exact(row: r, column: col))
        }
    }

    /// Every recorded ml_dtypes output of both releases (≈ 4 million inputs), not just a sample.
    @Test func mlDtypesGoldenComplete() throws {
        var total = 0
        try Self.time("oracle vs every ml_dtypes golden input") {
            for p in MLDtypesGolden.profiles {
                for f in FloatFormat.all {
                    let (checked, bad) = try MLDtypesGolden.mismatches(format: f, sampled: false, profile: p)
                    total += checked
                    #expect(bad.isEmpty, "\(p.rawValue) \(f.name): \(bad.count) mismatches, e.g. \(bad.prefix(5))")
                }
            }
        }
        print("  \(total) golden inputs checked")
    }

    @Test func directRounding() throws {
        let o = try RoundingOracle(format: .e4m3fn)
        var g = SplitMix64(seed: 1)
        let inputs = (0..<1_000_000).map { _ in UInt32(truncatingIfNeeded: g.next()) }
        let codes = Self.time("direct rounding, 1e6 random float32 → e4m3fn (batch)") { o.codes(forFloat32Bits: inputs) }
        let single = Self.time("direct rounding, 1e5 single calls") { inputs.prefix(100_000).map { o.code(forFloat32Bits: $0) } }
        #expect(Array(codes.prefix(100_000)) == single)
    }
}
