import CMPFR
import Foundation
import Formats
import Oracle
import Quant

/// `fp8-scaling`: scaled narrow-float quantization — every element equals the oracle's
/// correctly rounded value of the exactly scaled input, and every scale equals its documented
/// formula, recomputed by the suite from the data.
///
/// - **Current scaling** (`FP8Scaling.quantize`, per tensor / token / channel / block):
///   amax_g = max|x| over the group (NaN if it holds a NaN, else ∞ if it holds an ∞);
///   scale = RN₃₂(RN₃₂(fmax / amax)·2^−margin), 1 for amax 0/NaN/∞, greatestFiniteMagnitude if
///   the quotient overflows, optionally masked down to a power of two. Float32 storage:
///   scaleInverse = RN₃₂(1/scale). Float16 storage: scaleInverse = RU₁₆(1/scale) (exact
///   reciprocal, rounded up) clamped to [2^−24, 65504], scale = RN₃₂(1/scaleInverse).
///   code = RN_fmt(x·scale) (x·scale exact in binary64) under the overflow policy — the
///   oracle's code for that binary64; overflow/underflow counts per group; and
///   x̂ = RN₃₂(decode(code)·scaleInverse).
///   Error bound, for elements whose scaled value is in the format's normal range and not
///   saturated: |x̂ − x| ≤ ((1 + u_f)(1 + 2^−24)² − 1)·|x|, u_f = 2^−(m+1) (one rounding to the
///   format, one of scaleInverse, one of the product).
/// - **Delayed scaling** (`DelayedScalingState`, TE `DelayedScaling`): each step encodes with
///   the scale from earlier steps; amax_history[0] = max(history[0], amax) (NaN sticky); every
///   `updateInterval` steps the window is reduced (max ignoring NaN, or slot 0), the scale
///   updated only for a finite positive amax, then the history rolled (slot 0 to the end, new
///   slot 0 zeroed). The suite runs its own model of these rules step by step and compares
///   scale, scaleInverse and history after every step.
/// - **MX** (OCP MX v1.0): blocks of 32, X = 2^k, k = ⌊log₂ amax⌋ − emax_elem (`.ocp`) or the
///   least k with amax ≤ elem_max·2^k (`.roundUp`), clamped to [−127, 127]; NaN/∞ block →
///   scale code 0xFF; zero block → 2^−127. Element = RN_sat(x / X) (exact division).
/// - **NVFP4**: S_enc = RN₃₂(2688 / amax); block scale code = E4M3_sat(RN₃₂(RN₃₂(bamax/6)·S_enc));
///   element = E2M1_sat of the exact x·S_enc/d_b, checked by exact comparisons of x·S_enc
///   with d_b times the E2M1 rounding boundaries (ties to the even code).
public enum FP8ScalingSuite {
    public static let name = "fp8-scaling"

    /// What a current-scaling quantizer returns.
    public struct ScaledTensor: Sendable {
        public var codes: [UInt8]
        public var scales: [Float]
        public var scaleInverses: [Float]
        public var overflowCounts: [Int]
        public var underflowCounts: [Int]
        public var dequantized: [Float]
        public init(codes: [UInt8], scales: [Float], scaleInverses: [Float], overflowCounts: [Int], underflowCounts: [Int], dequantized: [Float]) {
            self.codes = codes
            self.scales = scales
            self.scaleInverses = scaleInverses
            self.overflowCounts = overflowCounts
            self.underflowCounts = underflowCounts
            self.dequantized = dequantized
        }
    }

    /// Parameters of one current-scaling case.
    public struct ScalingCase: Sendable, Hashable {
        public var format: FloatFormat
        public var granularity: ScaleGranularity
        public var rounding: ScaleRounding = .exact
        public var storage: ScaleStorage = .float32
        public var overflow: OverflowPolicy = .saturating
        public var margin: Int = 0

        public var label: String {
            var s = "\(format.name)/\(granularity)"
            if rounding != .exact { s += "/\(rounding.rawValue)" }
            if storage != .float32 { s += "/\(storage.rawValue)-scales" }
            if overflow != .saturating { s += "/\(overflow.rawValue)" }
            if margin != 0 { s += "/margin=\(margin)" }
            return s
        }
    }

    /// One delayed-scaling step as seen after it ran.
    public struct DelayedStep: Sendable {
        public var codes: [UInt8]
        public var scale: Float
        public var scaleInverse: Float
        public var history: [Float]
        public init(codes: [UInt8], scale: Float, scaleInverse: Float, history: [Float]) {
            self.codes = codes
            self.scale = scale
            self.scaleInverse = scaleInverse
            self.history = history
        }
    }

    public struct Implementation: Sendable {
        public var quantize: @Sendable (_ x: [Float], _ shape: TensorShape, _ c: ScalingCase) throws -> ScaledTensor
        public var delayed: @Sendable (_ steps: [[Float]], _ shape: TensorShape, _ format: FloatFormat, _ recipe: DelayedScalingRecipe) throws -> [DelayedStep]
        /// (element codes unpacked, scale codes)
        public var mx: @Sendable (_ x: [Float], _ shape: TensorShape, _ element: MXElementFormat, _ rule: MXScaleRule) throws -> (codes: [UInt8], scaleCodes: [UInt8])
        /// (S_enc, block scale codes, element codes unpacked)
        public var nvfp4: @Sendable (_ x: [Float], _ shape: TensorShape) throws -> (globalScale: Float, blockScaleCodes: [UInt8], codes: [UInt8])

        public init(
            quantize: @escaping @Sendable ([Float], TensorShape, ScalingCase) throws -> ScaledTensor,
            delayed: @escaping @Sendable ([[Float]], TensorShape, FloatFormat, DelayedScalingRecipe) throws -> [DelayedStep],
            mx: @escaping @Sendable ([Float], TensorShape, MXElementFormat, MXScaleRule) throws -> (codes: [UInt8], scaleCodes: [UInt8]),
            nvfp4: @escaping @Sendable ([Float], TensorShape) throws -> (globalScale: Float, blockScaleCodes: [UInt8], codes: [UInt8])
        ) {
            self.quantize = quantize
            self.delayed = delayed
            self.mx = mx
            self.nvfp4 = nvfp4
        }

        public static let production = Implementation(
            quantize: { x, shape, c in
                let t = try FP8Scaling.quantize(
                    x, shape: shape, format: c.format, granularity: c.granularity, rounding: c.rounding, storage: c.storage,
                    overflow: c.overflow, margin: c.margin)
                return ScaledTensor(
                    codes: t.codes, scales: t.scales, scaleInverses: t.scaleInverses, overflowCounts: t.overflowCounts,
                    underflowCounts: t.underflowCounts, dequantized: t.dequantized())
            },
            delayed: { steps, shape, format, recipe in
                var state = try DelayedScalingState(format: format, recipe: recipe)
                return try steps.map { x in
                    let t = try state.quantize(x, shape: shape)
                    return DelayedStep(codes: t.codes, scale: state.scale, scaleInverse: state.scaleInverse, history: state.amaxHistory)
                }
            },
            mx: { x, shape, element, rule in
                let t = try MXQuantizer.quantize(x, shape: shape, element: element, rule: rule)
                return (t.elementCodes(), t.scaleCodes)
            },
            nvfp4: { x, shape in
                let t = try NVFP4Tensor.quantize(x, shape: shape)
                return (t.globalEncodeScale, t.blockScaleCodes, t.elementCodes())
            })
    }

    public struct Sizes: Sendable, Hashable {
        public var rows: Int
        public var columns: Int
        public static let quick = Sizes(rows: 32, columns: 320)
        public static let exhaustive = Sizes(rows: 256, columns: 4000)
    }

    public static let seed: UInt64 = 0xF8_5CA1

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        try run(sizes: o.exhaustive ? .exhaustive : .quick, implementation: .production)
    }

    public static var scalingCases: [ScalingCase] {
        var cases: [ScalingCase] = []
        for f in [FloatFormat.e4m3fn, .e5m2] {
            for g in [ScaleGranularity.perTensor, .perToken, .perChannel, .blockwise(size: 32), .blockwise(size: 128)] {
                cases.append(ScalingCase(format: f, granularity: g))
            }
            cases.append(ScalingCase(format: f, granularity: .perToken, rounding: .powerOfTwo))
            cases.append(ScalingCase(format: f, granularity: .blockwise(size: 32), storage: .float16))
            cases.append(ScalingCase(format: f, granularity: .perTensor, overflow: .nonSaturating, margin: 2))
        }
        return cases
    }

    public static func run(sizes: Sizes, seed: UInt64 = seed, implementation impl: Implementation) throws -> [SuiteResult] {
        let (x, shape) = try data(sizes: sizes, seed: seed)
        var results: [SuiteResult] = []
        for c in scalingCases {
            results.append(try scalingCase(x, shape: shape, c, implementation: impl))
        }
        // NaN and ±∞ rows, per token only (one NaN would set a per-tensor scale to 1).
        let special = specialRows(columns: sizes.columns)
        for f in [FloatFormat.e4m3fn, .e5m2] {
            for overflow in [OverflowPolicy.saturating, .nonSaturating] {
                results.append(try scalingCase(
                    special.x, shape: special.shape, ScalingCase(format: f, granularity: .perToken, overflow: overflow),
                    implementation: impl, label: "specials"))
            }
        }
        results += try delayedCases(implementation: impl, seed: seed)
        for element in MXElementFormat.allCases {
            for rule in MXScaleRule.allCases {
                results.append(try mxCase(special.x + x, rows: special.shape.rows + shape.rows, columns: sizes.columns,
                                          element: element, rule: rule, implementation: impl))
            }
        }
        results.append(try nvfp4Case(x, shape: shape, implementation: impl))
        return results
    }

    /// Outlier activations (f = 50, Student-t(3)) with rows exercising the scale edge cases:
    /// all zero (scale 1), tiny amax (scale overflow → greatestFiniteMagnitude), values spread
    /// over 30 binades (subnormal and zero encodings after scaling).
    static func data(sizes: Sizes, seed: UInt64) throws -> ([Float], TensorShape) {
        var x = SyntheticLayer(
            tokens: sizes.rows, inFeatures: sizes.columns, outFeatures: 1, outlierChannels: 4, outlierFactor: 50,
            tail: .studentT(degreesOfFreedom: 3), modelSeed: seed, dataSeed: seed ^ 7).activations()
        let c = sizes.columns
        for j in 0..<c { x[j] = 0 }
        for j in 0..<c { x[c + j] = Float(sign: j % 2 == 0 ? .plus : .minus, exponent: -140 + j % 10, significand: 1.25) }
        for j in 0..<c { x[2 * c + j] = x[2 * c + j] * Float(sign: .plus, exponent: -(j % 30), significand: 1) }
        return (x, try TensorShape(rows: sizes.rows, columns: c))
    }

    static func specialRows(columns c: Int) -> (x: [Float], shape: TensorShape) {
        var x = (0..<(4 * c)).map { Float(SeededDraw.normal(seed: 0x5BEC, index: UInt64($0))) }
        x[3] = .nan
        x[c + 5] = .infinity
        x[2 * c + 1] = -.infinity
        x[3 * c + 2] = -.nan
        return (x, try! TensorShape(rows: 4, columns: c))
    }

    // MARK: - Scale rules (the suite's own derivation)

    static func groupAmax(_ x: ArraySlice<Float>) -> Float {
        if x.contains(where: { $0.isNaN }) { return .nan }
        if x.contains(where: { $0.isInfinite }) { return .infinity }
        return x.reduce(0) { max($0, abs($1)) }
    }

    /// scale = RN₃₂(RN₃₂(fmax / amax) · 2^−margin) with TE's edge rules.
    static func currentScale(amax: Float, formatMax: Double, margin: Int, rounding: ScaleRounding, m: MPFRScratch) -> Float {
        guard amax.isFinite && amax > 0 else { return 1 }
        var s = m.divide32Overflowing(formatMax, by: Double(amax))
        s = s * Float(sign: .plus, exponent: -margin, significand: 1)
        if s == .infinity { s = .greatestFiniteMagnitude }
        if rounding == .powerOfTwo {
            s = Float(sign: .plus, exponent: s.exponent, significand: 1)
            if s < .leastNormalMagnitude { s = .leastNormalMagnitude }
        }
        return s
    }

    /// (scale, scaleInverse) after storage.
    static func stored(scale: Float, storage: ScaleStorage, m: MPFRScratch) -> (Float, Float) {
        switch storage {
        case .float32:
            return (scale, m.divide32Overflowing(1, by: Double(scale)))
        case .float16:
            let inv = m.reciprocalUpBinary16(Double(scale))
            return (m.divide32Overflowing(1, by: Double(inv)), inv)
        }
    }

    // MARK: - Cases

    static func scalingCase(_ x: [Float], shape: TensorShape, _ c: ScalingCase, implementation impl: Implementation, label: String? = nil) throws -> SuiteResult {
        let t0 = Date()
        let caseName = label.map { "\($0)/\(c.label)" } ?? c.label
        let got = try impl.quantize(x, shape, c)
        let groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: c.granularity)
        let policy = ConversionPolicy(rounding: .toNearestOrEven, overflow: c.overflow)
        let oracle = try RoundingOracle(format: c.format, policy: policy)
        let nonsat = try RoundingOracle(format: c.format, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .nonSaturating))
        let values = ExactValueTable(format: c.format)
        let m = MPFRScratch()
        var mism: UInt64 = 0
        var examples: [Counterexample] = []
        func fail(_ what: String, _ input: String, expected: String, got g: String) {
            mism += 1
            if examples.count < SuiteResult.counterexampleLimit {
                examples.append(Counterexample(inputBits: input, inputValue: what, expectedCode: expected, expectedValue: "", gotCode: g, gotValue: "", note: caseName))
            }
        }
        guard got.scales.count == groups.count, got.scaleInverses.count == groups.count, got.codes.count == x.count,
              got.overflowCounts.count == groups.count, got.underflowCounts.count == groups.count, got.dequantized.count == x.count
        else {
            fail("result sizes", "-", expected: "\(groups.count) groups, \(x.count) elements", got: "\(got.scales.count) scales, \(got.codes.count) codes")
            return SuiteResult(suite: name, caseName: caseName, passed: false, covered: 0, expected: UInt64(x.count), mismatches: mism, counterexamples: examples)
        }
        let uf = Double(sign: .plus, exponent: -(c.format.mantissaBits + 1), significand: 1)
        let relBound = (1 + uf) * (1 + 0x1p-24) * (1 + 0x1p-24) - 1
        var maxRel = 0.0, inRange = 0
        for (g, r) in groups.enumerated() {
            let amax = groupAmax(x[r])
            let raw = currentScale(amax: amax, formatMax: c.format.maxFinite, margin: c.margin, rounding: c.rounding, m: m)
            let (scale, inverse) = stored(scale: raw, storage: c.storage, m: m)
            if got.scales[g].bitPattern != scale.bitPattern || got.scaleInverses[g].bitPattern != inverse.bitPattern {
                fail("scale of group \(g), amax \(amax)", "group \(g)", expected: "scale \(scale), inverse \(inverse)",
                     got: "scale \(got.scales[g]), inverse \(got.scaleInverses[g])")
                continue
            }
            var overflows = 0, underflows = 0
            for i in r {
                let p = Double(x[i]) * Double(scale)  // exact: 24 × 24 bits
                let expected = oracle.code(forFloat64: p)
                let code = UInt16(got.codes[i])
                let ok = c.format.classify(expected) == .nan ? c.format.classify(code) == .nan : code == expected
                if !ok {
                    fail("x = \(x[i]), x·scale = \(p)", Describe.hex(x[i].bitPattern, digits: 8),
                         expected: "\(Describe.code(expected, c.format)) (\(Describe.value(expected, values)))",
                         got: "\(Describe.code(code, c.format)) (\(Int(code) < c.format.codeCount ? Describe.value(code, values) : "invalid"))")
                    continue
                }
                if x[i].isFinite {
                    let cls = c.format.classify(nonsat.code(forFloat64: p))
                    if cls == .nan || cls == .infinity { overflows += 1 }
                    if x[i] != 0 && code & c.format.magnitudeMask == 0 { underflows += 1 }
                }
                // x̂ = RN₃₂(decode(code) · scaleInverse).
                let expectedHat: Float
                switch c.format.classify(code) {
                case .nan: expectedHat = .nan
                case .infinity: expectedHat = c.format.sign(of: code) ? -.infinity : .infinity
                default: expectedHat = Float(values[code].double * Double(inverse))  // exact product (≤ 4 + 24 bits), one rounding
                }
                let hat = got.dequantized[i]
                if !(hat.bitPattern == expectedHat.bitPattern || (hat.isNaN && expectedHat.isNaN)) {
                    fail("x̂ of x = \(x[i])", Describe.hex(x[i].bitPattern, digits: 8), expected: "\(expectedHat)", got: "\(hat)")
                }
                if x[i].isFinite && abs(p) >= c.format.minNormal && abs(p) <= c.format.maxFinite {
                    inRange += 1
                    maxRel = max(maxRel, abs(Double(hat) - Double(x[i])) / abs(Double(x[i])))
                }
            }
            if overflows != got.overflowCounts[g] || underflows != got.underflowCounts[g] {
                fail("overflow/underflow counts of group \(g)", "group \(g)", expected: "\(overflows)/\(underflows)",
                     got: "\(got.overflowCounts[g])/\(got.underflowCounts[g])")
            }
        }
        // Float16 storage promise: amax·scale never exceeds the format max because of storage.
        let metrics = [
            Metric(name: "max rel err (normal range)", value: maxRel, bound: relBound),
            Metric(name: "elements in normal range", value: Double(inRange)),
        ]
        if !(maxRel <= relBound) { mism += 1 }
        return SuiteResult(
            suite: name, caseName: caseName, passed: mism == 0, covered: UInt64(x.count), expected: UInt64(x.count),
            mismatches: mism, counterexamples: examples, metrics: metrics,
            parameters: ["format": c.format.name, "granularity": "\(c.granularity)", "scaleRounding": c.rounding.rawValue,
                         "storage": c.storage.rawValue, "overflow": c.overflow.rawValue, "margin": "\(c.margin)", "shape": shape.description],
            wallSeconds: Date().timeIntervalSince(t0))
    }

    // MARK: Delayed scaling

    /// The suite's model of TE delayed scaling (see the type documentation).
    struct DelayedModel {
        let recipe: DelayedScalingRecipe
        let formatMax: Double
        var history: [Float]
        var scale: Float = 1
        var inverse: Float = 1
        var step = 0

        init(recipe: DelayedScalingRecipe, formatMax: Double) {
            self.recipe = recipe
            self.formatMax = formatMax
            history = [Float](repeating: 0, count: recipe.historyLength)
        }

        mutating func record(_ amax: Float, m: MPFRScratch) {
            history[0] = (amax.isNaN || history[0].isNaN) ? .nan : max(history[0], abs(amax))
            step += 1
            guard step % recipe.updateInterval == 0 else { return }
            let current = history[0]
            let windowMax = history.filter { !$0.isNaN }.max() ?? 0
            let amax = recipe.algorithm == .max ? windowMax : current
            if amax.isFinite && amax > 0 {
                scale = FP8ScalingSuite.currentScale(amax: amax, formatMax: formatMax, margin: recipe.margin, rounding: recipe.rounding, m: m)
            }
            inverse = m.divide32Overflowing(1, by: Double(scale))
            // torch.roll(history, −1); history[0] = 0
            history = Array(history.dropFirst()) + [current]
            history[0] = 0
        }
    }

    static func delayedCases(implementation impl: Implementation, seed: UInt64) throws -> [SuiteResult] {
        let shape = try TensorShape(rows: 4, columns: 64)
        // Step amax pattern: growth, decay, an all-zero step, a NaN step, an ∞ step, tiny, huge.
        let magnitudes: [Float] = [1, 2, 0.5, 0, 3, .nan, 1e-3, .infinity, 100, 0.25, 1e-30, 7, 7, 0.01]
        let steps: [[Float]] = magnitudes.enumerated().map { k, mag in
            var t = (0..<shape.elementCount).map { Float(SeededDraw.normal(seed: seed ^ UInt64(k + 1), index: UInt64($0))) }
            let a = t.reduce(0) { max($0, abs($1)) }
            t = t.map { mag.isFinite ? $0 / a * mag : $0 }
            if mag.isNaN { t[5] = .nan }
            if mag.isInfinite { t[9] = -.infinity }
            return t
        }
        let recipes: [(String, DelayedScalingRecipe)] = [
            ("history=4/max", try DelayedScalingRecipe(historyLength: 4)),
            ("history=4/most_recent", try DelayedScalingRecipe(historyLength: 4, algorithm: .mostRecent)),
            ("history=1024/max", try DelayedScalingRecipe()),
            ("history=3/max/interval=2/margin=1/pow2", try DelayedScalingRecipe(margin: 1, historyLength: 3, updateInterval: 2, rounding: .powerOfTwo)),
            ("history=1/max", try DelayedScalingRecipe(historyLength: 1)),
        ]
        var results: [SuiteResult] = []
        let m = MPFRScratch()
        for format in [FloatFormat.e4m3fn, .e5m2] {
            let oracle = try RoundingOracle(format: format, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
            for (label, recipe) in recipes {
                let t0 = Date()
                let got = try impl.delayed(steps, shape, format, recipe)
                var model = DelayedModel(recipe: recipe, formatMax: format.maxFinite)
                var mism: UInt64 = 0
                var examples: [Counterexample] = []
                func fail(_ k: Int, _ what: String, _ e: String, _ g: String) {
                    mism += 1
                    if examples.count < SuiteResult.counterexampleLimit {
                        examples.append(Counterexample(inputBits: "step \(k)", inputValue: what, expectedCode: e, expectedValue: "", gotCode: g, gotValue: "", note: "\(format.name) \(label)"))
                    }
                }
                if got.count != steps.count { fail(0, "steps", "\(steps.count)", "\(got.count)") }
                for (k, x) in steps.enumerated() where k < got.count {
                    // Codes of step k use the scale before the step.
                    for i in x.indices {
                        let e = oracle.code(forFloat64: Double(x[i]) * Double(model.scale))
                        let ok = format.classify(e) == .nan ? format.classify(UInt16(got[k].codes[i])) == .nan : UInt16(got[k].codes[i]) == e
                        if !ok { fail(k, "code of x[\(i)] = \(x[i]) at scale \(model.scale)", Describe.code(e, format), Describe.code(UInt16(got[k].codes[i]), format)) }
                    }
                    model.record(groupAmax(x[...]), m: m)
                    let sameHistory = model.history.count == got[k].history.count
                        && zip(model.history, got[k].history).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                    if got[k].scale.bitPattern != model.scale.bitPattern || got[k].scaleInverse.bitPattern != model.inverse.bitPattern || !sameHistory {
                        fail(k, "state after step (magnitude \(magnitudes[k]))",
                             "scale \(model.scale), inverse \(model.inverse), history \(model.history.prefix(6))",
                             "scale \(got[k].scale), inverse \(got[k].scaleInverse), history \(got[k].history.prefix(6))")
                    }
                }
                results.append(SuiteResult(
                    suite: name, caseName: "delayed/\(format.name)/\(label)", passed: mism == 0, covered: UInt64(steps.count),
                    expected: UInt64(steps.count), mismatches: mism, counterexamples: examples,
                    parameters: ["format": format.name, "recipe": label, "steps": "\(steps.count)", "stepMagnitudes": magnitudes.map { "\($0)" }.joined(separator: ",")],
                    wallSeconds: Date().timeIntervalSince(t0)))
            }
        }
        return results
    }

    // MARK: MX

    static func mxCase(_ x: [Float], rows: Int, columns: Int, element: MXElementFormat, rule: MXScaleRule, implementation impl: Implementation) throws -> SuiteResult {
        let t0 = Date()
        let shape = try TensorShape(rows: rows, columns: columns)
        let got = try impl.mx(x, shape, element, rule)
        let groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: .blockwise(size: 32))
        let format = element.format
        let oracle = try RoundingOracle(format: format, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
        let caseName = "mx/\(element.rawValue)/\(rule.rawValue)"
        var mism: UInt64 = 0
        var examples: [Counterexample] = []
        func fail(_ what: String, _ e: String, _ g: String) {
            mism += 1
            if examples.count < SuiteResult.counterexampleLimit {
                examples.append(Counterexample(inputBits: what, inputValue: "", expectedCode: e, expectedValue: "", gotCode: g, gotValue: "", note: caseName))
            }
        }
        guard got.codes.count == x.count, got.scaleCodes.count == groups.count else {
            fail("sizes", "\(x.count) codes, \(groups.count) scales", "\(got.codes.count) codes, \(got.scaleCodes.count) scales")
            return SuiteResult(suite: name, caseName: caseName, passed: false, covered: 0, expected: UInt64(x.count), mismatches: mism, counterexamples: examples)
        }
        let v = MPFRNumber(precision: 64)
        for (g, r) in groups.enumerated() {
            let amax = groupAmax(x[r])
            var k: Int? = nil
            if amax.isFinite {
                if amax == 0 {
                    k = -127
                } else {
                    _ = v.set(amax, rounding: .nearestEven)
                    switch rule {
                    case .ocp:
                        k = (v.exponent - 1) - element.emax  // MPFR: amax ∈ [2^(e−1), 2^e)
                    case .roundUp:
                        // least k with amax ≤ elem_max·2^k: start at a k that satisfies it, step down.
                        var kk = v.exponent - Int(format.maxFinite.exponent) + 1
                        let limit = MPFRNumber(precision: 64)
                        func fits(_ k: Int) -> Bool {
                            _ = limit.set(format.maxFinite, rounding: .nearestEven)
                            _ = limit.multiply(limit, byPowerOfTwo: k, rounding: .nearestEven)
                            return MPFRNumber.compare(v, limit)! <= 0
                        }
                        while !fits(kk) { kk += 1 }
                        while fits(kk - 1) { kk -= 1 }
                        k = kk
                    }
                    k = min(127, max(-127, k!))
                }
            }
            let expectedScale: UInt8 = k.map { UInt8($0 + 127) } ?? 0xFF
            if got.scaleCodes[g] != expectedScale {
                fail("scale of block \(g), amax \(amax)", "0x\(String(expectedScale, radix: 16))", "0x\(String(got.scaleCodes[g], radix: 16))")
                continue
            }
            let inv = Double(sign: .plus, exponent: -(k ?? 0), significand: 1)
            for i in r {
                let e = oracle.code(forFloat64: Double(x[i]) * inv)  // exact: a power-of-two scaling of a Float32
                let code = UInt16(got.codes[i])
                let ok = format.classify(e) == .nan ? Int(code) < format.codeCount && format.classify(code) == .nan : code == e
                if !ok { fail("x[\(i)] = \(x[i]) in block \(g)", Describe.code(e, format), Describe.code(code, format)) }
            }
        }
        return SuiteResult(
            suite: name, caseName: caseName, passed: mism == 0, covered: UInt64(x.count), expected: UInt64(x.count),
            mismatches: mism, counterexamples: examples, parameters: ["element": element.rawValue, "rule": rule.rawValue, "shape": shape.description],
            wallSeconds: Date().timeIntervalSince(t0))
    }

    // MARK: NVFP4

    static func nvfp4Case(_ x: [Float], shape: TensorShape, implementation impl: Implementation) throws -> SuiteResult {
        let t0 = Date()
        let got = try impl.nvfp4(x, shape)
        let groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: .blockwise(size: 16))
        let e4m3 = try RoundingOracle(format: .e4m3fn, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
        let e4m3Values = ExactValueTable(format: .e4m3fn)
        let fp4 = RationalRounding(format: .e2m1fn)
        let m = MPFRScratch()
        var mism: UInt64 = 0
        var examples: [Counterexample] = []
        func fail(_ what: String, _ e: String, _ g: String) {
            mism += 1
            if examples.count < SuiteResult.counterexampleLimit {
                examples.append(Counterexample(inputBits: what, inputValue: "", expectedCode: e, expectedValue: "", gotCode: g, gotValue: "", note: "nvfp4"))
            }
        }
        let amax = groupAmax(x[...])
        let sEnc = currentScale(amax: amax, formatMax: 448 * 6, margin: 0, rounding: .exact, m: m)
        if got.globalScale.bitPattern != sEnc.bitPattern { fail("S_enc (amax \(amax))", "\(sEnc)", "\(got.globalScale)") }
        guard got.blockScaleCodes.count == groups.count, got.codes.count == x.count else {
            fail("sizes", "\(groups.count) blocks", "\(got.blockScaleCodes.count) blocks")
            return SuiteResult(suite: name, caseName: "nvfp4", passed: false, covered: 0, expected: UInt64(x.count), mismatches: mism, counterexamples: examples)
        }
        for (g, r) in groups.enumerated() {
            let bAmax = groupAmax(x[r])
            let d32 = (bAmax / 6) * sEnc  // the documented Float32 arithmetic
            let dCode = e4m3.code(forFloat32: d32)
            if UInt16(got.blockScaleCodes[g]) != dCode {
                fail("block scale \(g), block amax \(bAmax)", Describe.code(dCode, .e4m3fn), Describe.code(UInt16(got.blockScaleCodes[g]), .e4m3fn))
                continue
            }
            let d = e4m3Values[dCode].double
            for i in r {
                let expected: UInt16 = d > 0 ? fp4.code(numerator: Double(x[i]) * Double(sEnc), denominator: d) : 0
                if UInt16(got.codes[i]) != expected {
                    fail("x[\(i)] = \(x[i]), d = \(d)", Describe.code(expected, .e2m1fn), Describe.code(UInt16(got.codes[i]), .e2m1fn))
                }
            }
        }
        return SuiteResult(
            suite: name, caseName: "nvfp4", passed: mism == 0, covered: UInt64(x.count), expected: UInt64(x.count),
            mismatches: mism, counterexamples: examples, parameters: ["shape": shape.description, "S_enc": "\(sEnc)"],
            wallSeconds: Date().timeIntervalSince(t0))
    }
}

/// Round-to-nearest-even with saturation of an exact quotient p/d (d > 0) to a format without
/// infinities, by exact comparisons: every product d·v and d·(v + v')/2 with v, v' format values
/// and d a narrow-float value is exact in binary64.
struct RationalRounding {
    let format: FloatFormat
    /// Non-negative finite values ascending, with their codes.
    let ladder: [(value: Double, code: UInt16)]

    init(format: FloatFormat) {
        self.format = format
        var l: [(Double, UInt16)] = []
        for c in 0..<format.codeCount {
            let code = UInt16(c)
            if let v = format.finiteValue(of: code), !v.negative { l.append((FloatFormat.double(v), code)) }
        }
        ladder = l.sorted { $0.0 < $1.0 }
    }

    func code(numerator p: Double, denominator d: Double) -> UInt16 {
        let a = abs(p)
        var i = 0
        while i + 1 < ladder.count && d * ladder[i + 1].value <= a { i += 1 }
        var pick = ladder[i]
        if i + 1 < ladder.count {
            let mid = d * ((ladder[i].value + ladder[i + 1].value) / 2)
            if a > mid || (a == mid && ladder[i].code & 1 == 1) { pick = ladder[i + 1] }
        }
        return (p.sign == .minus ? format.signMask : 0) | pick.code
    }
}

extension MPFRScratch {
    /// RN₃₂(x / y) including overflow to ±∞ and binary32 subnormals: see `divide32`.
    func divide32Overflowing(_ x: Double, by y: Double) -> Float { divide32(x, by: y) }

    /// RU₁₆(1/s), clamped to [2^−24, 65504]: the binary16 decode multiplier.
    func reciprocalUpBinary16(_ s: Double) -> Float {
        let f11 = MPFRNumber(precision: 11)
        mpfr_set_d(a.pointer, s, MPFR_RNDN)
        mpfr_ui_div(f11.pointer, 1, a.pointer, MPFR_RNDU)
        let r = f11.double(rounding: .up)
        let minHalf = 0x1p-24
        if !(r < 65504) { return 65504 }
        if r <= minHalf { return Float(minHalf) }
        // Below 2^−14 binary16 is subnormal: spacing 2^−24, so round up to a multiple of it.
        if r < 0x1p-14 { return Float((r / minHalf).rounded(.up) * minHalf) }
        return Float(r)
    }
}
