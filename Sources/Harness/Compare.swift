import Foundation
import Formats

/// Benchmark comparison of a head run against a base run.
///
/// For each benchmark in either file (matched by name), on the wall-time samples:
///
///     change     = Hodges–Lehmann shift = median_{i,j}(head_j / base_i) − 1   (> 0: slower)
///     p          = two-sided Mann–Whitney U p-value of head against base (`RankTest`)
///     noise band = k · 1.4826 · max(MAD_base / median_base, MAD_head / median_head)
///
/// 1.4826·MAD estimates the standard deviation of normally distributed noise, robustly to the
/// odd preempted repetition; k (`noiseSigmas`, default 3) makes the band ≈ a 3σ interval.
/// A row is **slower** when all three hold:
///
///     p < α (`significance`, default 0.002 as asv),   change > threshold,   change > noise band
///
/// **Faster** is the mirror image; anything else is **within noise**. When the sample sizes
/// cannot reach p < α at all (2 / C(m + n, m) ≥ α: fewer than 7 + 7 repetitions for α =
/// 0.002), the row is **too few repetitions**: no wall-time verdict is possible, never a silent
/// pass. Each row carries its explanation (`reason`). Only *slower* rows are regressions.
/// Rows present on one side only are **new** or **missing**.
public struct BenchComparison: Sendable {
    public enum Verdict: String, Sendable, Hashable {
        case faster, slower
        case withinNoise = "within noise"
        case tooFewRepetitions = "too few repetitions"
        case new, missing
    }

    public struct Row: Sendable {
        public var name: String
        public var base: BenchResult?
        public var head: BenchResult?
        /// Hodges–Lehmann relative shift of the wall time.
        public var change: Double?
        public var noiseBand: Double?
        public var rank: RankTest?
        public var verdict: Verdict
        /// Why the verdict: the test's figures against the thresholds, one phrase.
        public var reason: String
    }

    public var rows: [Row]
    public var threshold: Double
    public var noiseSigmas: Double
    public var significance: Double
    /// Differences between the two runs' machines and builds (empty when alike).
    public var environmentDifferences: [String]
    /// Reasons the noise estimate is weak: a loaded machine, too few repetitions.
    public var noiseWarnings: [String]

    public var regressions: [Row] { rows.filter { $0.verdict == .slower } }

    /// Benchmarks measured in both runs: the only rows that can show a regression.
    public var comparedCount: Int { rows.filter { $0.base != nil && $0.head != nil }.count }

    /// Throws `.nothingInCommon` when no benchmark of `head` was measured in the base run: a
    /// comparison of disjoint files would otherwise report "no regression" having compared
    /// nothing.
    public func requireOverlap(base: String, head: String) throws(CompareError) {
        if comparedCount == 0 { throw .nothingInCommon(base: base, head: head) }
    }

    /// Repetitions per side needed for p < 0.002 to be reachable (2 / C(14, 7) = 5.8e-4).
    public static let minimumRepetitions = 7

    public init(base: ResultsFile, head: ResultsFile, threshold: Double = 0.05, noiseSigmas: Double = 3,
                significance: Double = 0.002) {
        self.threshold = threshold
        self.noiseSigmas = noiseSigmas
        self.significance = significance
        var diffs: [String] = []
        let (b, h) = (base.stamp, head.stamp)
        if b.machine != h.machine || b.cpuModel != h.cpuModel || b.coreCount != h.coreCount {
            diffs.append("machines differ: base '\(b.machine)' (\(b.cpuModel), \(b.coreCount) cores), head '\(h.machine)' (\(h.cpuModel), \(h.coreCount) cores)")
        }
        var noise: [String] = []
        for (label, st) in [("base", b), ("head", h)] {
            if let load = st.loadAverage, load > Double(st.coreCount) {
                noise.append("the \(label) run started with load average \(Fmt.sig(load)) on \(st.coreCount) cores (other processes competed for the CPU)")
            }
        }
        let fewest = (base.benchmarks + head.benchmarks).map(\.samples.count).min() ?? 0
        if fewest > 0 && fewest < Self.minimumRepetitions {
            noise.append("some cases have only \(fewest) repetitions; the rank test needs \(Self.minimumRepetitions) or more per run to reach p < \(Fmt.sig(significance)) (use --repetitions)")
        }
        if b.buildConfiguration != h.buildConfiguration {
            diffs.append("build configurations differ: base \(b.buildConfiguration), head \(h.buildConfiguration)")
        }
        environmentDifferences = diffs
        noiseWarnings = noise
        let heads = Dictionary(head.benchmarks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let baseNames = Set(base.benchmarks.map(\.name))
        var rows: [Row] = []
        for bb in base.benchmarks {
            guard let hb = heads[bb.name] else {
                rows.append(Row(name: bb.name, base: bb, head: nil, change: nil, noiseBand: nil, rank: nil, verdict: .missing, reason: "not measured in head"))
                continue
            }
            let t = RankTest(base: bb.samples, head: hb.samples)
            let band = noiseSigmas * 1.4826 * max(bb.relativeMAD, hb.relativeMAD)
            let (verdict, reason) = Self.decide(t, band: band, threshold: threshold, significance: significance)
            rows.append(Row(name: bb.name, base: bb, head: hb, change: t.shift, noiseBand: band, rank: t, verdict: verdict, reason: reason))
        }
        for hb in head.benchmarks where !baseNames.contains(hb.name) {
            rows.append(Row(name: hb.name, base: nil, head: hb, change: nil, noiseBand: nil, rank: nil, verdict: .new, reason: "not measured in base"))
        }
        self.rows = rows
    }

    /// The wall-time verdict of one row and its explanation (see the type's rules).
    static func decide(_ t: RankTest, band: Double, threshold: Double, significance: Double) -> (Verdict, String) {
        let p = "p = \(Fmt.sig(t.pValue))"
        if t.minimumPValue >= significance {
            return (.tooFewRepetitions, "these repetitions cannot reach p < \(Fmt.sig(significance)) (smallest possible p \(Fmt.sig(t.minimumPValue)))")
        }
        let size = abs(t.shift)
        var missing: [String] = []
        if t.pValue >= significance { missing.append("\(p) ≥ \(Fmt.sig(significance))") }
        if size <= threshold { missing.append("|change| ≤ threshold \(Fmt.percent(threshold))") }
        if size <= band { missing.append("|change| ≤ noise band \(Fmt.percent(band))") }
        if missing.isEmpty {
            let why = "\(p) < \(Fmt.sig(significance)), |change| > threshold \(Fmt.percent(threshold)) and > noise band \(Fmt.percent(band))"
            return (t.shift > 0 ? .slower : .faster, why)
        }
        return (.withinNoise, missing.joined(separator: "; "))
    }

    /// Parses `5%`, `5.5%` or a fraction `0.05`. Bare numbers above 1 are refused as ambiguous.
    public static func parseThreshold(_ text: String) throws(CompareError) -> Double {
        let t = text.trimmingCharacters(in: .whitespaces)
        let value: Double?
        if t.hasSuffix("%") { value = Double(t.dropLast()).map { $0 / 100 } } else {
            value = Double(t)
            if let v = value, v > 1 { throw .invalidThreshold(text) }
        }
        guard let v = value, v.isFinite, v >= 0 else { throw .invalidThreshold(text) }
        return v
    }

    /// The Markdown delta table, with a verdict line first.
    public func markdown(baseLabel: String = "base", headLabel: String = "head") -> String {
        var out = "## Benchmark comparison\n\n"
        let r = regressions
        out += r.isEmpty
            ? "**No regression** beyond \(Fmt.percent(threshold)), significant and outside the noise band (\(rows.count) benchmarks).\n\n"
            : "**\(r.count) regression\(r.count == 1 ? "" : "s")** beyond \(Fmt.percent(threshold)) outside the noise band: \(r.map { "`\($0.name)`" }.joined(separator: ", ")).\n\n"
        for d in environmentDifferences { out += "> ⚠️ \(d): timings may not be comparable.\n\n" }
        for d in noiseWarnings { out += "> ⚠️ \(d).\n\n" }
        var t = MarkdownTable(
            ["benchmark", "\(baseLabel) median", "\(headLabel) median", "change (95 % CI)", "p", "noise band", "verdict", "why"],
            alignments: [.left, .right, .right, .right, .right, .right, .left, .left])
        for row in rows {
            let icon: String
            switch row.verdict {
            case .slower: icon = "🔴 slower"
            case .faster: icon = "🟢 faster"
            case .withinNoise: icon = "⚪ within noise"
            case .tooFewRepetitions: icon = "⚠️ too few repetitions"
            case .new: icon = "🆕 new"
            case .missing: icon = "❔ missing"
            }
            var change = row.change.map(Fmt.percentChange) ?? "—"
            if let r = row.rank {
                change += (r.lower != nil && r.upper != nil)
                    ? " [\(Fmt.percentChange(r.lower!)), \(Fmt.percentChange(r.upper!))]" : " [unbounded]"
            }
            t.add([
                "`\(row.name)`",
                row.base.map { Fmt.seconds($0.medianSeconds) } ?? "—",
                row.head.map { Fmt.seconds($0.medianSeconds) } ?? "—",
                change,
                row.rank.map { Fmt.sig($0.pValue) } ?? "—",
                row.noiseBand.map { "±" + Fmt.percent($0) } ?? "—",
                icon,
                row.reason,
            ])
        }
        out += t.render()
        out += "\nchange = Hodges–Lehmann shift, median over all pairs of head/base wall-time samples − 1, with its distribution-free 95 % confidence interval; p = two-sided Mann–Whitney U test (exact without ties for up to 400 pairs, else normal with tie and continuity corrections); noise band = \(Fmt.sig(noiseSigmas)) × 1.4826 × MAD/median (larger of the two runs). Slower or faster needs p < \(Fmt.sig(significance)), |change| above the threshold and above the noise band.\n"
        return out
    }
}

public enum CompareError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidThreshold(String)
    case noBenchmarks(String)
    case nothingInCommon(base: String, head: String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .invalidThreshold(let t): return "invalid threshold '\(t)': give a percentage like 5% or a fraction like 0.05"
        case .noBenchmarks(let p): return "'\(p)' has no benchmarks to compare"
        case .nothingInCommon(let b, let h):
            return "'\(h)' and the baseline '\(b)' share no benchmark names; nothing was compared"
        }
    }
}
