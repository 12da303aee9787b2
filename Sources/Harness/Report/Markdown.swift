import Foundation
import Conformance

/// A GitHub-flavoured Markdown table. Cells are escaped (`|` → `\|`, newlines → spaces) so a
/// value can never break the table; every row has exactly the header's number of cells.
public struct MarkdownTable: Sendable {
    public enum Alignment: Sendable { case left, right, center }

    public var headers: [String]
    public var alignments: [Alignment]
    public var rows: [[String]] = []

    public init(_ headers: [String], alignments: [Alignment]? = nil) {
        self.headers = headers
        self.alignments = alignments ?? headers.map { _ in .left }
        precondition(self.alignments.count == headers.count, "one alignment per column")
    }

    public mutating func add(_ cells: [String]) {
        precondition(cells.count == headers.count, "row has \(cells.count) cells, table has \(headers.count) columns")
        rows.append(cells)
    }

    public static func escape(_ cell: String) -> String {
        let flat = cell.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\r", with: " ")
        return flat.replacingOccurrences(of: "|", with: "\\|").trimmingCharacters(in: .whitespaces)
    }

    public func render() -> String {
        func line(_ cells: [String]) -> String { "| " + cells.map(Self.escape).joined(separator: " | ") + " |" }
        let rule = "|" + alignments.map { a -> String in
            switch a {
            case .left: return " --- "
            case .right: return " ---: "
            case .center: return " :---: "
            }
        }.joined(separator: "|") + "|"
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}

/// Number formatting shared by the reports: fixed significant digits, SI prefixes, no locale.
public enum Fmt {
    /// `12.3 ns`, `4.56 ms`, `1.20 s`.
    public static func seconds(_ s: Double) -> String {
        guard s.isFinite else { return "—" }
        let a = abs(s)
        if a == 0 { return "0 s" }
        if a < 1e-6 { return sig(s * 1e9) + " ns" }
        if a < 1e-3 { return sig(s * 1e6) + " µs" }
        if a < 1 { return sig(s * 1e3) + " ms" }
        return sig(s) + " s"
    }

    /// SI prefix with a unit: `1.23 G` + unit.
    public static func si(_ v: Double, unit: String) -> String {
        guard v.isFinite else { return "—" }
        let prefixes = ["", "k", "M", "G", "T", "P"]
        var x = v
        var i = 0
        while abs(x) >= 1000 && i < prefixes.count - 1 { x /= 1000; i += 1 }
        return sig(x) + " " + prefixes[i] + unit
    }

    /// Three significant digits without exponent for magnitudes in [0.001, 1e6), else `1.23e-7`.
    /// A metric's value with its unit. Counted quantities (a unit and an integral value, e.g.
    /// "41 inputs") print as integers, not "41.0 inputs".
    public static func metricValue(_ m: Metric) -> String {
        guard let unit = m.unit else { return sig(m.value) }
        if m.value.isFinite && m.value == m.value.rounded() && abs(m.value) < 1e15 {
            return "\(Int64(m.value)) \(unit)"
        }
        return sig(m.value) + " " + unit
    }

    public static func sig(_ v: Double, digits: Int = 3) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "∞" : "−∞") }
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e6 || a < 1e-3 { return String(format: "%.\(digits - 1)e", v) }
        let decimals = max(0, digits - 1 - Int(floor(log10(a))))
        return String(format: "%.\(decimals)f", v)
    }

    /// Signed percent: `+5.2%`, `−12%`.
    public static func percentChange(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "—" }
        let p = fraction * 100
        let body = abs(p) >= 10 ? String(format: "%.0f", abs(p)) : String(format: "%.1f", abs(p))
        return (p > 0 ? "+" : p < 0 ? "−" : "±") + body + "%"
    }

    /// `87%` of something.
    public static func percent(_ fraction: Double) -> String {
        guard fraction.isFinite else { return "—" }
        return String(format: "%.0f%%", fraction * 100)
    }

    /// Integer with thin grouping: `4 294 967 296`.
    public static func count(_ n: UInt64) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out.append("\u{202F}") }
            out.append(ch)
        }
        return out
    }
}
