import Foundation

/// Self-contained SVG charts (no scripts, no external fonts or stylesheets) that GitHub renders
/// inline from Markdown image links. Output is deterministic: fixed size, fixed number
/// formatting, series in the order given.
public enum SVGChart {
    /// Paul Tol's "bright" qualitative scheme: distinguishable with common colour-vision
    /// deficiencies.
    public static let palette = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]

    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public struct Bar: Sendable {
        public var label: String
        public var value: Double
        /// Text drawn at the end of the bar (e.g. the absolute throughput).
        public var annotation: String
        public init(label: String, value: Double, annotation: String = "") {
            self.label = label
            self.value = value
            self.annotation = annotation
        }
    }

    // MARK: - Line chart

    /// Lines with point markers. `xTickLabels` replaces numeric x ticks by labels at integer
    /// positions (history charts: commits). `referenceY` draws a dashed horizontal line.
    public static func line(
        title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false,
        xTickLabels: [String]? = nil, referenceY: (value: Double, label: String)? = nil
    ) -> String {
        let w = 720.0, h = 400.0
        let left = 80.0, right = 180.0, top = 40.0, bottom = 60.0
        let pw = w - left - right, ph = h - top - bottom
        let pts = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        var svg = header(width: w, height: h, title: title)
        guard !pts.isEmpty else {
            svg += text(w / 2, h / 2, "no data", anchor: "middle")
            return svg + "</svg>\n"
        }
        var ys = pts.map(\.y)
        if let r = referenceY, r.value.isFinite, !logY || r.value > 0 { ys.append(r.value) }
        let xr = Axis(values: pts.map(\.x), log: false, integerOnly: xTickLabels != nil)
        let yr = Axis(values: ys, log: logY, integerOnly: false)
        func px(_ x: Double) -> Double { left + xr.fraction(x) * pw }
        func py(_ y: Double) -> Double { top + (1 - yr.fraction(y)) * ph }
        svg += frame(left: left, top: top, width: pw, height: ph)
        for t in yr.ticks {
            let y = py(t)
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + pw))\" y2=\"\(n(y))\" stroke=\"#e5e5e5\"/>\n"
            svg += text(left - 6, y + 4, yr.label(t), anchor: "end")
        }
        if let labels = xTickLabels {
            let step = max(1, Int((Double(labels.count) / 8).rounded(.up)))
            for (i, l) in labels.enumerated() where i % step == 0 {
                svg += text(px(Double(i)), top + ph + 16, l, anchor: "middle", size: 10)
            }
        } else {
            for t in xr.ticks {
                let x = px(t)
                svg += "<line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(top + ph))\" stroke=\"#f0f0f0\"/>\n"
                svg += text(x, top + ph + 16, xr.label(t), anchor: "middle")
            }
        }
        if let r = referenceY, r.value.isFinite, !logY || r.value > 0 {
            let y = py(r.value)
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + pw))\" y2=\"\(n(y))\" stroke=\"#444\" stroke-dasharray=\"6 4\"/>\n"
            svg += text(left + pw - 4, y - 4, r.label, anchor: "end", size: 10)
        }
        for (i, s) in series.enumerated() {
            let color = palette[i % palette.count]
            let valid = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }.sorted { $0.x < $1.x }
            if valid.count > 1 {
                let path = valid.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            }
            for p in valid {
                svg += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"3\" fill=\"\(color)\"><title>\(escape(s.name)): (\(Fmt.sig(p.x)), \(Fmt.sig(p.y)))</title></circle>\n"
            }
            let ly = top + 14 + Double(i) * 18
            svg += "<rect x=\"\(n(left + pw + 14))\" y=\"\(n(ly - 9))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>\n"
            svg += text(left + pw + 32, ly + 1, s.name, anchor: "start", size: 11)
        }
        svg += text(left + pw / 2, h - 14, xLabel, anchor: "middle")
        svg += "<text x=\"18\" y=\"\(n(top + ph / 2))\" transform=\"rotate(-90 18 \(n(top + ph / 2)))\" text-anchor=\"middle\" font-size=\"12\">\(escape(yLabel + (logY ? " (log)" : "")))</text>\n"
        return svg + "</svg>\n"
    }

    // MARK: - Histogram (vertical bars over bin edges)

    /// Bars for bins `[edges[i], edges[i+1])` with heights `counts[i]`; several series are
    /// drawn side by side within each bin.
    public static func histogram(
        title: String, xLabel: String, yLabel: String, edges: [Double], series: [(name: String, counts: [Double])],
        logY: Bool = false
    ) -> String {
        let w = 720.0, h = 400.0
        let left = 80.0, right = 180.0, top = 40.0, bottom = 60.0
        let pw = w - left - right, ph = h - top - bottom
        var svg = header(width: w, height: h, title: title)
        let bins = edges.count - 1
        let values = series.flatMap(\.counts).filter { $0.isFinite && (!logY || $0 > 0) }
        guard bins >= 1, !values.isEmpty, series.allSatisfy({ $0.counts.count == bins }) else {
            svg += text(w / 2, h / 2, "no data", anchor: "middle")
            return svg + "</svg>\n"
        }
        let yr = Axis(values: values + (logY ? [] : [0]), log: logY, integerOnly: false)
        func py(_ y: Double) -> Double { top + (1 - yr.fraction(y)) * ph }
        svg += frame(left: left, top: top, width: pw, height: ph)
        for t in yr.ticks {
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(left + pw))\" y2=\"\(n(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            svg += text(left - 6, py(t) + 4, yr.label(t), anchor: "end")
        }
        let binW = pw / Double(bins)
        let barW = binW * 0.8 / Double(max(series.count, 1))
        let base = logY ? top + ph : py(0)
        for (si, s) in series.enumerated() {
            let color = palette[si % palette.count]
            for (b, c) in s.counts.enumerated() where c.isFinite && (!logY || c > 0) {
                let x = left + Double(b) * binW + binW * 0.1 + Double(si) * barW
                let y = py(c)
                svg += "<rect x=\"\(n(x))\" y=\"\(n(min(y, base)))\" width=\"\(n(barW))\" height=\"\(n(abs(base - y)))\" fill=\"\(color)\"><title>\(escape(s.name)) [\(Fmt.sig(edges[b])), \(Fmt.sig(edges[b + 1]))): \(Fmt.sig(c))</title></rect>\n"
            }
            let ly = top + 14 + Double(si) * 18
            svg += "<rect x=\"\(n(left + pw + 14))\" y=\"\(n(ly - 9))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>\n"
            svg += text(left + pw + 32, ly + 1, s.name, anchor: "start", size: 11)
        }
        let step = max(1, Int((Double(edges.count) / 10).rounded(.up)))
        for (i, e) in edges.enumerated() where i % step == 0 || i == edges.count - 1 {
            svg += text(left + Double(i) * binW, top + ph + 16, Axis.trim(Fmt.sig(e)), anchor: "middle", size: 10)
        }
        svg += text(left + pw / 2, h - 14, xLabel, anchor: "middle")
        svg += "<text x=\"18\" y=\"\(n(top + ph / 2))\" transform=\"rotate(-90 18 \(n(top + ph / 2)))\" text-anchor=\"middle\" font-size=\"12\">\(escape(yLabel + (logY ? " (log)" : "")))</text>\n"
        return svg + "</svg>\n"
    }

    // MARK: - Horizontal bars

    /// One bar per row, value on a linear x axis from 0, with an optional dashed reference line
    /// (the memory-copy roofline at 1.0).
    public static func bars(title: String, xLabel: String, bars: [Bar], referenceX: (value: Double, label: String)? = nil) -> String {
        let rowH = 20.0
        let left = 190.0, right = 110.0, top = 40.0, bottom = 50.0
        let w = 760.0
        let ph = max(rowH, Double(bars.count) * rowH)
        let h = top + ph + bottom
        let pw = w - left - right
        var svg = header(width: w, height: h, title: title)
        let values = bars.map(\.value).filter(\.isFinite) + [0] + (referenceX.map { [$0.value] } ?? [])
        let xr = Axis(values: values, log: false, integerOnly: false)
        func px(_ x: Double) -> Double { left + xr.fraction(x) * pw }
        svg += frame(left: left, top: top, width: pw, height: ph)
        for t in xr.ticks {
            svg += "<line x1=\"\(n(px(t)))\" y1=\"\(n(top))\" x2=\"\(n(px(t)))\" y2=\"\(n(top + ph))\" stroke=\"#e5e5e5\"/>\n"
            svg += text(px(t), top + ph + 16, xr.label(t), anchor: "middle")
        }
        for (i, b) in bars.enumerated() {
            let y = top + Double(i) * rowH
            svg += text(left - 6, y + rowH * 0.7, b.label, anchor: "end", size: 11)
            guard b.value.isFinite else { continue }
            let x0 = px(0), x1 = px(b.value)
            svg += "<rect x=\"\(n(min(x0, x1)))\" y=\"\(n(y + 3))\" width=\"\(n(abs(x1 - x0)))\" height=\"\(n(rowH - 6))\" fill=\"\(palette[0])\"><title>\(escape(b.label)): \(Fmt.sig(b.value))</title></rect>\n"
            if !b.annotation.isEmpty { svg += text(max(x0, x1) + 4, y + rowH * 0.7, b.annotation, anchor: "start", size: 10) }
        }
        if let r = referenceX {
            let x = px(r.value)
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(top + ph))\" stroke=\"#444\" stroke-dasharray=\"6 4\"/>\n"
            svg += text(x + 3, top - 4, r.label, anchor: "start", size: 10)
        }
        svg += text(left + pw / 2, h - 14, xLabel, anchor: "middle")
        return svg + "</svg>\n"
    }

    // MARK: - Plumbing

    static func header(width: Double, height: Double, title: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <title>\(escape(title))</title>
        <rect width="100%" height="100%" fill="#ffffff"/>
        <text x="\(n(width / 2))" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(escape(title))</text>

        """
    }

    static func frame(left: Double, top: Double, width: Double, height: Double) -> String {
        "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"none\" stroke=\"#999\"/>\n"
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String, size: Int = 12) -> String {
        "<text x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\">\(escape(s))</text>\n"
    }

    /// Coordinates with two decimals: deterministic and compact.
    static func n(_ v: Double) -> String {
        let s = String(format: "%.2f", v)
        var t = Substring(s)
        while t.hasSuffix("0") { t = t.dropLast() }
        if t.hasSuffix(".") { t = t.dropLast() }
        return t == "-0" ? "0" : String(t)
    }

    /// XML text escaping.
    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters other than tab/newline are not allowed in XML 1.0.
                if ch.value < 0x20 && ch != "\t" && ch != "\n" { out += " " } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// A numeric axis with "nice" ticks (1, 2, 5 × 10^k; powers of ten on log axes).
    struct Axis {
        var lo: Double
        var hi: Double
        var log: Bool
        var ticks: [Double]

        init(values: [Double], log: Bool, integerOnly: Bool) {
            self.log = log
            var a = values.min() ?? 0, b = values.max() ?? 1
            if log {
                a = Foundation.log10(a); b = Foundation.log10(b)
                let lo = floor(a), hi = max(ceil(b), lo + 1)
                self.lo = lo
                self.hi = hi
                let step = max(1, ((hi - lo) / 8).rounded(.up))
                // Ticks are values (powers of ten); lo/hi live in log10 space.
                ticks = stride(from: lo, through: hi, by: step).map { pow(10, $0) }
                return
            }
            if a == b { a -= a == 0 ? 1 : abs(a) * 0.1; b += b == 0 ? 1 : abs(b) * 0.1 }
            if integerOnly { a = floor(a); b = max(ceil(b), a + 1) }
            let raw = (b - a) / 6
            let mag = pow(10, floor(Foundation.log10(raw)))
            let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
            let s = integerOnly ? max(1, step.rounded(.up)) : step
            lo = integerOnly ? a : floor(a / s) * s
            hi = integerOnly ? b : ceil(b / s) * s
            var t: [Double] = []
            var v = lo
            while v <= hi + s * 1e-9 { t.append(abs(v) < s * 1e-9 ? 0 : v); v += s }
            ticks = t
        }

        /// `0.200` → `0.2`, `100` stays, `1.50e-05` → `1.5e-05`.
        static func trim(_ s: String) -> String {
            let parts = s.split(separator: "e", maxSplits: 1).map(String.init)
            guard parts[0].contains(".") else { return s }
            var m = parts[0]
            while m.hasSuffix("0") { m.removeLast() }
            if m.hasSuffix(".") { m.removeLast() }
            return parts.count == 2 ? m + "e" + parts[1] : m
        }

        func fraction(_ v: Double) -> Double {
            let x = log ? Foundation.log10(v) : v
            return hi > lo ? (x - lo) / (hi - lo) : 0.5
        }

        func label(_ t: Double) -> String {
            guard log else {
                // Large values with an SI prefix (350 M), others with trailing zeros trimmed.
                return abs(t) >= 1e4 ? Fmt.si(t, unit: "").trimmingCharacters(in: .whitespaces) : Self.trim(Fmt.sig(t))
            }
            let e = Int(Foundation.log10(t).rounded())
            return (-2...3).contains(e) ? Self.trim(Fmt.sig(t)) : "1e\(e)"
        }
    }
}
