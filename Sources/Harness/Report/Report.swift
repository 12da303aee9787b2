import Conformance
import Foundation
import Formats

/// The verdict the reports lead with: a gate's, or one derived from the suites.
public struct Verdict: Sendable, Hashable {
    public var passed: Bool
    /// One line per reason the run failed (empty when it passed).
    public var failures: [String]
    /// Other lines worth reading first (skipped steps, warnings).
    public var notes: [String]

    public init(passed: Bool, failures: [String] = [], notes: [String] = []) {
        self.passed = passed
        self.failures = failures
        self.notes = notes
    }
}

extension SuiteResult {
    /// Suites that always state how many inputs they must cover (`expected`): every code,
    /// every pattern, every probe of a fixed list. A file holding one of these cases without
    /// `expected` has lost the evidence a pass rests on.
    public static let suitesStatingCoverage: Set<String> = [
        "decode", "roundtrip", "exhaustive-f32", "exhaustive-f16", "float64", "golden",
    ]

    /// Why the evidence of this case contradicts a pass, or nil when it supports one: any
    /// mismatch, no input checked, fewer (or more) inputs covered than expected, `expected`
    /// missing where the suite always states it, a metric outside its bound.
    public var evidenceAgainstPass: String? {
        if mismatches > 0 { return "has \(mismatches) mismatch\(mismatches == 1 ? "" : "es")" }
        if covered == 0 { return "covered no inputs" }
        if let e = expected, e != covered { return "covered \(covered) of \(e) expected inputs" }
        if expected == nil && Self.suitesStatingCoverage.contains(suite) {
            return "lacks 'expected', which suite '\(suite)' always states"
        }
        if let m = metrics.first(where: { $0.withinBound == false }) {
            return "metric '\(m.name)' = \(m.value) is outside its bound \(m.bound!)"
        }
        return nil
    }

    /// The verdict derived from the evidence: passed as stated *and* no mismatch, something
    /// covered, complete, and within every metric bound. A stored `passed: true` alone never
    /// makes a case pass.
    public var verdictPassed: Bool { passed && evidenceAgainstPass == nil }
}

/// Everything a report is built from.
/// Why a case failed, in a few words: coverage, mismatches, a metric out of bounds.
func failureReason(_ r: SuiteResult) -> String {
    if let e = r.expected, e != r.covered { return "covered \(r.covered) of \(e) inputs" }
    if r.mismatches > 0 { return "\(r.mismatches) mismatches" }
    if r.covered == 0 { return "no inputs covered" }
    if let m = r.metrics.first(where: { $0.withinBound == false }) {
        return "\(m.name) = \(Fmt.sig(m.value)) outside its bound \(Fmt.sig(m.bound!))"
    }
    return "failed"
}

public struct ReportInput: Sendable {
    public var files: [(path: String, file: ResultsFile)]
    public var verdict: Verdict?
    public var comparison: BenchComparison?
    public var history: [BenchHistory.Entry]
    public var historyWarnings: [String]

    public init(
        files: [(path: String, file: ResultsFile)], verdict: Verdict? = nil, comparison: BenchComparison? = nil,
        history: [BenchHistory.Entry] = [], historyWarnings: [String] = []
    ) {
        self.files = files
        self.verdict = verdict
        self.comparison = comparison
        self.history = history
        self.historyWarnings = historyWarnings
    }

    public var suites: [SuiteResult] { files.flatMap(\.file.suites) }
    public var benchmarks: [BenchResult] { files.flatMap(\.file.benchmarks) }

    /// The suites' own verdict: every case passed and complete.
    public var derivedVerdict: Verdict {
        let failed = suites.filter { !$0.verdictPassed }
        var failures = failed.prefix(20).map { r -> String in
            var s = "\(r.suite)\(r.caseName.isEmpty ? "" : " \(r.caseName)"): "
            s += failureReason(r)
            if let err = r.parameters["error"] { s += " (\(err))" }
            return s
        }
        if failed.count > 20 { failures.append("… and \(failed.count - 20) more failing cases") }
        if let c = comparison, !c.regressions.isEmpty {
            failures.append("\(c.regressions.count) benchmark regression(s) beyond \(Fmt.percent(c.threshold))")
        }
        return Verdict(passed: failures.isEmpty, failures: failures)
    }

    /// Refuses inputs that would make the report ambiguous.
    public func validate() throws(ReportError) {
        guard !files.isEmpty else { throw .noInputs }
        var seenSuites: [String: String] = [:]
        var seenBench: [String: String] = [:]
        for (path, f) in files {
            for s in f.suites {
                let k = s.suite + " " + s.caseName
                if let other = seenSuites[k] { throw .duplicateSuite(k.trimmingCharacters(in: .whitespaces), path, other) }
                seenSuites[k] = path
            }
            for b in f.benchmarks {
                if let other = seenBench[b.name] { throw .duplicateBenchmark(b.name, path, other) }
                seenBench[b.name] = path
            }
        }
    }
}

public enum ReportError: Error, Equatable, CustomStringConvertible, Sendable {
    case noInputs
    case duplicateSuite(String, String, String)
    case duplicateBenchmark(String, String, String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .noInputs: return "report needs at least one --input results file"
        case .duplicateSuite(let k, let a, let b):
            return "suite case '\(k)' appears in both '\(b)' and '\(a)' (shards? combine them with `quantcheck merge` first)"
        case .duplicateBenchmark(let k, let a, let b): return "benchmark '\(k)' appears in both '\(b)' and '\(a)'"
        }
    }
}

/// Writes the Markdown report set and its SVG charts:
///
///     summary.md      verdict first, then one line per suite, benchmarks, run stamps
///     conformance.md  per suite: cases (format × mode), inputs covered, mismatches, counterexamples
///     accuracy.md     per suite with metrics: values against bounds; curves and histograms
///     throughput.md   benchmark table with the roofline column; bars; history trends
///     charts/*.svg
///
/// Charts are written first and `summary.md` last, each file atomically, so an interrupted
/// run never leaves a summary that points at missing files.
public struct ReportWriter {
    public var input: ReportInput

    public init(_ input: ReportInput) { self.input = input }

    /// Renders everything: file name (relative to the output directory) → contents.
    public func render() -> [(name: String, contents: String)] {
        var charts: [(name: String, contents: String)] = []
        let accuracy = renderAccuracy(charts: &charts)
        let throughput = renderThroughput(charts: &charts)
        return charts + [
            ("conformance.md", renderConformance()),
            ("accuracy.md", accuracy),
            ("throughput.md", throughput),
            ("summary.md", renderSummary()),
        ]
    }

    /// Writes the report into `directory` (created if missing). Returns the paths written.
    @discardableResult
    public func write(to directory: String) throws(OutputError) -> [String] {
        try AtomicFile.ensureDirectory(directory)
        let files = render()
        if files.contains(where: { $0.name.hasPrefix("charts/") }) {
            try AtomicFile.ensureDirectory((directory as NSString).appendingPathComponent("charts"))
        }
        // All or nothing: every file is written aside before any replaces its old version, so
        // a failure (a target that became a directory, a full disk) leaves the old report whole.
        let targets = files.map { (data: Data($0.contents.utf8), path: (directory as NSString).appendingPathComponent($0.name)) }
        try AtomicFile.write(targets)
        return targets.map(\.path)
    }

    // MARK: - summary.md

    func renderSummary() -> String {
        let verdict = input.verdict ?? input.derivedVerdict
        var out = "# QuantCheck report\n\n"
        out += verdict.passed ? "## ✅ PASS\n\n" : "## ❌ FAIL\n\n"
        for f in verdict.failures { out += "- ❌ \(f)\n" }
        for n in verdict.notes { out += "- \(n)\n" }
        if !verdict.failures.isEmpty || !verdict.notes.isEmpty { out += "\n" }
        let groups = suiteGroups()
        if !groups.isEmpty {
            var t = MarkdownTable(["suite", "cases", "inputs covered", "mismatches", "verdict"], alignments: [.left, .right, .right, .right, .left])
            for (name, rs) in groups {
                let failed = rs.filter { !$0.verdictPassed }.count
                t.add([
                    "`\(name)`", String(rs.count), Fmt.count(rs.reduce(0) { $0 &+ $1.covered }),
                    Fmt.count(rs.reduce(0) { $0 &+ $1.mismatches }),
                    failed == 0 ? "✅ pass" : "❌ \(failed) of \(rs.count) cases failed",
                ])
            }
            out += t.render() + "\n"
        }
        let benches = input.benchmarks.filter { $0.group != MemoryCopy.group }
        if !benches.isEmpty {
            out += "Benchmarks: \(benches.count) cases measured"
            if let c = input.comparison {
                out += c.regressions.isEmpty ? ", no regression against the baseline" : ", **\(c.regressions.count) regression(s)** against the baseline"
            }
            out += " — see [throughput.md](throughput.md).\n\n"
        }
        out += "Details: [conformance](conformance.md) · [accuracy](accuracy.md) · [throughput](throughput.md)\n\n"
        out += runTable()
        return out
    }

    func runTable() -> String {
        var t = MarkdownTable(["input", "commit", "machine", "build", "date", "shard"])
        for (path, f) in input.files {
            let s = f.stamp
            t.add([
                "`\((path as NSString).lastPathComponent)`", "`\(String(s.gitCommit.prefix(12)))`",
                "\(s.cpuModel), \(s.coreCount) cores", "\(s.buildConfiguration), \(s.swiftToolchain)", s.date,
                f.shard.map { "\($0.index)/\($0.count)" } ?? "—",
            ])
        }
        return "### Runs\n\n" + t.render()
    }

    /// Suites in input order, each with its cases.
    func suiteGroups() -> [(String, [SuiteResult])] {
        var order: [String] = []
        var by: [String: [SuiteResult]] = [:]
        for s in input.suites {
            if by[s.suite] == nil { order.append(s.suite) }
            by[s.suite, default: []].append(s)
        }
        return order.map { ($0, by[$0]!) }
    }

    // MARK: - conformance.md

    func renderConformance() -> String {
        var out = "# Conformance\n\n"
        let groups = suiteGroups()
        guard !groups.isEmpty else { return out + "No suite results in the inputs.\n" }
        let all = input.suites
        let failed = all.filter { !$0.verdictPassed }
        out += failed.isEmpty
            ? "✅ All \(all.count) cases of \(groups.count) suites passed.\n\n"
            : "❌ \(failed.count) of \(all.count) cases failed.\n\n"
        for (name, rs) in groups {
            out += "## `\(name)`\n\n"
            if let matrix = caseMatrix(rs) { out += matrix + "\n" }
            var t = MarkdownTable(["case", "inputs covered", "expected", "mismatches", "verdict", "time"],
                                  alignments: [.left, .right, .right, .right, .left, .right])
            for r in rs {
                var verdict = r.verdictPassed ? "✅ pass" : "❌ fail"
                if r.passed, let e = r.expected, e != r.covered { verdict = "❌ incomplete" }
                t.add([r.caseName.isEmpty ? "—" : "`\(r.caseName)`", Fmt.count(r.covered),
                       r.expected.map(Fmt.count) ?? "—", Fmt.count(r.mismatches), verdict, Fmt.seconds(r.wallSeconds)])
            }
            out += t.render() + "\n"
            for r in rs where !r.counterexamples.isEmpty || r.parameters["error"] != nil {
                let label = r.caseName.isEmpty ? name : "\(name) \(r.caseName)"
                out += "<details><summary>❌ <code>\(html(label))</code>: first \(r.counterexamples.count) of \(r.mismatches) mismatches</summary>\n\n"
                if let err = r.parameters["error"] { out += "Error: `\(err)`\n\n" }
                if !r.counterexamples.isEmpty {
                    var c = MarkdownTable(["input bits", "input value", "expected", "got", "note"])
                    for x in r.counterexamples {
                        c.add(["`\(x.inputBits)`", "`\(x.inputValue)`", "`\(x.expectedCode)` (\(x.expectedValue))",
                               "`\(x.gotCode)` (\(x.gotValue))", x.note])
                    }
                    out += c.render()
                }
                out += "\n</details>\n\n"
            }
        }
        return out
    }

    /// For case names shaped `format/mode…` (e.g. `e4m3fn/sat/rne`), a format × mode matrix of
    /// pass marks; nil when the names are not shaped that way.
    func caseMatrix(_ rs: [SuiteResult]) -> String? {
        let split = rs.map { r -> (String, String)? in
            guard let slash = r.caseName.firstIndex(of: "/") else { return nil }
            return (String(r.caseName[..<slash]), String(r.caseName[r.caseName.index(after: slash)...]))
        }
        guard rs.count >= 4, split.allSatisfy({ $0 != nil }) else { return nil }
        var rows: [String] = [], cols: [String] = []
        var cell: [String: SuiteResult] = [:]
        for (r, s) in zip(rs, split.map { $0! }) {
            if !rows.contains(s.0) { rows.append(s.0) }
            if !cols.contains(s.1) { cols.append(s.1) }
            cell[s.0 + "\u{1F}" + s.1] = r
        }
        guard cols.count >= 2, cols.count <= 16 else { return nil }
        var t = MarkdownTable(["format"] + cols.map { "`\($0)`" }, alignments: [.left] + cols.map { _ in .center })
        for row in rows {
            t.add(["`\(row)`"] + cols.map { c in
                guard let r = cell[row + "\u{1F}" + c] else { return "—" }
                return r.verdictPassed ? "✅" : "❌ \(r.mismatches)"
            })
        }
        return t.render()
    }

    // MARK: - accuracy.md

    func renderAccuracy(charts: inout [(name: String, contents: String)]) -> String {
        var out = "# Accuracy\n\n"
        let groups = suiteGroups().filter { _, rs in rs.contains { !$0.metrics.isEmpty || !($0.series ?? []).isEmpty } }
        guard !groups.isEmpty else { return out + "No suite in the inputs reports metrics.\n" }
        for (name, rs) in groups {
            out += "## `\(name)`\n\n"
            out += metricTable(rs) + "\n"
            // Parameters shared by every case (seed, shapes…), once.
            if let shared = sharedParameters(rs), !shared.isEmpty {
                out += "Parameters: " + shared.map { "`\($0.key)=\($0.value)`" }.joined(separator: ", ") + "\n\n"
            }
            for chart in seriesCharts(suite: name, rs) {
                charts.append((chart.file, chart.svg))
                out += "![\(chart.title)](\(chart.file))\n\n"
            }
        }
        return out
    }

    func sharedParameters(_ rs: [SuiteResult]) -> [(key: String, value: String)]? {
        guard let first = rs.first else { return nil }
        return first.parameters.filter { k, v in rs.allSatisfy { $0.parameters[k] == v } && k != "error" }
            .sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// One row per case, one column per metric (the MSE-gain tables); a long table when the
    /// cases report different or very many metrics.
    func metricTable(_ rs: [SuiteResult]) -> String {
        var names: [String] = []
        for r in rs { for m in r.metrics where !names.contains(m.name) { names.append(m.name) } }
        let uniform = rs.allSatisfy { $0.metrics.map(\.name) == names }
        func cell(_ m: Metric) -> String {
            var s = Fmt.metricValue(m)
            if let b = m.bound, let ok = m.withinBound {
                let relation: String
                switch m.boundKind ?? .upper {
                case .upper: relation = ok ? "≤" : ">"
                case .lower: relation = ok ? "≥" : "<"
                case .magnitude: relation = ok ? "|·| ≤" : "|·| >"
                }
                s += " \(ok ? "✅" : "❌") \(relation) \(Fmt.sig(b))"
            }
            return s
        }
        if uniform && names.count <= 6 && !names.isEmpty {
            var t = MarkdownTable(["case"] + names, alignments: [.left] + names.map { _ in .right })
            for r in rs { t.add([r.caseName.isEmpty ? "—" : "`\(r.caseName)`"] + r.metrics.map(cell)) }
            // Bounded columns only: a metric without a bound is information, not a check.
            if rs.contains(where: { $0.metrics.contains { $0.bound != nil } }) {
                t.add(["**within bounds**"] + names.map { n in
                    let bounded = rs.compactMap { r in r.metrics.first { $0.name == n && $0.bound != nil } }
                    if bounded.isEmpty { return "—" }
                    return bounded.allSatisfy { $0.withinBound == true } ? "✅" : "❌"
                })
            }
            return t.render()
        }
        var t = MarkdownTable(["case", "metric", "value", "bound", "within bound"], alignments: [.left, .left, .right, .right, .center])
        for r in rs {
            for m in r.metrics {
                t.add([r.caseName.isEmpty ? "—" : "`\(r.caseName)`", m.name, Fmt.metricValue(m),
                       m.bound.map { (m.boundKind == .lower ? "≥ " : m.boundKind == .magnitude ? "|·| ≤ " : "≤ ") + Fmt.sig($0) } ?? "—",
                       m.withinBound.map { $0 ? "✅" : "❌" } ?? "—"])
            }
        }
        return t.render()
    }

    struct Chart {
        var title: String
        var file: String
        var svg: String
    }

    /// Charts of one suite: its `DataSeries` grouped by chart title, plus curves recovered from
    /// metrics named `series@axis=x` (e.g. `relative MSE@alpha=0.5`), one chart per axis.
    func seriesCharts(suite: String, _ rs: [SuiteResult]) -> [Chart] {
        var charts: [Chart] = []
        var titles: [String] = []
        var byTitle: [String: [(caseName: String, series: DataSeries)]] = [:]
        for r in rs {
            for d in r.series ?? [] {
                if byTitle[d.chart] == nil { titles.append(d.chart) }
                byTitle[d.chart, default: []].append((r.caseName, d))
            }
        }
        for title in titles {
            let group = byTitle[title]!
            let file = "charts/\(RunStamp.slug(suite))-\(RunStamp.slug(title)).svg"
            let caseNames = Set(group.map(\.caseName))
            func legend(_ e: (caseName: String, series: DataSeries)) -> String {
                caseNames.count > 1 && !e.caseName.isEmpty ? "\(e.caseName) \(e.series.name)" : e.series.name
            }
            let first = group[0].series
            if first.kind == .histogram, group.allSatisfy({ $0.series.kind == .histogram && $0.series.x == first.x }) {
                charts.append(Chart(title: title, file: file, svg: SVGChart.histogram(
                    title: title, xLabel: first.xLabel, yLabel: first.yLabel, edges: first.x,
                    series: group.map { (legend($0), $0.series.y) }, logY: first.logY ?? false)))
            } else {
                charts.append(Chart(title: title, file: file, svg: SVGChart.line(
                    title: title, xLabel: first.xLabel, yLabel: first.yLabel,
                    series: group.map { e in SVGChart.Series(name: legend(e), points: zip(e.series.x, e.series.y).map { ($0, $1) }) },
                    logY: first.logY ?? false)))
            }
        }
        // Metric-name convention.
        var axes: [String] = []
        var curves: [String: [(name: String, points: [(x: Double, y: Double)])]] = [:]
        var quantities: [String: [String]] = [:]
        for r in rs {
            for m in r.metrics {
                guard let at = m.name.range(of: "@"), let eq = m.name[at.upperBound...].firstIndex(of: "="),
                      let x = Double(m.name[m.name.index(after: eq)...]) else { continue }
                let axis = String(m.name[at.upperBound..<eq])
                let quantity = String(m.name[..<at.lowerBound])
                let series = quantity + (rs.count > 1 && !r.caseName.isEmpty ? " (\(r.caseName))" : "")
                if curves[axis] == nil { axes.append(axis) }
                if !quantities[axis, default: []].contains(quantity) { quantities[axis, default: []].append(quantity) }
                var list = curves[axis, default: []]
                if let i = list.firstIndex(where: { $0.name == series }) { list[i].points.append((x, m.value)) }
                else { list.append((series, [(x, m.value)])) }
                curves[axis] = list
            }
        }
        for axis in axes {
            let list = curves[axis]!
            let ys = list.flatMap(\.points).map(\.y)
            let positive = ys.allSatisfy { $0 > 0 }
            let logY = positive && (ys.max()! / ys.min()! > 100)
            let title = "\(suite): \(quantities[axis]!.joined(separator: ", ")) against \(axis)"
            charts.append(Chart(title: title, file: "charts/\(RunStamp.slug(suite))-\(RunStamp.slug(axis))-curve.svg", svg: SVGChart.line(
                title: title, xLabel: axis, yLabel: quantities[axis]!.joined(separator: ", "),
                series: list.map { SVGChart.Series(name: $0.name, points: $0.points) }, logY: logY)))
        }
        return charts
    }

    // MARK: - throughput.md

    func renderThroughput(charts: inout [(name: String, contents: String)]) -> String {
        var out = "# Throughput\n\n"
        let all = input.benchmarks
        if all.isEmpty {
            out += "No benchmarks in the inputs.\n\n"
        } else {
            if let debug = input.files.first(where: { !$0.file.benchmarks.isEmpty && $0.file.stamp.buildConfiguration == "debug" }) {
                out += "> ⚠️ `\(debug.path)` was measured in a **debug** build: timings are not representative.\n\n"
            }
            out += Self.throughputTable(all) + "\n"
            var groups: [String] = []
            for b in all where b.group != MemoryCopy.group && !groups.contains(b.group) { groups.append(b.group) }
            for g in groups {
                let bs = all.filter { $0.group == g && $0.rooflineFraction != nil }
                guard !bs.isEmpty else { continue }
                let file = "charts/throughput-\(RunStamp.slug(g)).svg"
                let prefix = g + "/"
                charts.append((file, SVGChart.bars(
                    title: "\(g): fraction of memcpy bandwidth", xLabel: "bytes/s ÷ memcpy bytes/s (same size, threads)",
                    bars: bs.map { SVGChart.Bar(label: $0.name.hasPrefix(prefix) ? String($0.name.dropFirst(prefix.count)) : $0.name,
                                                value: $0.rooflineFraction!, annotation: Fmt.si($0.bytesPerSecond, unit: "B/s")) },
                    referenceX: (1, "memcpy"))))
                out += "![\(g) throughput](\(file))\n\n"
            }
        }
        if let c = input.comparison { out += c.markdown() + "\n" }
        out += renderHistory(charts: &charts)
        return out
    }

    /// The benchmark table (printed by `bench` too), with a one-line legend.
    public static func throughputTable(_ all: [BenchResult]) -> String {
        let out = "Roofline = the case's bytes/s ÷ `memcpy` bytes/s of the same size class and thread count, measured in the same run (bytes = read + written). Sizes: cache = 16 Ki elements (64 KiB of Float32), dram = 16 Mi elements (64 MiB of Float32). MAD relative to the median.\n\n"
        var t = MarkdownTable(
            ["benchmark", "size", "threads", "median", "min – max", "MAD", "elements/s", "bytes/s", "roofline"],
            alignments: [.left, .left, .right, .right, .right, .right, .right, .right, .right])
        // The instruction column only when counted (`bench --instructions`).
        let counted = all.contains { $0.instructions != nil }
        if counted {
            t = MarkdownTable(
                ["benchmark", "size", "threads", "median", "min – max", "MAD", "elements/s", "bytes/s", "roofline", "instructions"],
                alignments: [.left, .left, .right, .right, .right, .right, .right, .right, .right, .right])
        }
        for b in all {
            var row = ["`\(b.name)`", b.sizeClass, String(b.threads), Fmt.seconds(b.medianSeconds),
                       "\(Fmt.seconds(b.minSeconds)) – \(Fmt.seconds(b.maxSeconds))",
                       "±" + Fmt.percent(b.relativeMAD), Fmt.si(b.elementsPerSecond, unit: "/s"),
                       Fmt.si(b.bytesPerSecond, unit: "B/s"), b.rooflineFraction.map(Fmt.percent) ?? "—"]
            if counted { row.append(b.instructions.map { String($0) } ?? "—") }
            t.add(row)
        }
        let note = counted ? "\nInstructions = Ir per iteration under Callgrind (single-threaded cases only; deterministic).\n" : ""
        return out + t.render() + note
    }

    /// Trend charts from the recorded history: per machine and benchmark group, one line per
    /// (size, threads) giving the geometric mean of elements/s over the benchmarks present in
    /// every record, so adding a case later does not bend the line.
    func renderHistory(charts: inout [(name: String, contents: String)]) -> String {
        var out = ""
        for w in input.historyWarnings { out += "> ⚠️ \(w)\n\n" }
        let entries = input.history
        guard !entries.isEmpty else { return out }
        out += "## History\n\n"
        var machines: [String] = []
        for e in entries where !machines.contains(e.file.stamp.machine) { machines.append(e.file.stamp.machine) }
        for m in machines {
            let runs = entries.filter { $0.file.stamp.machine == m }
            guard runs.count >= 2 else {
                out += "`\(m)`: \(runs.count) recorded run; trends need two.\n\n"
                continue
            }
            let labels = runs.map { String($0.file.stamp.gitCommit.prefix(7)) }
            var groups: [String] = []
            for r in runs { for b in r.file.benchmarks where b.group != MemoryCopy.group && !groups.contains(b.group) { groups.append(b.group) } }
            for g in groups {
                var seriesKeys: [String] = []
                for r in runs { for b in r.file.benchmarks where b.group == g {
                    let k = "\(b.sizeClass) t\(b.threads)"
                    if !seriesKeys.contains(k) { seriesKeys.append(k) }
                } }
                var series: [SVGChart.Series] = []
                for k in seriesKeys {
                    let sets = runs.map { r in Set(r.file.benchmarks.filter { $0.group == g && "\($0.sizeClass) t\($0.threads)" == k }.map(\.name)) }
                    let common = sets.dropFirst().reduce(sets[0]) { $0.intersection($1) }
                    guard !common.isEmpty else { continue }
                    let points = runs.enumerated().map { (i, r) -> (x: Double, y: Double) in
                        let logs = r.file.benchmarks.filter { common.contains($0.name) }.map { Foundation.log($0.elementsPerSecond) }
                        return (Double(i), exp(logs.reduce(0, +) / Double(logs.count)))
                    }
                    series.append(SVGChart.Series(name: "\(k) (\(common.count))", points: points))
                }
                guard !series.isEmpty else { continue }
                let file = "charts/history-\(RunStamp.slug(m))-\(RunStamp.slug(g)).svg"
                charts.append((file, SVGChart.line(
                    title: "\(g) on \(m)", xLabel: "commit (oldest → newest)", yLabel: "elements/s, geometric mean",
                    series: series, logY: false, xTickLabels: labels)))
                out += "![\(g) history on \(m)](\(file))\n\n"
            }
        }
        return out
    }

    func html(_ s: String) -> String { SVGChart.escape(s) }
}
