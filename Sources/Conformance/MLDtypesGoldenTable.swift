import Foundation
import Formats

/// One golden table of ml_dtypes' own output: every (input bit pattern, code) of
/// `Golden/mldtypes/<release>/<target>/<input>.txt`, written by that release's `astype`
/// (`Golden/mldtypes/generate.py`; format and provenance in `Golden/mldtypes/README.md`).
///
/// Line format: `R <lo> <hi> <step> <code> <delta>` expands to the inputs lo, lo+step, …, hi with
/// codes code + i·delta; `P <input> <code>` is one entry; `#` starts a comment line. All numbers
/// are hexadecimal.
public struct MLDtypesGoldenTable: Sendable {
    /// The input type of a table.
    public enum Input: String, CaseIterable, Sendable {
        case f32, f64, f16, bf16
    }

    public struct Entry: Equatable, Sendable {
        public let input: UInt64
        public let code: UInt16

        public init(input: UInt64, code: UInt16) {
            self.input = input
            self.code = code
        }
    }

    public enum LoadError: Error, Equatable, CustomStringConvertible {
        case notFound(searched: [String])
        case missing(path: String)
        case malformed(file: String, line: Int, text: String)

        public var description: String {
            switch self {
            case .notFound(let searched):
                return DiagnosticText.oneLine("Golden/mldtypes not found (searched \(searched.joined(separator: ", ")); set QUANTCHECK_GOLDEN_DIR)")
            case .missing(let path): return DiagnosticText.oneLine("golden table not found: \(path)")
            case .malformed(let file, let line, let text): return DiagnosticText.oneLine("\(file):\(line): malformed golden line '\(text)'")
            }
        }
    }

    public let release: MLDtypesRelease
    public let format: FloatFormat
    public let input: Input
    public let entries: [Entry]
    /// How many entries came from `R` (run) lines, i.e. the sweep.
    public let sweepCount: Int

    /// The inputs a format has tables for: f32, f64, f16 always; bf16 only where a bfloat16
    /// input is not just the Float32 `b << 16` — the targets whose casts are numpy's own
    /// (`binary16`: ml_dtypes' bfloat16 → float16 cast drops NaN payloads that numpy's Float32
    /// cast keeps; README, rule 6).
    public static func inputs(for format: FloatFormat) -> [Input] {
        format.mlDtypesCast == .numpy ? [.f32, .f64, .f16, .bf16] : [.f32, .f64, .f16]
    }

    /// `Golden/mldtypes`, first existing of: `$QUANTCHECK_GOLDEN_DIR/mldtypes`, `Golden/mldtypes`
    /// in the working directory and its parents, then the source checkout this module was built
    /// from (as `AccuracyGolden` finds its file).
    public static func directory() throws -> URL {
        var paths: [String] = []
        if let dir = ProcessInfo.processInfo.environment["QUANTCHECK_GOLDEN_DIR"] {
            paths.append(URL(fileURLWithPath: dir).appendingPathComponent("mldtypes").path)
        }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<8 {
            paths.append(dir.appendingPathComponent("Golden/mldtypes").path)
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        // Sources/Conformance/MLDtypesGoldenTable.swift → repository root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        paths.append(root.appendingPathComponent("Golden/mldtypes").path)
        var isDirectory: ObjCBool = false
        guard let found = paths.first(where: { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue }) else {
            throw LoadError.notFound(searched: paths)
        }
        return URL(fileURLWithPath: found)
    }

    /// `Golden/mldtypes/<release>/`, e.g. `…/0.7`.
    public static func directory(for release: MLDtypesRelease) throws -> URL {
        try directory().appendingPathComponent(release.shortVersion)
    }

    public static func load(_ release: MLDtypesRelease, _ format: FloatFormat, _ input: Input) throws -> MLDtypesGoldenTable {
        let u = try directory(for: release).appendingPathComponent(format.name).appendingPathComponent("\(input.rawValue).txt")
        guard let text = try? String(contentsOf: u, encoding: .utf8) else { throw LoadError.missing(path: u.path) }
        let (entries, sweep) = try parse(text, name: "\(release.shortVersion)/\(format.name)/\(input.rawValue).txt")
        return MLDtypesGoldenTable(release: release, format: format, input: input, entries: entries, sweepCount: sweep)
    }

    /// The entries of one table's text, and how many of them came from `R` lines.
    public static func parse(_ text: String, name: String) throws -> (entries: [Entry], sweep: Int) {
        var entries: [Entry] = []
        var sweep = 0
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let bad = LoadError.malformed(file: name, line: index + 1, text: String(raw))
            let fields = line.split(separator: " ")
            let numbers = fields.dropFirst().map { UInt64($0, radix: 16) }
            guard !numbers.contains(where: { $0 == nil }) else { throw bad }
            let n = numbers.map { $0! }
            switch fields.first {
            case "R":
                guard n.count == 5, n[2] > 0, n[0] <= n[1], (n[1] - n[0]) % n[2] == 0 else { throw bad }
                let count = (n[1] - n[0]) / n[2] + 1
                let (span, overflow) = (count - 1).multipliedReportingOverflow(by: n[4])
                guard !overflow, n[3] <= UInt64(UInt16.max), span <= UInt64(UInt16.max) - n[3] else { throw bad }
                for i in 0..<count {
                    entries.append(Entry(input: n[0] + i * n[2], code: UInt16(n[3] + i * n[4])))
                }
                sweep += Int(count)
            case "P":
                guard n.count == 2, n[1] <= UInt64(UInt16.max) else { throw bad }
                entries.append(Entry(input: n[0], code: UInt16(n[1])))
            default:
                throw bad
            }
        }
        return (entries, sweep)
    }

    /// `<release>/differences.txt`: "target input class" → count of golden inputs on which the
    /// release and the OCP rule differ, by documented class.
    public static func documentedDifferences(_ release: MLDtypesRelease) throws -> [String: Int] {
        let u = try directory(for: release).appendingPathComponent("differences.txt")
        guard let text = try? String(contentsOf: u, encoding: .utf8) else { throw LoadError.missing(path: u.path) }
        var d: [String: Int] = [:]
        for (index, raw) in text.split(separator: "\n").enumerated() where !raw.hasPrefix("#") {
            let f = raw.split(separator: " ")
            guard f.count == 4, let n = Int(f[3]) else {
                throw LoadError.malformed(file: "\(release.shortVersion)/differences.txt", line: index + 1, text: String(raw))
            }
            d["\(f[0]) \(f[1]) \(f[2])"] = n
        }
        return d
    }
}
