import Foundation
import Testing
import Formats
import Oracle
import Quant
@testable import Conformance

/// Deliberately wrong encoders, each a bug seen in the wild (Docs/formats.md §1), built on top of
/// the correct codec so that each differs from it in exactly one way.
enum WrongEncoders {
    static let format = FloatFormat.e4m3fn
    static let nonsat = NarrowFloatCodec(format: format)
    static let rtz = NarrowFloatCodec(format: format, policy: .init(rounding: .towardZero))

    /// Clamps to ±max before rounding: 500 becomes 448 instead of NaN under NONSAT.
    static func clampBeforeRound(_ x: Float) -> UInt16 {
        let m = Float(format.maxFinite)
        return nonsat.encode(x.isNaN ? x : min(max(x, -m), m))
    }

    /// Flushes every subnormal result to zero.
    static func flushSubnormals(_ x: Float) -> UInt16 {
        let c = nonsat.encode(x)
        return format.classify(c) == .subnormal ? c & format.signMask : c
    }

    /// Drops the mantissa carry on round-up: …111 + 1 wraps to …000 without bumping the exponent.
    static func droppedCarry(_ x: Float) -> UInt16 {
        let c = nonsat.encode(x), t = rtz.encode(x)
        if c != t && t & format.mantissaMask == format.mantissaMask && format.classify(t) == .normal {
            return t & ~format.mantissaMask
        }
        return c
    }

    /// Rounds ties away from zero instead of to the even code.
    static func tiesAway(_ x: Float) -> UInt16 {
        let lo = rtz.encode(x)
        guard format.classify(lo) != .nan, x.isFinite else { return nonsat.encode(x) }
        let a = Double(nonsat.decodeDouble(lo)).magnitude
        let next = lo & format.magnitudeMask == format.maxFiniteMagnitudeCode ? 480 : nonsat.decodeDouble((lo & format.magnitudeMask) + 1)
        if Double(x).magnitude == (a + next) / 2 { return (lo & format.signMask) | ((lo & format.magnitudeMask) + 1) }
        return nonsat.encode(x)
    }

    /// Float64 input double-rounded through Float32 (ml_dtypes #401).
    static func doubleRounded(_ x: Double) -> UInt16 { nonsat.encode(Float(x)) }
}

@Suite struct ExhaustiveSweepNegativeControls {
    /// Windows of Float32 patterns around each bug's trigger (debug builds are slow; the release
    /// CLI sweeps all 2^32).
    static let windows: [(String, Range<UInt64>)] = [
        ("overflow 460…470", UInt64(Float(460).bitPattern)..<UInt64(Float(470).bitPattern)),
        ("subnormals", UInt64(Float(0x1p-9).bitPattern)..<UInt64(Float(0x1p-9).bitPattern) + (1 << 18)),
        ("carry at 15.5", UInt64(Float(15.5).bitPattern) - (1 << 16)..<UInt64(Float(15.5).bitPattern) + (1 << 16)),
        ("tie at 1.0625", UInt64(Float(1.0625).bitPattern) - (1 << 12)..<UInt64(Float(1.0625).bitPattern) + (1 << 12)),
    ]

    static func sweep(_ window: Range<UInt64>, _ f: @escaping @Sendable (Float) -> UInt16) throws -> SuiteResult {
        try ExhaustiveFloat32Suite.run(
            format: WrongEncoders.format, policy: .init(), patterns: window, threads: 2, codeType: UInt8.self
        ) { start, out in
            for i in 0..<out.count { out[i] = UInt8(f(Float(bitPattern: start &+ UInt32(i)))) }
        }
    }

    @Test(arguments: windows.indices)
    func correctEncoderPasses(_ w: Int) throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let r = try ExhaustiveFloat32Suite.run(
            format: .e4m3fn, policy: .init(), patterns: Self.windows[w].1, threads: 2, codeType: UInt8.self
        ) { start, out in codec.encodeBitPatterns(startingAt: start, into: out) }
        #expect(r.passed)
        #expect(r.covered == UInt64(Self.windows[w].1.count))
    }

    @Test func clampBeforeRoundIsCaught() throws {
        let r = try Self.sweep(Self.windows[0].1, WrongEncoders.clampBeforeRound)
        #expect(!r.passed)
        let c = try #require(r.counterexamples.first)
        #expect(c.expectedCode == "0x7f" && c.gotCode == "0x7e")  // NaN expected, max got
    }

    @Test func subnormalFlushIsCaught() throws {
        let r = try Self.sweep(Self.windows[1].1, WrongEncoders.flushSubnormals)
        #expect(!r.passed && r.counterexamples.first?.gotCode == "0x00")
    }

    @Test func droppedCarryIsCaught() throws {
        let r = try Self.sweep(Self.windows[2].1, WrongEncoders.droppedCarry)
        #expect(!r.passed)
        #expect(r.counterexamples.first?.expectedCode == "0x58")  // 16
    }

    @Test func tiesAwayIsCaught() throws {
        let r = try Self.sweep(Self.windows[3].1, WrongEncoders.tiesAway)
        #expect(r.mismatches == 1)  // exactly the tie itself
        #expect(r.counterexamples.first?.inputBits == "0x3f880000")
    }

    @Test func aSkippedRangeFailsTheCoverageCheck() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let table = try OracleTables.intervals(format: .e4m3fn, policy: .init())
        // An encoder that is right but whose driver "forgets" part of the range.
        let (recorder, _) = try ExhaustiveSweep.run(
            patterns: 0..<(1 << 20), blockSize: 1 << 18, workers: 1, intervals: table,
            explain: { p, _, _ in Counterexample(inputBits: "\(p)", inputValue: "", expectedCode: "", expectedValue: "", gotCode: "", gotValue: "") }
        ) { (_, range: Range<UInt64>, deliver: (UInt64, UnsafeBufferPointer<UInt8>) -> Void) in
            // Encodes only the first half of each block.
            var codes = [UInt8](repeating: 0, count: range.count / 2)
            codes.withUnsafeMutableBufferPointer { codec.encodeBitPatterns(startingAt: UInt32(range.lowerBound), into: $0) }
            codes.withUnsafeBufferPointer { deliver(range.lowerBound, $0) }
            return []
        }
        // Only what was delivered counts: the suite's coverage check (covered == patterns) fails.
        #expect(recorder.covered == 1 << 19)
        #expect(recorder.isClean)
        #expect(ExhaustiveSweep.isPartitionOfAllPatterns(table))
        var broken = table
        broken.remove(at: 3)
        #expect(!ExhaustiveSweep.isPartitionOfAllPatterns(broken))
    }
}

@Suite struct OtherSuitesNegativeControls {
    @Test func float64DoubleRoundingIsCaught() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let good = try Float64Suite.run(format: .e4m3fn, policy: .init(), randomCount: 2000, seed: 1, threads: 2) { codec.encode($0) }
        #expect(good.passed)
        let bad = try Float64Suite.run(format: .e4m3fn, policy: .init(), randomCount: 2000, seed: 1, threads: 2, encode: WrongEncoders.doubleRounded)
        #expect(!bad.passed && bad.mismatches > 0)
    }

    /// The bulk path of the Float64 suite is checked too: the production bulk API passes, a bulk
    /// encoder that rounds to nearest (not to odd) at Float32 before the kernel — double rounding —
    /// fails with a counterexample marked as the bulk API's.
    @Test func float64SuiteCatchesADoubleRoundingBulkPath() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let good = try Float64Suite.run(format: .e4m3fn, policy: .init(), randomCount: 2000, seed: 1, threads: 2,
                                        encode: { codec.encode($0) },
                                        bulkEncode: { i, o in try codec.encode(i, into: o) })
        #expect(good.passed)
        let bad = try Float64Suite.run(format: .e4m3fn, policy: .init(), randomCount: 2000, seed: 1, threads: 2,
                                       encode: { codec.encode($0) },
                                       bulkEncode: { i, o in try i.map { Float($0) }.withUnsafeBufferPointer { try codec.encode($0, into: o) } })
        #expect(!bad.passed && bad.mismatches > 0)
        #expect(bad.counterexamples.first?.note.hasSuffix("(bulk API)") == true)
    }

    @Test func halfInputSuiteCatchesFlushAndClamp() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let widen = { (b: UInt16) in Float(bitPattern: NarrowFloatCodec.float32Bits(fromFloat16Bits: b)) }
        #expect(try HalfInputSuite.run(kind: .float16, format: .e4m3fn, policy: .init()) { codec.encode(float16Bits: $0) }.passed)
        let flush = try HalfInputSuite.run(kind: .float16, format: .e4m3fn, policy: .init()) { WrongEncoders.flushSubnormals(widen($0)) }
        #expect(!flush.passed)
        let clamp = try HalfInputSuite.run(kind: .bfloat16, format: .e4m3fn, policy: .init()) {
            WrongEncoders.clampBeforeRound(Float(bitPattern: UInt32($0) << 16))
        }
        #expect(!clamp.passed)
        #expect(clamp.counterexamples.first?.expectedCode == "0x7f")
    }

    static func decode(_ f: FloatFormat, _ decoder: @escaping (UInt16) -> Double) throws -> SuiteResult {
        try DecodeSuite.run(CodecUnderTest(format: f, functions: .init(decodeDouble: decoder)), entries: [.decodeFloat64])
    }

    @Test func wrongDecodeIsCaught() throws {
        let codec = NarrowFloatCodec(format: .e5m2)
        #expect(try DecodeSuite.run(CodecUnderTest(codec), entries: [.decodeFloat64, .decode]).passed)
        // Loses the sign of zero.
        let r = try Self.decode(.e5m2) { c in c == 0x80 ? 0.0 : codec.decodeDouble(c) }
        #expect(!r.passed && r.mismatches == 1)
        // Off-by-one bias.
        #expect(try Self.decode(.e5m2) { codec.decodeDouble($0) * 2 }.mismatches > 200)
    }

    static func roundTrip(_ make: (ConversionPolicy) -> CodecUnderTest) throws -> SuiteResult {
        try RoundTripSuite.run(
            format: .e4m3fn, conformers: ConformanceRunner.policies(exhaustive: true).map(make), entries: [.float32, .float64],
            caseName: "e4m3fn")
    }

    @Test func roundTripCatchesCarryAndSaturation() throws {
        let ok = try Self.roundTrip { CodecUnderTest(NarrowFloatCodec(format: .e4m3fn, policy: $0)) }
        #expect(ok.passed)
        #expect(ok.covered == 256 * 8 * 2)
        let flush = try Self.roundTrip { p in
            let c = NarrowFloatCodec(format: .e4m3fn, policy: p)
            return CodecUnderTest(format: .e4m3fn, policy: p, functions: .init(
                encodeFloat: WrongEncoders.flushSubnormals, encodeDouble: { c.encode($0) }))
        }
        #expect(!flush.passed)
    }

    /// The round trip decodes through the oracle's table, not the implementation's decoder: an
    /// encoder and a decoder wrong in matching ways (both off by a factor of two) still fail it.
    @Test func aWrongDecoderCannotHideAWrongEncoder() throws {
        let r = try Self.roundTrip { p in
            let c = NarrowFloatCodec(format: .e4m3fn, policy: p)
            return CodecUnderTest(format: .e4m3fn, policy: p, functions: .init(
                encodeFloat: { c.encode($0 / 2) }, encodeDouble: { c.encode($0 / 2) },
                decodeFloat: { c.decodeFloat($0) * 2 }, decodeDouble: { c.decodeDouble($0) * 2 }))
        }
        #expect(!r.passed && r.mismatches > 100)
    }

    @Test func stochasticWithWrongProbabilitiesIsCaught() throws {
        let codec = NarrowFloatCodec(format: .e4m3fn, policy: .init(rounding: .stochastic))
        let good = try StochasticSuite.run(format: .e4m3fn, draws: 20_000, testsInRun: 17, seed: 9) { codec.encode($0, randomBits: $1) }
        #expect(good.passed)
        // Fair coin instead of distance-proportional.
        let coin = try StochasticSuite.run(format: .e4m3fn, draws: 20_000, testsInRun: 17, seed: 9) { x, r in
            NarrowFloatCodec(format: .e4m3fn, policy: .init(rounding: r >> 63 == 0 ? .towardZero : .up)).encode(x)
        }
        #expect(!coin.passed)
        // Probability of the wrong neighbour (1 − p).
        let toZero = NarrowFloatCodec(format: .e4m3fn, policy: .init(rounding: .towardZero))
        let flipped = try StochasticSuite.run(format: .e4m3fn, draws: 20_000, testsInRun: 17, seed: 9) { x, r in
            let lo = toZero.encode(x)
            let hi = (lo & 0x80) | ((lo & 0x7F) + 1)
            let a = toZero.decodeDouble(lo), b = toZero.decodeDouble(hi)
            let p = (Double(x) - a) / (b - a)
            return Double(r) / 0x1p64 < 1 - p ? hi : lo
        }
        #expect(!flipped.passed)
    }

    @Test(arguments: [CompatibilityProfile.mlDtypes0_6, .mlDtypes0_7])
    func unexplainedProfileDifferenceIsCaught(_ profile: CompatibilityProfile) throws {
        let f = FloatFormat.e5m2
        let ocp = NarrowFloatCodec(format: f, policy: .init(overflow: .nonSaturating))
        let good = try ProfileSuite.run(format: f, overflow: .nonSaturating, ocp: ocp,
                                    ml: NarrowFloatCodec(format: f, policy: .init(overflow: .nonSaturating, profile: profile)))
        #expect(good.passed)
        // A "profile" that also saturates finite overflow is not a documented difference.
        let bad = try ProfileSuite.run(format: f, overflow: .nonSaturating, ocp: ocp,
                                   ml: NarrowFloatCodec(format: f, policy: .init(overflow: .saturating, profile: profile)))
        #expect(!bad.passed)
    }

    /// 0.6's double rounding is no documented difference of 0.7: a codec claiming 0.7 that
    /// rounds Float64 through Float32 is caught by the OCP comparison.
    @Test func float64DoubleRoundingIsNoRuleOf0_7() throws {
        let f = FloatFormat.e4m3fn
        let ocp = CodecUnderTest(NarrowFloatCodec(format: f))
        let ml0_6 = NarrowFloatCodec(format: f, policy: .init(profile: .mlDtypes0_6))
        let claims0_7 = CodecUnderTest(
            format: f, policy: .init(profile: .mlDtypes0_7),
            functions: .init(encodeFloat: { ml0_6.encode($0) }, encodeDouble: { ml0_6.encode($0) }))
        let r = try ProfileSuite.run(format: f, overflow: .nonSaturating, ocp: ocp, ml: claims0_7)
        #expect(!r.passed && r.mismatches > 0)
    }

    /// Each release's rules against the other release's golden tables fail, with the count of
    /// differing codes reported; against their own tables they pass.
    @Test(arguments: [(CompatibilityProfile.mlDtypes0_6, CompatibilityProfile.mlDtypes0_7), (.mlDtypes0_7, .mlDtypes0_6)])
    func otherReleaseFailsTheGoldenTables(_ tables: CompatibilityProfile, _ rules: CompatibilityProfile) throws {
        var wrongTotal: UInt64 = 0
        for f in FloatFormat.all {
            let own = CodecUnderTest(NarrowFloatCodec(format: f, policy: .init(profile: tables)))
            let other = CodecUnderTest(NarrowFloatCodec(format: f, policy: .init(profile: rules)))
            let pass = try ProfileSuite.runGolden(format: f, profile: tables, implementation: own, others: [other])
            #expect(pass.passed, "\(pass.caseName): \(pass.counterexamples.prefix(3))")
            let fail = try ProfileSuite.runGolden(format: f, profile: tables, implementation: other, others: [own])
            // numpy's float16 casts are the same in both releases: nothing to tell apart there.
            #expect(fail.passed == (f.rules(for: tables) == f.rules(for: rules)), "\(fail.caseName)")
            wrongTotal += fail.mismatches
        }
        // Measured (Golden/mldtypes/README.md, "What changed in 0.7.0"): the tables of the two
        // releases differ in 12,964 codes, the same ones seen from either side.
        #expect(wrongTotal == 12_964)
        print("\(rules.rawValue) rules on \(tables.rawValue) tables: \(wrongTotal) differing codes")
    }
}

@Suite struct GoldenTables {
    static let goldenDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden").path

    @Test func checkedInTablesMatchTheOracle() throws {
        let results = try GoldenFiles.check(directory: Self.goldenDirectory)
        #expect(results.count == GoldenFiles.formats.count * 3)
        for r in results where !r.passed { Issue.record("\(r.caseName): \(r.counterexamples)") }
    }

    @Test func aTamperedTableIsCaught() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qc-golden-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in try GoldenFiles.expected() {
            let url = dir.appendingPathComponent(f.path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try f.contents.replacingOccurrences(of: "\t448\t", with: "\t449\t").replacingOccurrences(of: "\t448\n", with: "\t449\n").write(to: url, atomically: true, encoding: .utf8)
        }
        let bad = try GoldenFiles.check(directory: dir.path).filter { !$0.passed }
        #expect(!bad.isEmpty)
        #expect(bad.contains { $0.caseName == "formats/e4m3fn.tsv" })
        #expect(bad.contains { $0.caseName == "rounding/e4m3fn-rne-sat.tsv" })
    }
}
