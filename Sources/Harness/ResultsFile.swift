import Conformance
import Foundation
import Formats

/// The one results format written by `verify`, `bench`, `merge` and `gate`, and read by
/// `report`, `compare`, `merge` and `gate`.
///
/// Layout (schema version 1), keys sorted when written:
///
///     { "format": "quantcheck-results", "schemaVersion": 1,
///       "stamp": RunStamp, "suites": [SuiteResult], "benchmarks": [BenchResult],
///       "shard": ShardInfo? }
///
/// Non-finite doubles (an unbounded metric, say) are written as the strings `"inf"`, `"-inf"`
/// and `"nan"`. Bumping `schemaVersion` is required for any change a version-1 reader would
/// misread; additive optional fields do not need it.
public struct ResultsFile: Codable, Sendable, Hashable {
    public static let formatTag = "quantcheck-results"
    public static let currentSchemaVersion = 1

    /// Always `quantcheck-results`: tells a results file from any other JSON.
    public var format: String
    public var schemaVersion: Int
    public var stamp: RunStamp
    public var suites: [SuiteResult]
    public var benchmarks: [BenchResult]
    /// Present when this file covers one shard of a sharded verify run.
    public var shard: ShardInfo?

    public init(
        stamp: RunStamp, suites: [SuiteResult] = [], benchmarks: [BenchResult] = [],
        shard: ShardInfo? = nil
    ) {
        self.format = Self.formatTag
        self.schemaVersion = Self.currentSchemaVersion
        self.stamp = stamp
        self.suites = suites
        self.benchmarks = benchmarks
        self.shard = shard
    }

    // MARK: - Encoding

    /// Deterministic JSON: sorted keys, pretty-printed, trailing newline.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Every field is a plain value type: encoding cannot fail.
        var data = try! encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes the file atomically (temporary file + rename).
    public func write(to path: String) throws(OutputError) {
        try AtomicFile.write(encoded(), to: path)
    }

    // MARK: - Decoding

    /// Reads and validates a results file. Every failure is a `ResultsError` with a one-line
    /// message naming the file.
    public static func load(from path: String) throws(ResultsError) -> ResultsFile {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .unreadable(path, reason: "no such file")
        }
        if isDir.boolValue { throw .unreadable(path, reason: "is a directory") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path, reason: "cannot read")
        }
        return try decode(data, path: path)
    }

    /// Validates and decodes `data`; `path` only labels errors.
    public static func decode(_ data: Data, path: String = "<data>") throws(ResultsError) -> ResultsFile {
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw .empty(path)
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            if JSONScan.isTruncated(data) { throw .truncated(path) }
            throw .malformedJSON(path, detail: JSONScan.describe(error))
        }
        guard let dict = object as? [String: Any], dict["format"] as? String == formatTag else {
            throw .notAResultsFile(path)
        }
        guard let version = dict["schemaVersion"] as? Int else {
            throw .invalidStructure(path, detail: "missing or non-integer 'schemaVersion'")
        }
        guard version == currentSchemaVersion else {
            throw .unsupportedSchemaVersion(path, found: version, supported: currentSchemaVersion)
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let file: ResultsFile
        do { file = try decoder.decode(ResultsFile.self, from: data) } catch {
            throw .invalidStructure(path, detail: JSONScan.describe(error))
        }
        if let problem = file.contentProblem() { throw .invalidContent(path, detail: problem) }
        return file
    }

    /// The first internal inconsistency, if any: counts that cannot be, statistics that do
    /// not match their samples, a shard range outside its domain.
    public func contentProblem() -> String? {
        for (i, s) in suites.enumerated() {
            let label = "suites[\(i)] '\(s.suite)\(s.caseName.isEmpty ? "" : " " + s.caseName)'"
            if s.mismatches > s.covered { return "\(label): mismatches (\(s.mismatches)) exceed covered inputs (\(s.covered))" }
            if s.passed, let contradiction = s.evidenceAgainstPass {
                return "\(label): states passed but \(contradiction)"
            }
            if s.counterexamples.count > SuiteResult.counterexampleLimit {
                return "\(label): \(s.counterexamples.count) counterexamples, limit is \(SuiteResult.counterexampleLimit)"
            }
            if UInt64(s.counterexamples.count) > s.mismatches {
                return "\(label): more counterexamples than mismatches"
            }
            if !(s.wallSeconds >= 0) { return "\(label): negative or NaN wallSeconds" }
            for d in s.series ?? [] {
                switch d.kind {
                case .line where d.x.count != d.y.count:
                    return "\(label): line series '\(d.name)' has \(d.x.count) x values and \(d.y.count) y values"
                case .histogram where d.x.count != d.y.count + 1:
                    return "\(label): histogram '\(d.name)' needs \(d.y.count + 1) bin edges, has \(d.x.count)"
                case .histogram where zip(d.x, d.x.dropFirst()).contains { !($0 < $1) }:
                    return "\(label): histogram '\(d.name)' bin edges are not ascending"
                default: break
                }
            }
        }
        for (i, b) in benchmarks.enumerated() {
            let label = "benchmarks[\(i)] '\(b.name)'"
            if b.samples.isEmpty { return "\(label): no samples" }
            if !b.samples.allSatisfy({ $0.isFinite && $0 > 0 }) { return "\(label): samples must be positive and finite" }
            let s = SampleStatistics(b.samples)
            if s.median != b.medianSeconds || s.min != b.minSeconds || s.max != b.maxSeconds || s.mad != b.madSeconds {
                return "\(label): median/min/max/MAD do not match the samples"
            }
            if b.elements < 0 || b.bytes < 0 || b.threads < 1 { return "\(label): negative size or thread count" }
        }
        if Set(benchmarks.map(\.name)).count != benchmarks.count { return "duplicate benchmark names" }
        if let shard { return shard.problem() }
        return nil
    }
}

/// Errors loading a results file, each a one-line message naming the file.
public enum ResultsError: Error, Equatable, CustomStringConvertible, Sendable {
    case unreadable(String, reason: String)
    case empty(String)
    case truncated(String)
    case malformedJSON(String, detail: String)
    case notAResultsFile(String)
    case unsupportedSchemaVersion(String, found: Int, supported: Int)
    case invalidStructure(String, detail: String)
    case invalidContent(String, detail: String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read results file '\(p)': \(r)"
        case .empty(let p): return "results file '\(p)' is empty"
        case .truncated(let p): return "results file '\(p)' is truncated (JSON ends early); was its run interrupted?"
        case .malformedJSON(let p, let d): return "results file '\(p)' is not valid JSON: \(d)"
        case .notAResultsFile(let p): return "'\(p)' is not a quantcheck results file (no \"format\": \"\(ResultsFile.formatTag)\")"
        case .unsupportedSchemaVersion(let p, let f, let s):
            return "results file '\(p)' has schema version \(f); this quantcheck reads version \(s)"
        case .invalidStructure(let p, let d): return "results file '\(p)' has an invalid structure: \(d)"
        case .invalidContent(let p, let d): return "results file '\(p)' is inconsistent: \(d)"
        }
    }
}

/// Small helpers to explain JSON failures in one line.
enum JSONScan {
    /// True when the text ends inside a string or with unclosed brackets: the signature of a
    /// file cut short (an interrupted write, a full disk), as opposed to a syntax error.
    static func isTruncated(_ data: Data) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        var sawOpen = false
        for byte in data {
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; sawOpen = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth < 0 { return false }
            default: break
            }
        }
        return sawOpen && (inString || depth > 0)
    }

    /// One line out of a `DecodingError` or a Foundation JSON error.
    static func describe(_ error: Error) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            let p = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "top level" : String(p.drop { $0 == "." })
        }
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing key '\(key.stringValue)' at \(path(ctx.codingPath))"
        case DecodingError.typeMismatch(let type, let ctx):
            return "expected \(type) at \(path(ctx.codingPath))"
        case DecodingError.valueNotFound(let type, let ctx):
            return "null where \(type) is expected at \(path(ctx.codingPath))"
        case DecodingError.dataCorrupted(let ctx):
            return "\(ctx.debugDescription) at \(path(ctx.codingPath))"
        default:
            let ns = error as NSError
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            return detail.replacingOccurrences(of: "\n", with: " ")
        }
    }
}
