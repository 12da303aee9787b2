import Foundation
import Oracle
import Quant

/// `calibration-stats`: streaming calibration statistics are a function of the data, not of
/// how it was split.
///
/// The data (outlier activations with Student-t(3) tails, a batch of negative extremes so that
/// max ≠ max|x|, zeros and subnormals) is cut into batches of uneven sizes (some above the
/// 4096-value chunk, one of a single value). For `CalibrationStatistics`:
///
/// - one state updated with every batch, and states of each batch merged sequentially, as a
///   balanced tree and in reverse, must give **bit-identical** count, min, max, absMax and
///   quantiles (the documented exact fields); the suite's own min/max/max|x| from the data must
///   equal them;
/// - mean and variance are compared with the exact values (oracle: Σx and Σx² summed exactly,
///   M2 = Σx² − (Σx)²/n): |Δmean| / √(Σx²/n) and |Δvar| / var must be ≤ γ_{4096+64}(binary64).
///   Why that bound: each chunk of ≤ 4096 values sums its squared deviations recursively
///   (≤ γ_{4096+2} relative, the deviations carrying the chunk mean's own rounding), and Chan's
///   pairwise merges add a few roundings each (≤ 64 merge levels budgeted). Different splits
///   then agree to twice that; the observed disagreement is reported (the documentation's
///   "a few ulps, ≈ 1e-15 for ordinary data");
/// - every sketch quantile r of |x| satisfies the documented bound q* ≤ r < q*·(1 + 2^−7)
///   (normal q*; q* + 2^−133 below), q* the exact nearest-rank quantile from sorting;
/// - `SmoothQuantCalibrator` (per-channel max|A_j|) over the batches, merged from per-batch
///   calibrators, equals the suite's column maxima exactly.
public enum CalibrationStatsSuite {
    public static let name = "calibration-stats"
    public static let quantiles: [Double] = [0.5, 0.9, 0.99, 0.999, 1]

    /// The figures a statistics implementation reports.
    public struct Summary: Sendable, Hashable {
        public var count: Int
        public var min: Float
        public var max: Float
        public var absMax: Float
        public var mean: Double
        public var variance: Double
        /// quantileAbs(p) for `CalibrationStatsSuite.quantiles`, in order.
        public var quantiles: [Float]
        public init(count: Int, min: Float, max: Float, absMax: Float, mean: Double, variance: Double, quantiles: [Float]) {
            self.count = count
            self.min = min
            self.max = max
            self.absMax = absMax
            self.mean = mean
            self.variance = variance
            self.quantiles = quantiles
        }
    }

    /// A statistics implementation: states built from batches, merged, summarised.
    public struct Implementation<State>: Sendable {
        public var make: @Sendable () -> State
        public var update: @Sendable (inout State, [Float]) throws -> Void
        public var merge: @Sendable (State, State) -> State
        public var summary: @Sendable (State) throws -> Summary
        /// Per-channel max |A_j| of [rows, columns] batches merged across calibrators.
        public var channelMax: @Sendable (_ batches: [[Float]], _ columns: Int) throws -> [Float]

        public init(
            make: @escaping @Sendable () -> State, update: @escaping @Sendable (inout State, [Float]) throws -> Void,
            merge: @escaping @Sendable (State, State) -> State, summary: @escaping @Sendable (State) throws -> Summary,
            channelMax: @escaping @Sendable ([[Float]], Int) throws -> [Float]
        ) {
            self.make = make
            self.update = update
            self.merge = merge
            self.summary = summary
            self.channelMax = channelMax
        }
    }

    public static let production = Implementation<CalibrationStatistics>(
        make: { CalibrationStatistics() },
        update: { s, batch in try s.update(batch) },
        merge: { a, b in a.merged(with: b) },
        summary: { s in
            Summary(count: s.count, min: s.min, max: s.max, absMax: s.absMax, mean: s.mean, variance: s.variance,
                    quantiles: try quantiles.map { try s.quantileAbs($0) })
        },
        channelMax: { batches, columns in
            var merged = SmoothQuantCalibrator()
            for b in batches {
                var c = SmoothQuantCalibrator()
                try c.observe(layer: "l", activations: b, shape: TensorShape(rows: b.count / columns, columns: columns))
                try merged.merge(c)
            }
            return try merged.activationMax(layer: "l")
        })

    public struct Sizes: Sendable, Hashable {
        public var rows: Int
        public var columns: Int
        public static let quick = Sizes(rows: 96, columns: 256)
        public static let exhaustive = Sizes(rows: 2048, columns: 1024)
    }

    public static let seed: UInt64 = 0xCA1_57A7

    public static func runAll(_ o: VerifyOptions) throws -> [SuiteResult] {
        [try run(sizes: o.exhaustive ? .exhaustive : .quick, implementation: production)]
    }

    public static func run<State>(sizes: Sizes, seed: UInt64 = seed, implementation impl: Implementation<State>) throws -> SuiteResult {
        let t0 = Date()
        let c = sizes.columns
        var x = SyntheticLayer(
            tokens: sizes.rows, inFeatures: c, outFeatures: 1, outlierChannels: 6, outlierFactor: 40,
            tail: .studentT(degreesOfFreedom: 3), modelSeed: seed, dataSeed: seed ^ 5).activations()
        for j in 0..<c { x[j] = -abs(x[j]) * 3 }                       // row 0: negative extremes
        x[5] = -9000
        for j in 0..<c { x[c + j] = j % 3 == 0 ? 0 : Float(sign: .plus, exponent: -140 - j % 9, significand: 1) }  // row 1
        // Row-aligned uneven batches: 1 row, 17 rows, 2 rows, …
        let rowCuts = [0, 1, 18, 20, 21, 40, 57, sizes.rows].filter { $0 <= sizes.rows }
        var batches: [[Float]] = []
        for k in 0..<(rowCuts.count - 1) where rowCuts[k] < rowCuts[k + 1] {
            batches.append(Array(x[(rowCuts[k] * c)..<(rowCuts[k + 1] * c)]))
        }
        batches.append([x[0]])  // a single value (duplicated data is fine: it is part of the stream)
        let all = batches.flatMap { $0 }

        var rec = MismatchRecorder()
        func fail(_ what: String, _ e: String, _ g: String) {
            rec.recordMismatch { Counterexample(inputBits: what, inputValue: "", expectedCode: e, expectedValue: "", gotCode: g, gotValue: "") }
        }

        // The splits.
        var whole = impl.make()
        for b in batches { try impl.update(&whole, b) }
        var concatenated = impl.make()
        try impl.update(&concatenated, all)
        let parts = try batches.map { b -> State in
            var s = impl.make()
            try impl.update(&s, b)
            return s
        }
        let sequential = parts.dropFirst().reduce(parts[0]) { impl.merge($0, $1) }
        let reversed = parts.reversed().dropFirst().reduce(parts.last!) { impl.merge($0, $1) }
        func tree(_ s: ArraySlice<State>) -> State {
            s.count == 1 ? s.first! : impl.merge(tree(s.prefix(s.count / 2)), tree(s.suffix(s.count - s.count / 2)))
        }
        let splits: [(String, Summary)] = [
            ("updates", try impl.summary(whole)), ("merged sequentially", try impl.summary(sequential)),
            ("merged in reverse", try impl.summary(reversed)), ("merged as a tree", try impl.summary(tree(parts[...]))),
        ]
        let reference = try impl.summary(concatenated)

        // Exact fields against the data.
        let mn = all.min()!, mx = all.max()!, amax = all.reduce(0) { max($0, abs($1)) }
        if reference.count != all.count || reference.min != mn || reference.max != mx || reference.absMax.bitPattern != amax.bitPattern {
            fail("count/min/max/absMax of the data", "\(all.count), \(mn), \(mx), \(amax)",
                 "\(reference.count), \(reference.min), \(reference.max), \(reference.absMax)")
        }
        let tolerance = ForwardError.gamma(4096 + 64, .float64)
        let exact = try ExactMoments.of(all)
        let exactRMS = exact.rms
        var maxSplitRel = 0.0
        for (label, s) in splits {
            if s.count != reference.count || s.min.bitPattern != reference.min.bitPattern || s.max.bitPattern != reference.max.bitPattern
                || s.absMax.bitPattern != reference.absMax.bitPattern || s.quantiles.map(\.bitPattern) != reference.quantiles.map(\.bitPattern) {
                fail("exact fields, \(label)", "as the concatenation: \(reference.quantiles)", "\(s.quantiles), absMax \(s.absMax)")
            }
            let dm = abs(s.mean - reference.mean) / exactRMS
            let dv = abs(s.variance - reference.variance) / reference.variance
            maxSplitRel = max(maxSplitRel, dm, dv)
            if !(abs(s.mean - reference.mean) <= 2 * tolerance * exactRMS) || !(dv <= 2 * tolerance) {
                fail("mean/variance, \(label)", "mean \(reference.mean), variance \(reference.variance)", "mean \(s.mean), variance \(s.variance)")
            }
        }
        let meanErr = abs(reference.mean - exact.mean) / exact.rms
        let varErr = abs(reference.variance - exact.variance) / exact.variance
        if !(meanErr <= tolerance) || !(varErr <= tolerance) {
            fail("moments vs exact", "mean \(exact.mean), variance \(exact.variance)", "mean \(reference.mean), variance \(reference.variance)")
        }
        // Quantiles against sorting.
        let mags = all.map(abs).sorted()
        var worstQuantileRatio = 0.0
        for (p, r) in zip(quantiles, reference.quantiles) {
            let k = max(1, Int((p * Double(mags.count)).rounded(.up)))
            let q = mags[k - 1]
            let ok: Bool
            if q >= .leastNormalMagnitude {
                ok = Double(r) >= Double(q) && Double(r) < Double(q) * (1 + 0x1p-7)
                worstQuantileRatio = max(worstQuantileRatio, Double(r) / Double(q) - 1)
            } else {
                ok = Double(r) >= Double(q) && Double(r) < Double(q) + 0x1p-133
            }
            if !ok || (p == 1 && r != q) { fail("quantile p = \(p)", "q* = \(q), r ∈ [q*, q*(1 + 2^−7))", "\(r)") }
        }
        // Per-channel calibration maxima.
        var colMax = [Float](repeating: 0, count: c)
        for i in 0..<(sizes.rows * c) { colMax[i % c] = max(colMax[i % c], abs(x[i])) }
        let rowBatches = batches.filter { $0.count % c == 0 }
        let gotMax = try impl.channelMax(rowBatches, c)
        if gotMax.map(\.bitPattern) != colMax.map(\.bitPattern) {
            let j = (0..<c).first { gotMax.count != c || gotMax[$0].bitPattern != colMax[$0].bitPattern } ?? 0
            fail("SmoothQuantCalibrator channel \(j)", "\(colMax[j])", gotMax.count == c ? "\(gotMax[j])" : "\(gotMax.count) channels")
        }
        let metrics = [
            Metric(name: "max split disagreement (mean, var)", value: maxSplitRel, bound: 2 * tolerance),
            Metric(name: "mean error/rms vs exact", value: meanErr, bound: tolerance),
            Metric(name: "variance rel error vs exact", value: varErr, bound: tolerance),
            Metric(name: "max quantile overestimate", value: worstQuantileRatio, bound: 0x1p-7),
        ]
        rec.addCovered(UInt64(all.count))
        return rec.result(
            suite: name, caseName: "splits", expected: UInt64(all.count), reportedMetrics: metrics,
            parameters: ["values": "\(all.count)", "batches": "\(batches.count)", "seed": "\(seed)", "quantiles": quantiles.map { "\($0)" }.joined(separator: ",")],
            wallSeconds: Date().timeIntervalSince(t0))
    }
}
