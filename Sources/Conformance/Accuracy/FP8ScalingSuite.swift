import Foundation
import Formats
import Oracle
import Quant

/// `fp8-scaling`: scaled narrow-float quantization — every element equals the oracle's
/// correctly rounded value of the exactly scaled input, and every scale equals its documented
/// formula, recomputed from the data by the Oracle's reference models (`ScalingReference`,
/// `DelayedScalingReference`, `MXReference`, `NVFP4Reference`), whose every constant is derived
/// from the format descriptors — never read from `Quant`.
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
///   slot 0 zeroed). The suite runs the Oracle's model of these rules (`DelayedScalingReference`)
///   step by step and compares scale, scaleInverse and history after every step.
/// - **MX** (OCP MX v1.0 §6.3): blocks of 32, X = 2^k, k = ⌊log₂ amax⌋ − emax_elem (`.ocp`;
///   emax_elem derived by `MXReference` from the element format's descriptor) or the
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

    /// The Oracle's names for the recipe's scale rounding and storage.
    static func reference(_ r: ScaleRounding) -> ScalingReference.ScaleRounding { r == .powerOfTwo ? .powerOfTwo : .exact }
    static func reference(_ s: ScaleStorage) -> ScalingReference.ScaleStorage { s == .float16 ? .float16 : .float32 }

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
        var rec = MismatchRecorder()
        func fail(_ what: String, _ input: String, expected: String, got g: String) {
            rec.recordMismatch {
                Counterexample(inputBits: input, inputValue: what, expectedCode: expected, expectedValue: "", gotCode: g, gotValue: "", note: caseName)
            }
        }
        guard got.scales.count == groups.count, got.scaleInverses.count == groups.count, got.codes.count == x.count,
              got.overflowCounts.count == groups.count, got.underflowCounts.count == groups.count, got.dequantized.count == x.count
        else {
            fail("result sizes", "-", expected: "\(groups.count) groups, \(x.count) elements", got: "\(got.scales.count) scales, \(got.codes.count) codes")
            return rec.result(suite: name, caseName: caseName, expected: UInt64(x.count))
        }
        let uf = Double(sign: .plus, exponent: -(c.format.mantissaBits + 1), significand: 1)
        let relBound = (1 + uf) * (1 + 0x1p-24) * (1 + 0x1p-24) - 1
        var maxRel = 0.0, inRange = 0
        for (g, r) in groups.enumerated() {
            let amax = ScalingReference.groupAmax(x[r])
            let raw = ScalingReference.currentScale(amax: amax, format: c.format, margin: c.margin, rounding: reference(c.rounding), m: m)
            let (scale, inverse) = ScalingReference.stored(scale: raw, storage: reference(c.storage), m: m)
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
        if !(maxRel <= relBound) { rec.addMismatches(1) }
        rec.addCovered(UInt64(x.count))
        return rec.result(
            suite: name, caseName: caseName, expected: UInt64(x.count), metrics: metrics,
            parameters: ["format": c.format.name, "granularity": "\(c.granularity)", "scaleRounding": c.rounding.rawValue,
                         "storage": c.storage.rawValue, "overflow": c.overflow.rawValue, "margin": "\(c.margin)", "shape": shape.description],
            wallSeconds: Date().timeIntervalSince(t0))
    }

    // MARK: Delayed scaling

    /// The Oracle's delayed-scaling model for a recipe (parameters only: every constant comes
    /// from the format descriptor).
    static func referenceModel(_ recipe: DelayedScalingRecipe, format: FloatFormat) -> DelayedScalingReference {
        DelayedScalingReference(
            recipe: .init(margin: recipe.margin, historyLength: recipe.historyLength,
                          reduction: recipe.algorithm == .max ? .max : .mostRecent,
                          updateInterval: recipe.updateInterval, rounding: reference(recipe.rounding)),
            format: format)
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
                var model = referenceModel(recipe, format: format)
                var rec = MismatchRecorder()
                func fail(_ k: Int, _ what: String, _ e: String, _ g: String) {
                    rec.recordMismatch {
                        Counterexample(inputBits: "step \(k)", inputValue: what, expectedCode: e, expectedValue: "", gotCode: g, gotValue: "", note: "\(format.name) \(label)")
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
                    model.record(ScalingReference.groupAmax(x[...]), m: m)
                    let sameHistory = model.history.count == got[k].history.count
                        && zip(model.history, got[k].history).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                    if got[k].scale.bitPattern != model.scale.bitPattern || got[k].scaleInverse.bitPattern != model.inverse.bitPattern || !sameHistory {
                        fail(k, "state after step (magnitude \(magnitudes[k]))",
                             "scale \(model.scale), inverse \(model.inverse), history \(model.history.prefix(6))",
                             "scale \(got[k].scale), inverse \(got[k].scaleInverse), history \(got[k].history.prefix(6))")
                    }
                }
                rec.addCovered(UInt64(steps.count))
                results.append(rec.result(
                    suite: name, caseName: "delayed/\(format.name)/\(label)", expected: UInt64(steps.count),
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
        let groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: .blockwise(size: MXReference.blockSize))
        let format = element.format
        let reference = try MXReference(element: format, rule: rule == .ocp ? .ocp : .roundUp)
        let caseName = "mx/\(element.rawValue)/\(rule.rawValue)"
        var rec = MismatchRecorder()
        func fail(_ what: String, _ e: String, _ g: String) {
            rec.recordMismatch {
                Counterexample(inputBits: what, inputValue: "", expectedCode: e, expectedValue: "", gotCode: g, gotValue: "", note: caseName)
            }
        }
        guard got.codes.count == x.count, got.scaleCodes.count == groups.count else {
            fail("sizes", "\(x.count) codes, \(groups.count) scales", "\(got.codes.count) codes, \(got.scaleCodes.count) scales")
            return rec.result(suite: name, caseName: caseName, expected: UInt64(x.count))
        }
        for (g, r) in groups.enumerated() {
            let amax = ScalingReference.groupAmax(x[r])
            let k = reference.scaleExponent(amax: amax)
            let expectedScale = MXReference.scaleCode(exponent: k)
            if got.scaleCodes[g] != expectedScale {
                fail("scale of block \(g), amax \(amax)", "0x\(String(expectedScale, radix: 16))", "0x\(String(got.scaleCodes[g], radix: 16))")
                continue
            }
            for i in r {
                let e = reference.elementCode(x[i], scaleExponent: k)
                let code = UInt16(got.codes[i])
                let ok = format.classify(e) == .nan ? Int(code) < format.codeCount && format.classify(code) == .nan : code == e
                if !ok { fail("x[\(i)] = \(x[i]) in block \(g)", Describe.code(e, format), Describe.code(code, format)) }
            }
        }
        rec.addCovered(UInt64(x.count))
        return rec.result(
            suite: name, caseName: caseName, expected: UInt64(x.count),
            parameters: ["element": element.rawValue, "rule": rule.rawValue, "shape": shape.description],
            wallSeconds: Date().timeIntervalSince(t0))
    }

    // MARK: NVFP4

    static func nvfp4Case(_ x: [Float], shape: TensorShape, implementation impl: Implementation) throws -> SuiteResult {
        let t0 = Date()
        let got = try impl.nvfp4(x, shape)
        let groups = IntegerBoundSuite.groupRanges(shape: shape, granularity: .blockwise(size: NVFP4Reference.blockSize))
        let reference = try NVFP4Reference()
        let m = MPFRScratch()
        var rec = MismatchRecorder()
        func fail(_ what: String, _ e: String, _ g: String) {
            rec.recordMismatch {
                Counterexample(inputBits: what, inputValue: "", expectedCode: e, expectedValue: "", gotCode: g, gotValue: "", note: "nvfp4")
            }
        }
        let amax = ScalingReference.groupAmax(x[...])
        let sEnc = reference.globalEncodeScale(amax: amax, m: m)
        if got.globalScale.bitPattern != sEnc.bitPattern { fail("S_enc (amax \(amax))", "\(sEnc)", "\(got.globalScale)") }
        guard got.blockScaleCodes.count == groups.count, got.codes.count == x.count else {
            fail("sizes", "\(groups.count) blocks", "\(got.blockScaleCodes.count) blocks")
            return rec.result(suite: name, caseName: "nvfp4", expected: UInt64(x.count))
        }
        let scaleFormat = NVFP4Reference.scaleFormat, elementFormat = NVFP4Reference.elementFormat
        for (g, r) in groups.enumerated() {
            let bAmax = ScalingReference.groupAmax(x[r])
            let dCode = reference.blockScaleCode(blockAmax: bAmax, globalScale: sEnc)
            if UInt16(got.blockScaleCodes[g]) != dCode {
                fail("block scale \(g), block amax \(bAmax)", Describe.code(dCode, scaleFormat), Describe.code(UInt16(got.blockScaleCodes[g]), scaleFormat))
                continue
            }
            let d = reference.blockScale(code: dCode)
            for i in r {
                let expected = reference.elementCode(x[i], globalScale: sEnc, blockScale: d)
                if UInt16(got.codes[i]) != expected {
                    fail("x[\(i)] = \(x[i]), d = \(d)", Describe.code(expected, elementFormat), Describe.code(UInt16(got.codes[i]), elementFormat))
                }
            }
        }
        rec.addCovered(UInt64(x.count))
        return rec.result(
            suite: name, caseName: "nvfp4", expected: UInt64(x.count),
            parameters: ["shape": shape.description, "S_enc": "\(sEnc)"],
            wallSeconds: Date().timeIntervalSince(t0))
    }
}
