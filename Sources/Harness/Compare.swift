import Foundation
import Formats

/// Benchmark comparison of a head run against a base run.
///
/// For each benchmark in either file (matched by name):
///
///     change     = median_head / median_base − 1            (> 0: slower)
///     noise band = k · 1.4826 · max(MAD_base / median_base, MAD_head / median_head)
///
/// 1.4826·MAD estimates the standard deviation of normally distributed noise, robustly to the
/// odd preempted repetition; k (`noiseSigmas`, default 3) makes the band ≈ a 3σ interval.
/// A row is **slower** when all three hold:
///
///     change > threshold,   change > noise band,   min_head > max_base
///
/// (the last: the two runs' samples do not overlap at all — with few repetitions the MAD is a
/// poor estimate, and a shared machine can slow one repetition by 50 %, so an overlap means the
/// difference is not established). **Faster** is the mirror image (−change > threshold,
/// −change > band, max_head < min_base); anything else is **within noise**. Only *slower*
/// rows are regressions. Rows present on one side only are **new** or **missing**.
public struct BenchComparison: Sendable {
    public enum Verdict: String, Sendable, Hashable {
        case faster, slower
        case withinNoise = "within noise"
        case new, missing
    }

    public struct Row: Sendable {
        public var name: String
        public var base: BenchResult?
        public var head: BenchResult?
        public var change: Double?
        public var noiseBand: Double?
        public var verdict: Verdict
    }

    public var rows: [Row]
    public var threshold: Double
    public var noiseSigmas: Double
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

    public init(base: ResultsFile, head: ResultsFile, threshold: Double = 0.05, noiseSigmas: Double = 3) {
        self.threshold = threshold
        self.noiseSigmas = noiseSigmas
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
        if fewest > 0 && fewest < 5 {
            noise.append("some cases have only \(fewest) repetitions; the noise estimate needs about 5 or more (use --repetitions)")
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
                rows.append(Row(name: bb.name, base: bb, head: nil, change: nil, noiseBand: nil, verdict: .missing))
                continue
            }
            let change = hb.medianSeconds / bb.medianSeconds - 1
            let band = noiseSigmas * 1.4826 * max(bb.relativeMAD, hb.relativeMAD)
            let verdict: Verdict
            if change > threshold && change > band && hb.minSeconds > bb.maxSeconds { verdict = .slower }
            else if -change > threshold && -change > band && hb.maxSeconds < bb.minSeconds { verdict = .faster }
            else { verdict = .withinNoise }
            rows.append(Row(name: bb.name, base: bb, head: hb, change: change, noiseBand: band, verdict: verdict))
        }
        for hb in head.benchmarks where !baseNames.contains(hb.name) {
            rows.append(Row(name: hb.name, base: nil, head: hb, change: nil, noiseBand: nil, verdict: .new))
        }
        self.rows = rows
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
            ? "**No regression** beyond \(Fmt.percent(threshold)) outside the noise band (\(rows.count) benchmarks).\n\n"
            : "**\(r.count) regression\(r.count == 1 ? "" : "s")** beyond \(Fmt.percent(threshold)) outside the noise band: \(r.map { "`\($0.name)`" }.joined(separator: ", ")).\n\n"
        for d in environmentDifferences { out += "> ⚠️ \(d): timings may not be comparable.\n\n" }
        for d in noiseWarnings { out += "> ⚠️ \(d).\n\n" }
        var t = MarkdownTable(
            ["benchmark", "\(baseLabel) median", "\(headLabel) median", "change", "noise band", "\(headLabel) min–max", "verdict"],
            alignments: [.left, .right, .right, .right, .right, .right, .left])
        for row in rows {
            let icon: String
            switch row.verdict {
            case .slower: icon = "🔴 slower"
            case .faster: icon = "🟢 faster"
            case .withinNoise: icon = "⚪ within noise"
            case .new: icon = "🆕 new"
            case .missing: icon = "❔ missing"
            }
            t.add([
                "`\(row.name)`",
                row.base.map { Fmt.seconds($0.medianSeconds) } ?? "—",
                row.head.map { Fmt.seconds($0.medianSeconds) } ?? "—",
                row.change.map(Fmt.percentChange) ?? "—",
                row.noiseBand.map { "±" + Fmt.percent($0) } ?? "—",
                row.head.map { "\(Fmt.seconds($0.minSeconds)) – \(Fmt.seconds($0.maxSeconds))" } ?? "—",
                icon,
            ])
        }
        out += t.render()
        out += "\nchange = head median / base median − 1; noise band = \(Fmt.sig(noiseSigmas)) × 1.4826 × MAD/median (larger of the two runs). Slower or faster also requires the two runs' min–max ranges not to overlap.\n"
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
