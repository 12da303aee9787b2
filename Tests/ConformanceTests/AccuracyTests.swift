import Foundation
import Testing
import Formats
import Oracle
import Quant
@testable import Conformance

/// The accuracy suites on small sizes (debug builds are slow): the production implementation
/// passes, and each deliberately wrong implementation — a bug seen in the wild — fails.
enum AccuracyFixtures {
    static let identitySizes = SmoothingIdentitySuite.Sizes(tokens: 8, inFeatures: 64, outFeatures: 12, batch: 2, foldTokens: 4)
    static let scenario = MSEGainSuite.Scenario(
        id: "test", tokens: 64, inFeatures: 128, outFeatures: 8, calibrationTokens: nil, outlierChannels: 4,
        tail: .gaussian, modelSeed: 11, dataSeed: 12, calibrationSeed: 13, casePrefix: "", alphaSearchTokens: 32)
    static let intSizes = IntegerBoundSuite.Sizes(rows: 8, columns: 200)
    static let fp8Sizes = FP8ScalingSuite.Sizes(rows: 6, columns: 96)
    static let w8a8Shapes = [W8A8Suite.Shape(out: 6, inF: 70, batch: 2), W8A8Suite.Shape(out: 3, inF: 600, batch: 1, extreme: true)]
    static let statsSizes = CalibrationStatsSuite.Sizes(rows: 64, columns: 80)

    static func failed(_ rs: [SuiteResult]) -> [SuiteResult] { rs.filter { !$0.passed } }

    /// One line per failed case with its first counterexample (short failure messages).
    static func describe(_ rs: [SuiteResult]) -> String {
        failed(rs).prefix(5).map { r in
            "\(r.caseName): \(r.mismatches) mismatches" + (r.counterexamples.first.map { "; \($0.inputValue) expected \($0.expectedCode) got \($0.gotCode)" } ?? "")
        }.joined(separator: "\n")
    }

    /// A symmetric quantizer with pluggable amax, rounding and group layout (for wrong variants).
    static func quantizer(
        amax: @escaping @Sendable (ArraySlice<Float>) -> Float = { $0.reduce(0) { max($0, abs($1)) } },
        round: @escaping @Sendable (Float) -> Float = { $0.rounded(.toNearestOrEven) },
        columnGroups: Bool = false
    ) -> IntegerBoundSuite.Quantizer {
        { x, shape, bits, g, _ in
            let qmax = Float(bits.qMax)
            var groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: g)
            if columnGroups && g == .perChannel {
                // Bug: scales computed per column but stored and applied per row.
                let c = shape.columns
                groups = (0..<shape.rows).map { ($0 * c)..<(($0 + 1) * c) }
                var codes = [Int8](repeating: 0, count: x.count), scales: [Float] = [], deq = [Float](repeating: 0, count: x.count)
                for (gi, r) in groups.enumerated() {
                    let col = stride(from: gi % c, to: x.count, by: c).map { x[$0] }
                    let s = max(amax(col[...]), 1e-5) / qmax
                    scales.append(s)
                    for i in r {
                        codes[i] = Int8(min(max(round(x[i] / s), -qmax), qmax))
                        deq[i] = Float(codes[i]) * s
                    }
                }
                return (codes, scales, deq)
            }
            var codes = [Int8](repeating: 0, count: x.count), scales: [Float] = [], deq = [Float](repeating: 0, count: x.count)
            for r in groups {
                let s = max(amax(x[r]), 1e-5) / qmax
                scales.append(s)
                for i in r {
                    codes[i] = Int8(min(max(round(x[i] / s), -qmax), qmax))
                    deq[i] = Float(codes[i]) * s
                }
            }
            return (codes, scales, deq)
        }
    }

    static let signedMax: @Sendable (ArraySlice<Float>) -> Float = { $0.max() ?? 0 }
}

@Suite struct SmoothingIdentityTests {
    @Test func productionPasses() throws {
        let rs = try SmoothingIdentitySuite.run(sizes: AccuracyFixtures.identitySizes, implementation: .production)
        #expect(AccuracyFixtures.failed(rs).isEmpty, "\(AccuracyFixtures.describe(rs))")
        #expect(rs.contains { $0.caseName == "2d/adversarial-2^±20/f64" })
        #expect(rs.contains { $0.caseName == "fold/layernorm/f32" })
        // The Float64 path meets 1e-10 on well-conditioned outputs.
        let f64 = rs.filter { $0.caseName.hasSuffix("/f64") }
        #expect(!f64.isEmpty && f64.allSatisfy { $0.metrics.first { $0.name == "max rel err (κ≤100)" }!.value <= 1e-10 })
    }

    @Test func smoothingOnTheWrongAxisFails() throws {
        var impl = SmoothingIdentitySuite.Implementation.production
        // A / s with s indexed by the row (token) instead of the input channel.
        impl.smoothActivations = { a, shape, s in
            a.indices.map { a[$0] / s[($0 / shape.columns) % s.count] }
        }
        let rs = try SmoothingIdentitySuite.run(sizes: AccuracyFixtures.identitySizes, implementation: impl)
        let bad = AccuracyFixtures.failed(rs)
        #expect(bad.contains { $0.caseName == "2d/calibrated-α=0.5/f32" && $0.mismatches > 0 })
        #expect(bad.contains { $0.caseName.hasPrefix("fold/") })
    }

    @Test func swappedAlphaFails() throws {
        var impl = SmoothingIdentitySuite.Implementation.production
        impl.factors = { a, w, alpha in
            try SmoothQuant.factors(activationMax: a, weightMax: w, config: SmoothQuantConfig(alpha: 1 - alpha))
        }
        let rs = try SmoothingIdentitySuite.run(sizes: AccuracyFixtures.identitySizes, implementation: impl)
        let bad = Set(AccuracyFixtures.failed(rs).map(\.caseName))
        #expect(bad.contains("factors/α=0.0") && bad.contains("factors/α=1.0") && bad.contains("factors/α=0.8"))
        // The identity itself holds for any s: only the factor rules catch this bug.
        #expect(!bad.contains("2d/α=0/f32"))
    }

    @Test func signedMaxCalibrationFails() throws {
        var impl = SmoothingIdentitySuite.Implementation.production
        impl.activationMax = { batches in
            var m = [Float](repeating: -.infinity, count: batches[0].shape.columns)
            for b in batches { for (i, v) in b.values.enumerated() { m[i % m.count] = max(m[i % m.count], v) } }
            return m
        }
        let rs = try SmoothingIdentitySuite.run(sizes: AccuracyFixtures.identitySizes, implementation: impl)
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName == "factors/calibrated-max|A|" })
    }

    @Test func float16SmoothingBreaksTheBound() throws {
        var impl = SmoothingIdentitySuite.Implementation.production
        // Smoothing carried out in half precision: far outside γ_{n+2} of Float32.
        impl.smoothWeights = { w, shape, s in w.indices.map { Float(Float16(w[$0] * s[$0 % shape.columns])) } }
        let rs = try SmoothingIdentitySuite.run(sizes: AccuracyFixtures.identitySizes, implementation: impl)
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName == "2d/α=0/f32" })
    }

    @Test func boundConstants() {
        // γ_1 for Float32 is 2^−24/(1 − 2^−24) rounded up, never below the true value.
        let g = ForwardError.gamma(1, .float32)
        #expect(g > 0x1p-24 && g < 0x1p-24 * (1 + 1e-6))
        #expect(ForwardError.upperSum([0.1, 0.2, 0.3]) >= 0.6)
    }
}

@Suite struct ExactReferenceTests {
    @Test func productIsCorrectlyRounded() throws {
        // 1 + 2^−60 − 1: exact sum 2^−60, which recursive binary64 summation loses.
        let a: [Float] = [1, 0x1p-30, -1], w: [Float] = [1, 0x1p-30, 1]
        let y = try ExactReference.product(a, rows: 1, w, outputs: 1, inner: 3)
        #expect(y == [0x1p-60])
        let s = try ExactReference.absProduct(a, rows: 1, w, outputs: 1, inner: 3)
        #expect(s[0] >= 2 + 0x1p-60 && s[0] == (2.0).nextUp)
    }

    @Test func dotRoundsUpOnRequest() throws {
        // 1 + 2^−60: nearest is 1, the upper bound the next binary64 above 1.
        #expect(try ExactReference.dot([1, 0x1p-30], [1, 0x1p-30]) == 1)
        #expect(try ExactReference.dot([1, 0x1p-30], [1, 0x1p-30], roundingUp: true) == (1.0).nextUp)
        #expect(try ExactReference.dot([1, 1], [0.5, 0.25], roundingUp: true) == 0.75)
    }

    @Test func generatorIsDeterministicWithPersistentOutliers() {
        let layer = SyntheticLayer(tokens: 16, inFeatures: 64, outFeatures: 4, outlierChannels: 3, outlierFactor: 50, tail: .studentT(degreesOfFreedom: 4))
        #expect(layer.activations().map(\.bitPattern) == layer.activations().map(\.bitPattern))
        #expect(layer.outlierIndices.count == 3 && Set(layer.outlierIndices).count == 3)
        #expect(layer.batch(dataSeed: 99).outlierIndices == layer.outlierIndices)
        let a = layer.activations()
        let colMax = (0..<64).map { j in (0..<16).map { abs(a[$0 * 64 + j]) }.max()! }
        let outlierMin = layer.outlierIndices.map { colMax[$0] }.min()!
        let othersMedian = colMax.enumerated().filter { !layer.outlierIndices.contains($0.offset) }.map(\.element).sorted()[30]
        #expect(outlierMin > 5 * othersMedian)
    }
}

@Suite struct MSEGainTests {
    static func golden(_ rs: [SuiteResult], tolerance: Double = 0.1) -> AccuracyGolden {
        AccuracyGolden.from(results: rs, scenario: "test", tolerance: { _, _ in tolerance }, description: "test", tolerancePolicy: "test")
    }

    @Test func productionPassesItsOwnGoldenAndIsDeterministic() throws {
        let s = AccuracyFixtures.scenario
        let first = try MSEGainSuite.run(scenario: s, factors: [1, 50], threads: 1, golden: nil, implementation: .production)
        #expect(first.allSatisfy { $0.passed }, "\(AccuracyFixtures.describe(first))")
        let second = try MSEGainSuite.run(scenario: s, factors: [1, 50], threads: 2, golden: Self.golden(first), implementation: .production)
        #expect(second.allSatisfy { $0.passed })
        // Bit-identical figures across runs and thread counts.
        #expect(first.map { $0.metrics.map(\.value.bitPattern) } == second.map { $0.metrics.map(\.value.bitPattern) })
        // Smoothing pays off with outliers under per-tensor INT8.
        let g = second.first { $0.caseName == "int8/per-tensor/f=50" }!.metrics.first { $0.name == "gain α=0.5" }!
        #expect(g.value > 3 && g.bound != nil)
    }

    @Test func wrongAxisSmoothingFallsBelowGolden() throws {
        let s = AccuracyFixtures.scenario
        let good = try MSEGainSuite.run(scenario: s, factors: [50], quantizations: [.int8PerTensor], threads: 1, golden: nil, implementation: .production)
        var impl = FakeQuantLayerImplementation.production
        impl.smoothWeights = { w, shape, sf in w.indices.map { w[$0] * sf[($0 / shape.columns) % sf.count] } }
        let bad = try MSEGainSuite.run(scenario: s, factors: [50], quantizations: [.int8PerTensor], threads: 1, golden: Self.golden(good), implementation: impl)
        #expect(bad.contains { !$0.passed })
    }

    @Test func nonFiniteFigureFails() throws {
        var impl = FakeQuantLayerImplementation.production
        impl.fakeQuantActivations = { a, _, _ in a.map { _ in .nan } }
        let rs = try MSEGainSuite.run(scenario: AccuracyFixtures.scenario, factors: [20], quantizations: [.int4PerToken], threads: 1, golden: nil, implementation: impl)
        #expect(rs.allSatisfy { !$0.passed })
    }

    @Test func alphaSweepReportsACurve() throws {
        let rs = try AlphaSweepSuite.run(scenario: AccuracyFixtures.scenario, quantizations: [.int8PerToken], threads: 1, implementation: .production)
        #expect(rs.count == 1 && rs[0].passed)
        #expect(rs[0].metrics.count == 21 && rs[0].metrics[10].name == "rel MSE@alpha=0.50")
        #expect(rs[0].series?.first?.y.count == 21)
    }

    @Test func goldenFileLoadsAndCoversTheDefaultRun() throws {
        let g = try AccuracyGolden.load()
        let quick = try #require(g.scenarios[MSEGainSuite.Scenario.quick.id])
        for q in ActivationQuantization.allCases {
            for f in MSEGainSuite.outlierFactors { #expect(quick["\(q.rawValue)/f=\(MSEGainSuite.formatFactor(f))"] != nil) }
        }
    }

    @Test func invalidGoldenFileIsATypedError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("acc-golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("accuracy.json").path
        try Data(#"{"description":"x","tolerancePolicy":"x","scenarios":{"quick":{"a":{"gain α=0.5":{"value":-1,"tolerance":0.1},"gain auto-α":{"value":1,"tolerance":0.1}}}}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect(throws: AccuracyGolden.LoadError.self) { try AccuracyGolden.load(path: path) }
    }
}

@Suite struct IntegerBoundTests {
    @Test func productionPasses() throws {
        let rs = try IntegerBoundSuite.run(sizes: AccuracyFixtures.intSizes, quantizer: IntegerBoundSuite.production)
        #expect(AccuracyFixtures.failed(rs).isEmpty, "\(AccuracyFixtures.describe(rs))")
        #expect(rs.first { $0.caseName == "int8/ties" }!.metrics.first { $0.name == "exact ties" }!.value == 254)
        #expect(rs.contains { $0.metrics.first { $0.name == "saturated" }!.value > 0 })
    }

    @Test func theSuitesOwnQuantizerPasses() throws {
        // The test helper with the right choices is a correct implementation (the controls below
        // differ from it in one place only).
        let rs = try IntegerBoundSuite.run(sizes: AccuracyFixtures.intSizes, quantizer: AccuracyFixtures.quantizer())
        let notPercentile = rs.filter { !$0.caseName.contains("percentile") }
        #expect(AccuracyFixtures.failed(notPercentile).isEmpty, "\(AccuracyFixtures.describe(notPercentile))")
    }

    @Test func tiesAwayFromZeroFail() throws {
        let rs = try IntegerBoundSuite.run(sizes: AccuracyFixtures.intSizes, quantizer: AccuracyFixtures.quantizer(round: { $0.rounded(.toNearestOrAwayFromZero) }))
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName == "int8/ties" && $0.mismatches >= 127 })
    }

    @Test func signedMaxFails() throws {
        let rs = try IntegerBoundSuite.run(sizes: AccuracyFixtures.intSizes, quantizer: AccuracyFixtures.quantizer(amax: AccuracyFixtures.signedMax))
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName == "int8/per-token" })
    }

    @Test func perColumnScalesForPerChannelFail() throws {
        let rs = try IntegerBoundSuite.run(sizes: AccuracyFixtures.intSizes, quantizer: AccuracyFixtures.quantizer(columnGroups: true))
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName == "int8/per-channel" })
    }

    @Test func missingClampFails() throws {
        // No saturation: percentile amax lets codes exceed q_max (wrapped into Int8).
        let rs = try IntegerBoundSuite.run(sizes: AccuracyFixtures.intSizes, quantizer: { x, shape, bits, g, amax in
            var r = try IntegerBoundSuite.production(x, shape, bits, g, amax)
            if case .percentile = amax { r.codes = r.codes.map { $0 == Int8(bits.qMax) ? Int8(bits.qMax - 1) : $0 } }
            return r
        })
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName.contains("percentile") })
    }
}

@Suite struct FP8ScalingTests {
    @Test func productionPasses() throws {
        let rs = try FP8ScalingSuite.run(sizes: AccuracyFixtures.fp8Sizes, implementation: .production)
        #expect(AccuracyFixtures.failed(rs).isEmpty, "\(AccuracyFixtures.describe(rs))")
        #expect(rs.contains { $0.caseName == "nvfp4" } && rs.contains { $0.caseName.hasPrefix("delayed/") } && rs.contains { $0.caseName.hasPrefix("mx/") })
    }

    @Test func signedMaxScaleFails() throws {
        var impl = FP8ScalingSuite.Implementation.production
        impl.quantize = { x, shape, c in
            // Scales from the signed max of each group, then Quant's encoding with those scales.
            let groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: c.granularity)
            let scales = groups.map { r in FP8ScaleRule.scale(amax: x[r].max()!, formatMax: Float(c.format.maxFinite), margin: c.margin, rounding: c.rounding) }
            let t = try FP8Scaling.quantize(x, shape: shape, format: c.format, granularity: c.granularity, scales: scales, storage: c.storage, overflow: c.overflow)
            return FP8ScalingSuite.ScaledTensor(codes: t.codes, scales: t.scales, scaleInverses: t.scaleInverses, overflowCounts: t.overflowCounts,
                                                underflowCounts: t.underflowCounts, dequantized: t.dequantized())
        }
        let rs = try FP8ScalingSuite.run(sizes: AccuracyFixtures.fp8Sizes, implementation: impl)
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName == "e4m3fn/per-token" })
    }

    @Test func doubleRoundedScalingFails() throws {
        var impl = FP8ScalingSuite.Implementation.production
        // x·scale rounded to Float32 before encoding (a double rounding).
        impl.quantize = { x, shape, c in
            var r = try FP8ScalingSuite.Implementation.production.quantize(x, shape, c)
            let codec = NarrowFloatCodec(format: c.format, policy: ConversionPolicy(overflow: c.overflow))
            let groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: c.granularity)
            for (g, range) in groups.enumerated() { for i in range { r.codes[i] = UInt8(codec.encode(x[i] * r.scales[g])) } }
            return r
        }
        // amax = 448⁻ gives scale = RN₃₂(448 / 448⁻) = 1 + 2^−23; x = 1.0625⁻ then scales to
        // 1.0625 + 2^−27 − 2^−46, just above the E4M3 midpoint between 1 and 1.125 (→ 1.125),
        // but the Float32 product is the midpoint itself, which ties to even (→ 1).
        let x: [Float] = [Float(448).nextDown, Float(1.0625).nextDown]
        let scale = FP8ScaleRule.scale(amax: x[0], formatMax: 448)
        #expect(scale == 1 + 0x1p-23 && x[1] * scale == 1.0625)
        let shape = try TensorShape(rows: 1, columns: 2)
        let c = FP8ScalingSuite.ScalingCase(format: .e4m3fn, granularity: .perTensor)
        #expect(try FP8ScalingSuite.scalingCase(x, shape: shape, c, implementation: .production).passed)
        let bad = try FP8ScalingSuite.scalingCase(x, shape: shape, c, implementation: impl)
        #expect(!bad.passed && bad.mismatches >= 1)
    }

    @Test func delayedScalingWithTheNewScaleFails() throws {
        var impl = FP8ScalingSuite.Implementation.production
        // Bug: the step's own amax updates the scale before encoding (current, not delayed).
        impl.delayed = { steps, shape, format, recipe in
            var state = try DelayedScalingState(format: format, recipe: recipe)
            return try steps.map { x in
                let amax = x.reduce(Float(0)) { $0.isNaN || $1.isNaN ? .nan : max($0, abs($1)) }
                var probe = state
                probe.record(amax: amax)
                let t = try FP8Scaling.quantize(x, shape: shape, format: format, granularity: .perTensor, scales: [probe.scale])
                state.record(amax: amax)
                return .init(codes: t.codes, scale: state.scale, scaleInverse: state.scaleInverse, history: state.amaxHistory)
            }
        }
        let rs = try FP8ScalingSuite.delayedCases(implementation: impl, seed: 1)
        #expect(rs.contains { !$0.passed })
    }

    @Test func historyWithoutRollFails() throws {
        var impl = FP8ScalingSuite.Implementation.production
        impl.delayed = { steps, shape, format, recipe in
            var r = try FP8ScalingSuite.Implementation.production.delayed(steps, shape, format, recipe)
            for k in r.indices { r[k].history = r[k].history.map { _ in 0 } }
            return r
        }
        let rs = try FP8ScalingSuite.delayedCases(implementation: impl, seed: 1)
        #expect(rs.contains { !$0.passed })
    }

    @Test func mxExponentOffByOneFails() throws {
        var impl = FP8ScalingSuite.Implementation.production
        impl.mx = { x, shape, element, rule in
            var r = try FP8ScalingSuite.Implementation.production.mx(x, shape, element, rule)
            r.scaleCodes = r.scaleCodes.map { $0 == 0xFF || $0 == 0xFE ? $0 : $0 + 1 }
            return r
        }
        let (x, shape) = try FP8ScalingSuite.data(sizes: AccuracyFixtures.fp8Sizes, seed: 3)
        let r = try FP8ScalingSuite.mxCase(x, rows: shape.rows, columns: shape.columns, element: .mxfp8E4M3, rule: .ocp, implementation: impl)
        #expect(!r.passed)
    }

    @Test func nvfp4WithoutSaturationOrTiesFails() throws {
        var impl = FP8ScalingSuite.Implementation.production
        impl.nvfp4 = { x, shape in
            var r = try FP8ScalingSuite.Implementation.production.nvfp4(x, shape)
            r.codes = r.codes.map { $0 & 0x7 == 7 ? $0 - 1 : $0 }  // never reaches ±6
            return r
        }
        let (x, shape) = try FP8ScalingSuite.data(sizes: AccuracyFixtures.fp8Sizes, seed: 3)
        #expect(!(try FP8ScalingSuite.nvfp4Case(x, shape: shape, implementation: impl)).passed)
    }

    @Test func rationalRoundingMatchesTheOracleOnDyadicQuotients() throws {
        // With d a power of two the quotient is a binary64: compare with the oracle directly.
        let fp4 = RationalRounding(format: .e2m1fn)
        let oracle = try RoundingOracle(format: .e2m1fn, policy: ConversionPolicy(overflow: .saturating))
        for k in -200...200 {
            let p = Double(k) * 0.0625
            #expect(fp4.code(numerator: p, denominator: 2) == oracle.code(forFloat64: p / 2), "p = \(p)")
        }
    }
}

@Suite struct W8A8Tests {
    @Test func productionPasses() throws {
        let rs = try W8A8Suite.run(shapes: AccuracyFixtures.w8a8Shapes, implementation: .production)
        #expect(AccuracyFixtures.failed(rs).isEmpty, "\(AccuracyFixtures.describe(rs))")
    }

    /// The previous epilogue, RN₃₂(RN₃₂(acc)·RN₃₂(s_x·s_w)): exact accumulation but up to three
    /// roundings. Must fail the correctly-rounded requirement on ordinary data.
    @Test func threeRoundingEpilogueFails() throws {
        var impl = W8A8Suite.Implementation.production
        impl.forward = { w, out, inF, x, batch, scaling in
            let l = try W8A8Linear(weights: w, shape: TensorShape(rows: out, columns: inF))
            let t = try IntegerQuantizer.quantize(x, shape: TensorShape(rows: batch, columns: inF), bits: .int8,
                                                  granularity: scaling == .perToken ? .perToken : .perTensor)
            let q = t.values()
            var y = [Float](repeating: 0, count: batch * out)
            for b in 0..<batch {
                let xs = scaling == .perToken ? t.scales[b] : t.scales[0]
                for o in 0..<out {
                    var acc: Int32 = 0
                    for j in 0..<inF { acc += Int32(l.codes[o * inF + j]) * Int32(q[b * inF + j]) }
                    y[b * out + o] = Float(acc) * (xs * l.weightScales[o])
                }
            }
            return y
        }
        let rs = try W8A8Suite.run(shapes: AccuracyFixtures.w8a8Shapes, implementation: impl)
        #expect(AccuracyFixtures.failed(rs).contains { $0.suite == W8A8Suite.name && $0.caseName.hasPrefix("w8a8/") })
    }

    @Test func int16AccumulationFails() throws {
        var impl = W8A8Suite.Implementation.production
        impl.forward = { w, out, inF, x, batch, scaling in
            let l = try W8A8Linear(weights: w, shape: TensorShape(rows: out, columns: inF))
            var y = [Float](repeating: 0, count: batch * out)
            for b in 0..<batch {
                let row = Array(x[(b * inF)..<((b + 1) * inF)])
                let t = try IntegerQuantizer.quantize(row, shape: TensorShape(rows: 1, columns: inF), bits: .int8,
                                                      granularity: scaling == .perToken ? .perToken : .perTensor)
                let xs = scaling == .perToken ? t.scales[0]
                    : IntegerQuantizer.scale(amax: x.reduce(0) { max($0, abs($1)) }, bits: .int8)
                let xq = scaling == .perToken ? t.values()
                    : row.map { Int8(max(min(($0 / xs).rounded(.toNearestOrEven), 127), -127)) }
                for o in 0..<out {
                    var acc: Int16 = 0
                    for j in 0..<inF { acc &+= Int16(l.codes[o * inF + j]) &* Int16(xq[j]) }
                    y[b * out + o] = W8A8Linear.output(acc: Int32(acc), xScale: xs, wScale: l.weightScales[o])
                }
            }
            return y
        }
        let rs = try W8A8Suite.run(shapes: AccuracyFixtures.w8a8Shapes, implementation: impl)
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName.contains("extreme") })
    }

    @Test func perColumnWeightScalesFail() throws {
        var impl = W8A8Suite.Implementation.production
        impl.weights = { w, out, inF in
            var r = try W8A8Suite.Implementation.production.weights(w, out, inF)
            r.scales = (0..<out).map { o in max((0..<out).map { abs(w[$0 * inF + o % inF]) }.max()!, 1e-5) / 127 }
            return r
        }
        let rs = try W8A8Suite.run(shapes: AccuracyFixtures.w8a8Shapes, implementation: impl)
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName.hasPrefix("w8a8/") })
    }

    @Test func fp8GEMVWithWrongBlockScalesFails() throws {
        var impl = W8A8Suite.Implementation.production
        impl.fp8GEMV = { w, out, inF, g, x in
            var r = try W8A8Suite.Implementation.production.fp8GEMV(w, out, inF, g, x)
            r.y = r.y.map { $0 * 1.001 }
            return r
        }
        let rs = try W8A8Suite.run(shapes: AccuracyFixtures.w8a8Shapes, implementation: impl)
        #expect(AccuracyFixtures.failed(rs).contains { $0.caseName.hasPrefix("fp8-gemv/") })
    }
}

@Suite struct CalibrationStatsTests {
    @Test func productionPasses() throws {
        let r = try CalibrationStatsSuite.run(sizes: AccuracyFixtures.statsSizes, implementation: CalibrationStatsSuite.production)
        #expect(r.passed, "\(r.counterexamples)")
    }

    @Test func signedMaxAsAbsMaxFails() throws {
        var impl = CalibrationStatsSuite.production
        let base = impl.summary
        impl.summary = { s in
            var r = try base(s)
            r.absMax = r.max
            return r
        }
        #expect(!(try CalibrationStatsSuite.run(sizes: AccuracyFixtures.statsSizes, implementation: impl)).passed)
    }

    @Test func signedMaxCalibratorFails() throws {
        var impl = CalibrationStatsSuite.production
        impl.channelMax = { batches, columns in
            var m = [Float](repeating: 0, count: columns)
            for b in batches { for (i, v) in b.enumerated() { m[i % columns] = max(m[i % columns], v) } }
            return m
        }
        #expect(!(try CalibrationStatsSuite.run(sizes: AccuracyFixtures.statsSizes, implementation: impl)).passed)
    }

    @Test func lossyMergeFails() throws {
        var impl = CalibrationStatsSuite.production
        impl.merge = { a, _ in a }  // drops the right-hand side
        #expect(!(try CalibrationStatsSuite.run(sizes: AccuracyFixtures.statsSizes, implementation: impl)).passed)
    }

    @Test func naiveVarianceFormulaFails() throws {
        // E[x²] − E[x]² in binary64 with a large offset: catastrophic cancellation.
        var impl = CalibrationStatsSuite.production
        let base = impl.summary
        impl.summary = { s in
            var r = try base(s)
            r.variance = Double(Float(r.variance))  // Float32 accumulation of the moments
            return r
        }
        #expect(!(try CalibrationStatsSuite.run(sizes: AccuracyFixtures.statsSizes, implementation: impl)).passed)
    }
}
