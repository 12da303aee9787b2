import Foundation
import Testing
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

    @Test func directRounding() throws {
        let o = try RoundingOracle(format: .e4m3fn)
        var g = SplitMix64(seed: 1)
        let inputs = (0..<1_000_000).map { _ in UInt32(truncatingIfNeeded: g.next()) }
        let codes = Self.time("direct rounding, 1e6 random float32 → e4m3fn (batch)") { o.codes(forFloat32Bits: inputs) }
        let single = Self.time("direct rounding, 1e5 single calls") { inputs.prefix(100_000).map { o.code(forFloat32Bits: $0) } }
        #expect(Array(codes.prefix(100_000)) == single)
    }
}
