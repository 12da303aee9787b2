import Conformance
import Foundation
import Formats

/// Combines the results files of a sharded `verify` run into the file an unsharded run would
/// have written: same suites in the same order, same counts, mismatches and verdicts, and the
/// first `SuiteResult.counterexampleLimit` counterexamples in input order.
///
/// Contract with `verify` (see `ConformanceRunner`): shard k sweeps the contiguous input range
/// `ShardInfo.range`, and
/// - suites split by input range appear in every shard with the same (suite, case) keys; their
///   counts add up, their counterexamples concatenate in shard (= input) order, `passed` is the
///   conjunction, and a parameter that is a half-open range `a..<b` (the shard's patterns) is
///   merged into the union of the contiguous ranges;
/// - suites that are not split run only in the shard whose range starts at the domain's start
///   (shard 1) and are copied unchanged.
/// Anything else — a missing, duplicated or overlapping shard, different commits, domains or
/// suite lists, parameters or metrics that differ — is refused with a `MergeError`.
public enum ShardMerger {
    public static func merge(_ inputs: [(path: String, file: ResultsFile)]) throws(MergeError) -> ResultsFile {
        guard !inputs.isEmpty else { throw .noInputs }
        var shards: [(path: String, file: ResultsFile, info: ShardInfo)] = []
        for (path, file) in inputs {
            guard let info = file.shard else { throw .notAShard(path) }
            // Files from `ResultsFile.load` are already checked; in-memory ones may not be.
            if let problem = info.problem() { throw .mismatched(path, problem) }
            if !file.benchmarks.isEmpty { throw .containsBenchmarks(path) }
            shards.append((path, file, info))
        }
        let first = shards[0]
        for s in shards.dropFirst() {
            if s.info.count != first.info.count {
                throw .mismatched(s.path, "it is shard \(s.info.index)/\(s.info.count) but '\(first.path)' is shard \(first.info.index)/\(first.info.count)")
            }
            if s.info.domain != first.info.domain {
                throw .mismatched(s.path, "it covers domain \(s.info.domain), '\(first.path)' covers \(first.info.domain)")
            }
            if s.file.stamp.gitCommit != first.file.stamp.gitCommit {
                throw .mismatched(s.path, "it was built from commit \(s.file.stamp.gitCommit), '\(first.path)' from \(first.file.stamp.gitCommit)")
            }
            if s.file.schemaVersion != first.file.schemaVersion {
                throw .mismatched(s.path, "it has schema version \(s.file.schemaVersion), '\(first.path)' has \(first.file.schemaVersion)")
            }
        }
        // Indices: each of 1…N exactly once.
        var byIndex: [Int: (path: String, file: ResultsFile, info: ShardInfo)] = [:]
        for s in shards {
            if let other = byIndex[s.info.index] { throw .duplicateShard(index: s.info.index, s.path, other.path) }
            byIndex[s.info.index] = s
        }
        if byIndex.count != first.info.count {
            // Every index is within 1…N (checked by `ShardInfo.problem`), so exactly
            // N − byIndex.count are missing. N may be as large as the domain (2^32): find only the
            // first few instead of enumerating 1…N.
            let total = first.info.count - byIndex.count
            var missing: [Int] = []
            var k = 1
            while missing.count < MergeError.listedMissingShards, k <= first.info.count {
                if byIndex[k] == nil { missing.append(k) }
                k += 1
            }
            if total > missing.count { throw .manyMissingShards(first: missing, missing: total, count: first.info.count) }
            throw .missingShards(missing, count: first.info.count)
        }
        let ordered = (1...first.info.count).map { byIndex[$0]! }
        // Ranges: contiguous, non-overlapping, tiling the domain.
        var cursor = first.info.domain.lower
        for s in ordered {
            if s.info.range.lower < cursor { throw .overlappingShards(s.path, range: s.info.range) }
            if s.info.range.lower > cursor {
                throw .gap(InputRange(lower: cursor, upper: s.info.range.lower))
            }
            cursor = s.info.range.upper
        }
        if cursor != first.info.domain.upper { throw .gap(InputRange(lower: cursor, upper: first.info.domain.upper)) }

        // Suites: keyed by (suite, case), in the order of the first shard.
        let lead = ordered[0]
        func key(_ r: SuiteResult) -> String { r.suite + "\u{1F}" + r.caseName }
        var tables: [[String: SuiteResult]] = []
        for s in ordered {
            var t: [String: SuiteResult] = [:]
            for r in s.file.suites {
                if t[key(r)] != nil { throw .mismatched(s.path, "it lists suite '\(r.suite)' case '\(r.caseName)' twice") }
                t[key(r)] = r
            }
            tables.append(t)
        }
        for s in ordered.dropFirst() {
            for r in s.file.suites where tables[0][key(r)] == nil {
                throw .mismatched(s.path, "it has suite '\(r.suite)' case '\(r.caseName)', which shard 1 ('\(lead.path)') lacks")
            }
        }
        var merged: [SuiteResult] = []
        for r in lead.file.suites {
            let parts = tables.map { $0[key(r)] }
            let present = parts.compactMap { $0 }
            if present.count == 1 {
                merged.append(r)  // not split by range: ran whole in shard 1
                continue
            }
            if present.count != parts.count {
                let lacking = zip(ordered, parts).filter { $0.1 == nil }.map(\.0.path)
                throw .mismatched(lacking[0], "it lacks suite '\(r.suite)' case '\(r.caseName)', present in other shards")
            }
            merged.append(try combine(present, paths: ordered.map(\.path)))
        }
        // The stamp of shard 1 (same commit as every shard, checked above).
        return ResultsFile(stamp: lead.file.stamp, suites: merged, benchmarks: [], shard: nil)
    }

    /// Loads the files, then merges them.
    public static func merge(paths: [String]) throws -> ResultsFile {
        var inputs: [(path: String, file: ResultsFile)] = []
        for p in paths { inputs.append((p, try ResultsFile.load(from: p))) }
        return try merge(inputs)
    }

    static func combine(_ parts: [SuiteResult], paths: [String]) throws(MergeError) -> SuiteResult {
        var r = parts[0]
        let label = "suite '\(r.suite)' case '\(r.caseName)'"
        r.covered = 0
        r.mismatches = 0
        r.expected = parts[0].expected == nil ? nil : 0
        r.counterexamples = []
        r.wallSeconds = 0
        r.passed = true
        for (p, path) in zip(parts, paths) {
            if (p.expected == nil) != (r.expected == nil) { throw .mismatched(path, "\(label): 'expected' present in some shards only") }
            // Counts come from files: a sum past 2^64 is a corrupt input, not a trap.
            func add(_ a: UInt64, _ b: UInt64, _ what: String) throws(MergeError) -> UInt64 {
                let (sum, overflow) = a.addingReportingOverflow(b)
                if overflow { throw .mismatched(path, "\(label): '\(what)' counts overflow 64 bits when added") }
                return sum
            }
            r.covered = try add(r.covered, p.covered, "covered")
            r.mismatches = try add(r.mismatches, p.mismatches, "mismatches")
            if let e = p.expected { r.expected = try add(r.expected!, e, "expected") }
            r.passed = r.passed && p.passed
            r.wallSeconds += p.wallSeconds
            let room = SuiteResult.counterexampleLimit - r.counterexamples.count
            r.counterexamples += p.counterexamples.prefix(max(0, room))
            if p.metrics != parts[0].metrics {
                throw .mismatched(path, "\(label): metrics differ between shards and cannot be combined")
            }
        }
        // Parameters: equal everywhere, or contiguous ranges `a..<b` merged into their union.
        var params = parts[0].parameters
        for (k, v) in parts[0].parameters.sorted(by: { $0.key < $1.key }) {
            let values = parts.map { $0.parameters[k] }
            if values.allSatisfy({ $0 == v }) { continue }
            let ranges = values.map { $0.flatMap(parseRange) }
            guard ranges.allSatisfy({ $0 != nil }) else {
                throw .mismatched(paths[values.firstIndex { $0 != v }!], "\(label): parameter '\(k)' differs between shards")
            }
            let rs = ranges.map { $0! }
            for (a, b) in zip(rs, rs.dropFirst()) where a.upper != b.lower {
                throw .mismatched(paths[0], "\(label): parameter '\(k)' ranges are not contiguous (\(a.lower)..<\(a.upper), \(b.lower)..<\(b.upper))")
            }
            params[k] = "\(rs.first!.lower)..<\(rs.last!.upper)"
        }
        for p in parts where Set(p.parameters.keys) != Set(params.keys) {
            throw .mismatched(paths[0], "\(label): parameter names differ between shards")
        }
        r.parameters = params
        // The merged verdict is derived from the merged evidence, never only carried over.
        r.passed = r.passed && r.evidenceAgainstPass == nil
        return r
    }

    static func parseRange(_ s: String) -> (lower: UInt64, upper: UInt64)? {
        let parts = s.components(separatedBy: "..<")
        guard parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]), a <= b else { return nil }
        return (a, b)
    }
}

public enum MergeError: Error, Equatable, CustomStringConvertible, Sendable {
    case noInputs
    case notAShard(String)
    case containsBenchmarks(String)
    case duplicateShard(index: Int, String, String)
    case missingShards([Int], count: Int)
    /// More than `listedMissingShards` shards are missing: the first few, and how many in all.
    case manyMissingShards(first: [Int], missing: Int, count: Int)
    case overlappingShards(String, range: InputRange)
    case gap(InputRange)
    case mismatched(String, String)

    /// How many missing shard numbers an error lists.
    public static let listedMissingShards = 20

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .noInputs: return "merge needs at least one shard results file"
        case .notAShard(let p): return "'\(p)' is not a shard result (no \"shard\" field; was it run with --shard?)"
        case .containsBenchmarks(let p): return "'\(p)' holds benchmarks; merge combines verify shards only"
        case .duplicateShard(let k, let a, let b): return "shard \(k) given twice: '\(a)' and '\(b)'"
        case .missingShards(let ks, let n):
            return "missing shard\(ks.count == 1 ? "" : "s") \(ks.map(String.init).joined(separator: ", ")) of \(n)"
        case .manyMissingShards(let ks, let total, let n):
            return "missing \(total) of \(n) shards (first: \(ks.map(String.init).joined(separator: ", ")), …)"
        case .overlappingShards(let p, let r): return "'\(p)' covers \(r), which overlaps the previous shard"
        case .gap(let r): return "no shard covers inputs \(r)"
        case .mismatched(let p, let why): return "cannot merge '\(p)': \(why)"
        }
    }
}
