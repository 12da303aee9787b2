import Conformance
import Foundation
import Testing
@testable import Harness
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Checks every GitHub table in `markdown`: a header row, a delimiter row with the same number
/// of cells made of `---` (optionally with colons), and body rows with that many cells.
/// Escaped pipes `\|` do not split cells. Returns one line per problem.
func markdownTableProblems(_ markdown: String) -> [String] {
    func cells(_ line: Substring) -> [String]? {
        let t = line.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("|"), t.hasSuffix("|"), t.count >= 2 else { return nil }
        var out: [String] = [], cur = "", escaped = false
        for ch in t.dropFirst().dropLast() {
            if escaped { cur.append(ch); escaped = false; continue }
            if ch == "\\" { escaped = true; cur.append(ch); continue }
            if ch == "|" { out.append(cur); cur = "" } else { cur.append(ch) }
        }
        out.append(cur)
        return out.map { $0.trimmingCharacters(in: .whitespaces) }
    }
    var problems: [String] = []
    let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false)
    var i = 0
    while i < lines.count {
        guard let header = cells(lines[i]) else { i += 1; continue }
        let start = i
        guard i + 1 < lines.count, let rule = cells(lines[i + 1]) else {
            problems.append("line \(start + 1): table without a delimiter row")
            i += 1
            continue
        }
        if rule.count != header.count { problems.append("line \(start + 2): delimiter has \(rule.count) cells, header \(header.count)") }
        if !rule.allSatisfy({ $0.range(of: "^:?-{3,}:?$", options: .regularExpression) != nil }) {
            problems.append("line \(start + 2): bad delimiter row")
        }
        i += 2
        while i < lines.count, let row = cells(lines[i]) {
            if row.count != header.count { problems.append("line \(i + 1): \(row.count) cells, header has \(header.count)") }
            i += 1
        }
        if i < lines.count && !lines[i].trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append("line \(i + 1): table not followed by a blank line")
        }
    }
    return problems
}

/// Parses `svg` as XML; returns the parser's error, or nil when well-formed with an `svg` root.
func svgProblem(_ svg: String) -> String? {
    final class Delegate: NSObject, XMLParserDelegate {
        var root: String?
        var error: Error?
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { if error == nil { error = parseError } }
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if root == nil { root = name }
        }
    }
    let parser = XMLParser(data: Data(svg.utf8))
    let d = Delegate()
    parser.delegate = d
    // FoundationXML's parse() can return true after a recoverable error: check both.
    let ok = parser.parse()
    if !ok || parser.parserError != nil || d.error != nil {
        return "not well-formed XML: \((d.error ?? parser.parserError).map { "\($0)" } ?? "?")"
    }
    return d.root == "svg" ? nil : "root element is \(d.root ?? "none")"
}

@Suite("Markdown and SVG reports")
struct ReportTests {
    func verifyFile() -> ResultsFile {
        var suites: [SuiteResult] = []
        for f in ["e4m3fn", "e5m2"] {
            for mode in ["sat/rne", "nonsat/rne", "sat/rtz"] {
                suites.append(sampleSuite("exhaustive-f32", caseName: "\(f)/\(mode)", covered: 1 << 32,
                                          mismatches: f == "e5m2" && mode == "sat/rtz" ? 12 : 0,
                                          counterexamples: f == "e5m2" && mode == "sat/rtz" ? 3 : 0))
            }
        }
        // A case that claims to pass but covered less than it expected.
        var incomplete = sampleSuite("exhaustive-f16", caseName: "e4m3fn", covered: 65000)
        incomplete.expected = 65536
        suites.append(incomplete)
        // Accuracy suites: metrics with bounds, an α curve via DataSeries, a histogram,
        // and the metric-name convention.
        let alphas = stride(from: 0.0, through: 1.0, by: 0.1).map { $0 }
        suites.append(SuiteResult(
            suite: "alpha-sweep", caseName: "f=20", passed: true, covered: 11, mismatches: 0,
            metrics: [Metric(name: "best alpha", value: 0.5)], parameters: ["seed": "7", "shape": "512x1024"],
            series: [
                DataSeries(chart: "relative MSE vs alpha", name: "per-tensor A8", xLabel: "α", yLabel: "relative MSE",
                           x: alphas, y: alphas.map { 1e-3 * (1 + 30 * ($0 - 0.5) * ($0 - 0.5)) }, logY: true),
                DataSeries(chart: "relative MSE vs alpha", name: "per-token A8", xLabel: "α", yLabel: "relative MSE",
                           x: alphas, y: alphas.map { 5e-4 * (1 + 10 * ($0 - 0.6) * ($0 - 0.6)) }, logY: true),
                DataSeries(chart: "error histogram", name: "|error| <ulp>", kind: .histogram, xLabel: "ulp", yLabel: "count",
                           x: [0, 0.125, 0.25, 0.375, 0.5], y: [400, 300, 200, 100]),
            ]))
        suites.append(SuiteResult(
            suite: "mse-gain", caseName: "per-tensor", passed: true, covered: 3, mismatches: 0,
            metrics: [Metric(name: "gain@f=1", value: 1.2, bound: nil), Metric(name: "gain@f=20", value: 18, bound: 10, boundKind: .lower),
                      Metric(name: "gain@f=100", value: 48, bound: 50, boundKind: .lower)]))
        suites.append(SuiteResult(
            suite: "smoothing-identity", caseName: "alpha=0.5", passed: false, covered: 1, mismatches: 1,
            metrics: [Metric(name: "max rel error", value: 3e-6, bound: 1e-6), Metric(name: "mean | rel error", value: 1e-7, bound: 1e-6)]))
        return ResultsFile(stamp: fixedStamp(), suites: suites)
    }

    func benchFile(commit: String = "0123456789abcdef0123456789abcdef01234567", scale: Double = 1, date: String = "2026-11-23T09:00:00Z") -> ResultsFile {
        var s = fixedStamp(commit: commit)
        s.date = date
        let bs = [
            sampleBench("memcpy/dram/t1", median: 0.01 * 1),
            sampleBench("codec.encode/e4m3fn/dram/t1", median: 0.02 * scale),
            sampleBench("codec.encode/e5m2/dram/t1", median: 0.03 * scale),
            sampleBench("codec.decode/e4m3fn/dram/t1", median: 0.015 * scale),
        ].map { b -> BenchResult in
            var b = b
            b.group = b.name.hasPrefix("memcpy") ? "memcpy" : String(b.name.split(separator: "/")[0])
            return b
        }
        return ResultsFile(stamp: s, benchmarks: BenchRunner.attachRoofline(bs))
    }

    @Test func rendersEveryFileWithValidTablesAndSVG() throws {
        let input = ReportInput(files: [("verify.json", verifyFile()), ("bench.json", benchFile())])
        try input.validate()
        let files = ReportWriter(input).render()
        let names = files.map(\.name)
        #expect(names.suffix(4) == ["conformance.md", "accuracy.md", "throughput.md", "summary.md"])
        for f in files {
            if f.name.hasSuffix(".md") {
                #expect(markdownTableProblems(f.contents).isEmpty, "\(f.name): \(markdownTableProblems(f.contents))")
            } else {
                #expect(f.name.hasPrefix("charts/") && f.name.hasSuffix(".svg"))
                #expect(svgProblem(f.contents) == nil, "\(f.name): \(svgProblem(f.contents) ?? "")")
            }
        }
        // Every linked chart exists.
        let md = files.filter { $0.name.hasSuffix(".md") }.map(\.contents).joined()
        let regex = try NSRegularExpression(pattern: #"\]\((charts/[^)]+\.svg)\)"#)
        let links = regex.matches(in: md, range: NSRange(md.startIndex..., in: md)).map { String(md[Range($0.range(at: 1), in: md)!]) }
        #expect(links.count >= 5)
        for l in links { #expect(names.contains(l), "missing \(l)") }
        #expect(Set(names.filter { $0.hasPrefix("charts/") }) == Set(links))
    }

    @Test func summaryLeadsWithTheVerdictThenOneLinePerSuite() {
        let files = ReportWriter(ReportInput(files: [("verify.json", verifyFile())])).render()
        let summary = files.first { $0.name == "summary.md" }!.contents
        let lines = summary.split(separator: "\n")
        #expect(lines[1] == "## ❌ FAIL")
        #expect(summary.contains("- ❌ exhaustive-f32 e5m2/sat/rtz: 12 mismatches"))
        #expect(summary.contains("- ❌ exhaustive-f16 e4m3fn: covered 65000 of 65536 inputs"))
        let suiteRows = lines.filter { $0.hasPrefix("| `") && !$0.contains(".json") }
        #expect(suiteRows.map { $0.split(separator: "`")[1] } == ["exhaustive-f32", "exhaustive-f16", "alpha-sweep", "mse-gain", "smoothing-identity"])
        let passing = ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()])
        let ok = ReportWriter(ReportInput(files: [("v.json", passing)])).render().first { $0.name == "summary.md" }!.contents
        #expect(ok.split(separator: "\n")[1] == "## ✅ PASS")
    }

    @Test func conformanceShowsMatrixAndCounterexamples() {
        let c = ReportWriter(ReportInput(files: [("verify.json", verifyFile())])).renderConformance()
        #expect(c.contains("| format | `sat/rne` | `nonsat/rne` | `sat/rtz` |"))
        #expect(c.contains("| `e5m2` | ✅ | ✅ | ❌ 12 |"))
        #expect(c.contains("first 3 of 12 mismatches"))
        #expect(c.contains("❌ incomplete"))
        #expect(c.contains("4\u{202F}294\u{202F}967\u{202F}296"))
    }

    @Test func accuracyTablesAndCharts() {
        var charts: [(name: String, contents: String)] = []
        let a = ReportWriter(ReportInput(files: [("verify.json", verifyFile())])).renderAccuracy(charts: &charts)
        #expect(a.contains("| `alpha=0.5` | 3.00e-06 ❌ > 1.00e-06 | 1.00e-07 ✅ ≤ 1.00e-06 |"))
        #expect(a.contains("mean \\| rel error"))  // escaped pipe in a header
        #expect(a.contains("| `per-tensor` | 1.20 | 18.0 ✅ ≥ 10.0 | 48.0 ❌ < 50.0 |"))
        #expect(a.contains("| **within bounds** | — | ✅ | ❌ |"))
        #expect(charts.map(\.name) == [
            "charts/alpha-sweep-relative-mse-vs-alpha.svg", "charts/alpha-sweep-error-histogram.svg",
            "charts/mse-gain-f-curve.svg",
        ])
        #expect(a.contains("Parameters: `seed=7`, `shape=512x1024`"))
        let curve = charts[0].contents
        #expect(curve.contains("<polyline") && curve.contains("per-token A8") && curve.contains("relative MSE (log)"))
        #expect(charts[1].contents.components(separatedBy: "<rect").count - 1 >= 4 + 1)
    }

    @Test func throughputTableHasRooflineAndBars() {
        var charts: [(name: String, contents: String)] = []
        let t = ReportWriter(ReportInput(files: [("bench.json", benchFile())])).renderThroughput(charts: &charts)
        #expect(t.contains("| `codec.encode/e4m3fn/dram/t1` | dram | 1 | 20.0 ms |"))
        // Same bytes per iteration as memcpy and twice the time: half the bandwidth.
        #expect(t.contains("| 50% |"))
        #expect(charts.map(\.name) == ["charts/throughput-codec-encode.svg", "charts/throughput-codec-decode.svg"])
        #expect(charts[0].contents.contains("stroke-dasharray"))
    }

    @Test func historyTrends() throws {
        let dir = makeTempDirectory()
        try BenchHistory.record(benchFile(commit: "aaaaaaa1", scale: 1, date: "2026-11-20T00:00:00Z"), directory: dir)
        try BenchHistory.record(benchFile(commit: "bbbbbbb2", scale: 0.8, date: "2026-11-21T00:00:00Z"), directory: dir)
        try BenchHistory.record(benchFile(commit: "ccccccc3", scale: 0.5, date: "2026-11-22T00:00:00Z"), directory: dir)
        try Data("{\"format\": \"quantcheck-results\", \"schemaVersion\": 99}".utf8)
            .write(to: URL(fileURLWithPath: dir + "/amd-epyc-2c/zzz.json"))
        let h = BenchHistory.load(directory: dir)
        #expect(h.entries.map(\.file.stamp.gitCommit) == ["aaaaaaa1", "bbbbbbb2", "ccccccc3"])
        #expect(h.warnings.count == 1 && h.warnings[0].contains("schema version 99"))
        var charts: [(name: String, contents: String)] = []
        let md = ReportWriter(ReportInput(files: [("bench.json", benchFile())], history: h.entries, historyWarnings: h.warnings))
            .renderThroughput(charts: &charts)
        #expect(md.contains("## History"))
        #expect(md.contains("⚠️ skipped history file"))
        let history = charts.filter { $0.name.hasPrefix("charts/history-") }
        #expect(history.map(\.name) == ["charts/history-amd-epyc-2c-codec-encode.svg", "charts/history-amd-epyc-2c-codec-decode.svg"])
        #expect(history[0].contents.contains(">aaaaaaa<") && history[0].contents.contains(">ccccccc<"))
        for c in history { #expect(svgProblem(c.contents) == nil) }
    }

    @Test func historyRecordErrors() throws {
        let dir = makeTempDirectory()
        var f = benchFile()
        f.stamp.gitCommit = "unknown"
        #expect(throws: HistoryError.unknownCommit) { try BenchHistory.record(f, directory: dir) }
        #expect(throws: HistoryError.nothingToRecord) { try BenchHistory.record(verifyFile(), directory: dir) }
        let file = dir + "/file"
        try Data().write(to: URL(fileURLWithPath: file))
        #expect(throws: OutputError.notADirectory(file)) { try BenchHistory.record(benchFile(), directory: file) }
        // Recording a commit again replaces its entry.
        let p1 = try BenchHistory.record(benchFile(), directory: dir)
        let p2 = try BenchHistory.record(benchFile(scale: 2), directory: dir)
        #expect(p1 == p2 && BenchHistory.load(directory: dir).entries.count == 1)
    }

    @Test func writesFilesAtomicallyIntoADirectory() throws {
        let dir = makeTempDirectory() + "/out/nested"
        let written = try ReportWriter(ReportInput(files: [("verify.json", verifyFile()), ("bench.json", benchFile())])).write(to: dir)
        #expect(written.last!.hasSuffix("/summary.md"))
        for p in written { #expect(FileManager.default.fileExists(atPath: p)) }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
        let file = makeTempDirectory() + "/f"
        try Data().write(to: URL(fileURLWithPath: file))
        #expect(throws: OutputError.notADirectory(file)) { try ReportWriter(ReportInput(files: [("v", verifyFile())])).write(to: file) }
    }

    @Test func ambiguousInputsAreRefused() throws {
        #expect(throws: ReportError.noInputs) { try ReportInput(files: []).validate() }
        #expect(throws: ReportError.duplicateSuite("exhaustive-f32 e4m3fn/sat/rne", "b.json", "a.json")) {
            try ReportInput(files: [("a.json", verifyFile()), ("b.json", verifyFile())]).validate()
        }
        #expect(throws: ReportError.duplicateBenchmark("memcpy/dram/t1", "b.json", "a.json")) {
            try ReportInput(files: [("a.json", benchFile()), ("b.json", benchFile())]).validate()
        }
    }

    @Test func markdownTableEscapesAndChecker() {
        var t = MarkdownTable(["a", "b"])
        t.add(["x | y", "line\nbreak"])
        let r = t.render()
        #expect(r == "| a | b |\n| --- | --- |\n| x \\| y | line break |\n")
        #expect(markdownTableProblems(r).isEmpty)
        // Negative controls: the checker catches broken tables.
        #expect(!markdownTableProblems("| a | b |\n| --- |\n| 1 | 2 |\n").isEmpty)
        #expect(!markdownTableProblems("| a | b |\n| --- | --- |\n| 1 | 2 | 3 |\n").isEmpty)
        #expect(!markdownTableProblems("| a | b |\n| 1 | 2 |\n").isEmpty)
    }

    @Test func svgEscapingAndChecker() {
        let svg = SVGChart.bars(title: "a < b & \"c\"", xLabel: "x", bars: [SVGChart.Bar(label: "<tag>", value: 1)])
        #expect(svgProblem(svg) == nil)
        #expect(svg.contains("a &lt; b &amp; &quot;c&quot;"))
        // Negative controls: the checker catches malformed XML.
        #expect(svgProblem("<svg><rect></svg>") != nil)
        #expect(svgProblem("<svg><rect>") != nil)
        #expect(svgProblem("<svg>a & b</svg>") != nil)
        #expect(svgProblem("<html></html>") != nil)
        #expect(svgProblem(SVGChart.line(title: "empty", xLabel: "x", yLabel: "y", series: [])) == nil)
        #expect(svgProblem(SVGChart.histogram(title: "h", xLabel: "x", yLabel: "y", edges: [0], series: [])) == nil)
    }

    @Test func chartOutputIsDeterministic() {
        let a = ReportWriter(ReportInput(files: [("verify.json", verifyFile()), ("bench.json", benchFile())])).render()
        let b = ReportWriter(ReportInput(files: [("verify.json", verifyFile()), ("bench.json", benchFile())])).render()
        #expect(a.map(\.contents) == b.map(\.contents))
    }

    @Test func metricBounds() {
        #expect(Metric(name: "e", value: 1e-7, bound: 1e-6).withinBound == true)
        #expect(Metric(name: "e", value: 2e-6, bound: 1e-6).withinBound == false)
        #expect(Metric(name: "e", value: .nan, bound: 1e-6).withinBound == false)
        #expect(Metric(name: "g", value: 9, bound: 10, boundKind: .lower).withinBound == false)
        #expect(Metric(name: "b", value: -0.5, bound: 0.4, boundKind: .magnitude).withinBound == false)
        #expect(Metric(name: "b", value: -0.3, bound: 0.4, boundKind: .magnitude).withinBound == true)
        #expect(Metric(name: "x", value: 3).withinBound == nil)
        // A suite that says it passed with a metric outside its bound fails the verdict.
        var r = sampleSuite()
        r.metrics = [Metric(name: "max rel error", value: 2e-6, bound: 1e-6)]
        #expect(r.passed && !r.verdictPassed)
        #expect(failureReason(r) == "max rel error = 2.00e-06 outside its bound 1.00e-06")
    }

    @Test func numberFormatting() {
        #expect(Fmt.seconds(1.5e-9) == "1.50 ns")
        #expect(Fmt.seconds(0.0205) == "20.5 ms")
        #expect(Fmt.si(1.234e9, unit: "B/s") == "1.23 GB/s")
        #expect(Fmt.sig(3e-6) == "3.00e-06")
        #expect(Fmt.sig(0.5) == "0.500")
        #expect(Fmt.percentChange(0.052) == "+5.2%")
        #expect(Fmt.percentChange(-0.5) == "−50%")
        #expect(Fmt.count(1234567) == "1\u{202F}234\u{202F}567")
    }
}
