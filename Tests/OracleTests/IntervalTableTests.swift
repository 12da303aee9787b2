import Foundation
import Testing
import TestSupport
import Formats
@testable import Oracle

private func policy(_ r: RoundingRule = .toNearestOrEven, _ o: OverflowPolicy = .nonSaturating,
                    _ p: CompatibilityProfile = .ocp) -> ConversionPolicy {
    ConversionPolicy(rounding: r, overflow: o, profile: p)
}

/// Every deterministic policy: 4 rules × 2 overflow policies × 2 profiles.
let allDeterministicPolicies: [ConversionPolicy] = RoundingRule.deterministic.flatMap { r in
    OverflowPolicy.allCases.flatMap { o in CompatibilityProfile.allCases.map { p in policy(r, o, p) } }
}

/// Table lookup against the direct oracle at every interval's ends, one pattern outside each
/// end, and `randomCount` random patterns. Returns the patterns where they disagree.
func disagreements(_ table: RoundingIntervalTable, randomCount: Int, seed: UInt64, intervalStride: Int = 1) -> [UInt32] {
    let oracle = try! RoundingOracle(format: table.format, policy: table.policy)
    var probes: [UInt32] = []
    for r in stride(from: 0, to: table.intervals.count, by: intervalStride).map({ table.intervals[$0] }) {
        probes += [r.lo, r.hi, r.lo &- 1, r.hi &+ 1, r.lo + UInt32((r.hi - r.lo) / 2)]
    }
    var g = SplitMix64(seed: seed)
    for _ in 0..<randomCount { probes.append(UInt32(truncatingIfNeeded: g.next())) }
    let direct = oracle.codes(forFloat32Bits: probes)
    return zip(probes, direct).filter { table.code(forFloat32Bits: $0.0) != $0.1 }.map(\.0)
}

@Suite struct IntervalTables {
    @Test(arguments: FloatFormat.all.filter { $0.bitWidth <= 8 }, allDeterministicPolicies)
    func partitionAndDirectAgreement(_ f: FloatFormat, _ p: ConversionPolicy) throws {
        let t = try RoundingIntervalTable(format: f, policy: p)
        try t.validatePartition()
        #expect(t.intervals.reduce(0) { $0 + $1.count } == 1 << 32)
        #expect(disagreements(t, randomCount: 300, seed: 1).isEmpty)
        for (a, b) in zip(t.intervals, t.intervals.dropFirst()) { #expect(a.code != b.code) }
    }

    /// 16-bit targets (65536 codes): a few policies each (bfloat16 under both ml_dtypes
    /// releases), and every 61st interval probed, to keep the debug test short; the benchmark
    /// suite builds them all in release.
    @Test(arguments: zip([FloatFormat.binary16, .bfloat16, .binary16, .bfloat16, .bfloat16],
                         [policy(), policy(.towardZero, .saturating), policy(.up), policy(.down, .nonSaturating, .mlDtypes0_6), policy(.down, .nonSaturating, .mlDtypes0_7)]))
    func sixteenBitTargets(_ f: FloatFormat, _ p: ConversionPolicy) throws {
        let t = try RoundingIntervalTable(format: f, policy: p)
        try t.validatePartition()
        // Every finite code appears: 2·(2^15 − 2^M) finite codes, ±∞ and NaNs.
        #expect(Set(t.intervals.map(\.code)).count >= 2 * ((1 << 15) - (1 << f.mantissaBits)))
        #expect(disagreements(t, randomCount: 500, seed: 2, intervalStride: 61).isEmpty)
    }

    /// binary16 RNE table against the hardware Float16(Float) conversion.
    @Test func binary16TableMatchesHardware() throws {
        let t = try RoundingIntervalTable(format: .binary16)
        for r in t.intervals {
            for b in [r.lo, r.hi] {
                let h = Float16(Float(bitPattern: b))
                if h.isNaN { #expect(ExactValueTable.value(of: r.code, in: .binary16).codeClass == .nan) }
                else { #expect(h.bitPattern == r.code, "\(hex(b))") }
            }
        }
    }

    @Test func e4m3fnBoundariesFromOCP() throws {
        let t = try RoundingIntervalTable(format: .e4m3fn)
        // 464 = 0x43e80000 is the last pattern rounding to 448; everything above is NaN.
        let top = t.interval(containing: Float(464).bitPattern)
        #expect(top.code == 0x7E && top.hi == 0x43E8_0000)
        let over = t.interval(containing: 0x43E8_0001)
        #expect(over.lo == 0x43E8_0001 && over.hi == 0x7FFF_FFFF && over.code == 0x7F)
        // Zero run: +0 up to the tie 2^-10 (0x3a800000).
        #expect(t.intervals[0] == .init(lo: 0, hi: 0x3A80_0000, code: 0x00))
        #expect(t.code(forFloat32: -0x1p-10) == 0x80)
        let sat = try RoundingIntervalTable(format: .e4m3fn, policy: policy(.toNearestOrEven, .saturating))
        #expect(sat.interval(containing: 0x43E8_0001) == .init(lo: 0x43E8_0000 - 0x0010_0000 + 1, hi: 0x7F7F_FFFF, code: 0x7E)
                || sat.code(forFloat32Bits: 0x7F7F_FFFF) == 0x7E)
        #expect(sat.code(forFloat32: .infinity) == 0x7E)
        #expect(sat.code(forFloat32: .nan) == 0x7F)
    }

    @Test func e5m2OverflowBoundary() throws {
        let t = try RoundingIntervalTable(format: .e5m2)
        #expect(t.code(forFloat32: 61440) == 0x7C)
        #expect(t.code(forFloat32: Float(61440).nextDown) == 0x7B)
        #expect(t.interval(containing: Float(61440).bitPattern).lo == Float(61440).bitPattern)
    }

    @Test func e8m0Regions() throws {
        let t = try RoundingIntervalTable(format: .e8m0fnu)
        #expect(t.intervals[0] == .init(lo: 0, hi: 0, code: 0xFF))              // +0 → NaN
        #expect(t.intervals[1].lo == 1 && t.intervals[1].code == 0x00)          // tiny → 2^-127
        #expect(t.intervals.last! == .init(lo: Float(0x1.8p127).bitPattern + 1, hi: 0xFFFF_FFFF, code: 0xFF))
    }

    @Test func tsvRoundTrip() throws {
        for (f, p) in [(FloatFormat.e4m3fn, policy()), (.e5m2, policy(.up, .saturating)), (.e8m0fnu, policy(.toNearestOrEven, .nonSaturating, .mlDtypes0_6)), (.e8m0fnu, policy(.toNearestOrEven, .nonSaturating, .mlDtypes0_7)), (.e2m1fn, policy(.down))] {
            let t = try RoundingIntervalTable(format: f, policy: p)
            let text = t.tsv()
            let back = try RoundingIntervalTable(parsing: text, format: f, policy: p)
            #expect(back == t)
        }
        let t = try RoundingIntervalTable(format: .e4m3fn)
        let lines = t.tsv().split(separator: "\n")
        #expect(lines[1] == "lo\thi\tcode\tvalue")
        #expect(lines[2] == "0x00000000\t0x3a800000\t0x00\t0")
        #expect(t.goldenFileName == "e4m3fn-rne-nonsat.tsv")
    }

    @Test func malformedTablesAreRejected() throws {
        let t = try RoundingIntervalTable(format: .e4m3fn)
        let text = t.tsv()
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Wrong value column.
        var bad = lines; bad[3] = bad[3].replacingOccurrences(of: "\t0.001953125", with: "\t0.002")
        #expect(throws: OracleError.self) { try RoundingIntervalTable(parsing: bad.joined(separator: "\n"), format: .e4m3fn, policy: policy()) }
        // A dropped row leaves a gap.
        bad = lines; bad.remove(at: 10)
        #expect(throws: OracleError.self) { try RoundingIntervalTable(parsing: bad.joined(separator: "\n"), format: .e4m3fn, policy: policy()) }
        // Wrong policy in the header.
        #expect(throws: OracleError.self) { try RoundingIntervalTable(parsing: text, format: .e4m3fn, policy: policy(.up)) }
        // Uppercase hex is not what we write.
        lines[2] = lines[2].uppercased()
        #expect(throws: OracleError.self) { try RoundingIntervalTable(parsing: lines.joined(separator: "\n"), format: .e4m3fn, policy: policy()) }
    }
}

/// The checks above must catch wrong tables.
@Suite struct IntervalTableNegativeControls {
    /// A boundary moved by one pattern is still a partition, but the cross-check finds it.
    @Test func shiftedBoundaryIsCaughtByCrossCheck() throws {
        let t = try RoundingIntervalTable(format: .e4m3fn)
        var rows = t.intervals
        // Move the 464 tie into the overflow run: 0x43e80000 would wrongly give NaN.
        let k = rows.firstIndex { $0.hi == 0x43E8_0000 }!
        rows[k] = .init(lo: rows[k].lo, hi: 0x43E7_FFFF, code: rows[k].code)
        rows[k + 1] = .init(lo: 0x43E8_0000, hi: rows[k + 1].hi, code: rows[k + 1].code)
        let wrong = RoundingIntervalTable(format: .e4m3fn, policy: t.policy, intervals: rows)
        try wrong.validatePartition()
        #expect(disagreements(wrong, randomCount: 0, seed: 0).contains(0x43E8_0000))
    }

    @Test func gapsAndOverlapsAreNotPartitions() throws {
        let t = try RoundingIntervalTable(format: .e5m2)
        var rows = t.intervals
        rows[5] = .init(lo: rows[5].lo + 1, hi: rows[5].hi, code: rows[5].code)      // gap
        #expect(throws: OracleError.self) { try RoundingIntervalTable(format: .e5m2, policy: t.policy, intervals: rows).validatePartition() }
        rows = t.intervals
        rows[5] = .init(lo: rows[5].lo - 1, hi: rows[5].hi, code: rows[5].code)      // overlap
        #expect(throws: OracleError.self) { try RoundingIntervalTable(format: .e5m2, policy: t.policy, intervals: rows).validatePartition() }
        rows = t.intervals
        rows.removeLast()                                                           // negative NaNs missing
        #expect(throws: OracleError.self) { try RoundingIntervalTable(format: .e5m2, policy: t.policy, intervals: rows).validatePartition() }
    }

    /// The table of a wrong policy (ties away) disagrees with the RNE oracle at named ties.
    @Test func wrongPolicyTableIsCaught() throws {
        let rne = try RoundingOracle(format: .e4m3fn)
        let up = try RoundingIntervalTable(format: .e4m3fn, policy: policy(.up))
        #expect(up.code(forFloat32: 0x1p-10) != rne.code(forFloat32: 0x1p-10))
    }
}
