import Conformance
import Foundation
import Testing
@testable import Harness

/// Bad results files and shard sets: every one is a typed error with a one-line message,
/// never a trap, a hang or a huge allocation. Several cases are regressions found by the
/// `results` fuzz target (Tests/Fuzz/results; the seeds named `regress-*`).
@Suite("Bad input: results files and merge")
struct BadInputResultsTests {
    func shardFile(index: Int, count: Int, domain: InputRange, range: InputRange, suites: [SuiteResult]) -> ResultsFile {
        ResultsFile(stamp: fixedStamp(), suites: suites,
                    shard: ShardInfo(index: index, count: count, domain: domain, range: range))
    }

    func load(_ json: String) -> Result<ResultsFile, ResultsError> {
        Result { () throws(ResultsError) in try ResultsFile.decode(Data(json.utf8), path: "x.json") }
    }

    func expectOneLine(_ e: some Error, contains text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let s = "\(e)"
        #expect(!s.contains("\n"), "\(s)", sourceLocation: sourceLocation)
        #expect(s.contains(text), "\(s)", sourceLocation: sourceLocation)
    }

    /// Regression (fuzz: hang). A shard count of 10^12 made merge enumerate 1…count; now the
    /// loader refuses more shards than the domain has inputs.
    @Test func shardCountBeyondTheDomainIsRefusedOnLoad() throws {
        let f = shardFile(index: 1, count: 999_999_999_999, domain: .all32, range: InputRange(lower: 0, upper: 5), suites: [])
        let text = String(decoding: f.encoded(), as: UTF8.self)
        guard case .failure(let e) = load(text) else { Issue.record("accepted"); return }
        #expect(e.description == "results file 'x.json' is inconsistent: shard count 999999999999 exceeds the 4294967296 inputs of its domain [0x0, 0x100000000)")
        // The in-memory merge API checks the same thing before looking at the indices.
        #expect(throws: MergeError.self) { try ShardMerger.merge([("x.json", f)]) }
    }

    /// Regression (fuzz: hang). A legitimate but huge shard count (2^32 shards of one input)
    /// with most shards missing must list a few, not all 2^32 − 1.
    @Test func manyMissingShardsAreSummarised() throws {
        let f = shardFile(index: 1, count: 1 << 32, domain: .all32, range: InputRange(lower: 0, upper: 1), suites: [])
        let clock = ContinuousClock()
        let t0 = clock.now
        do {
            _ = try ShardMerger.merge([("a.json", f)])
            Issue.record("merge of one shard of 2^32 succeeded")
        } catch let e {
            #expect(e == .manyMissingShards(first: Array(2...21), missing: (1 << 32) - 1, count: 1 << 32))
            #expect(e.description == "missing 4294967295 of 4294967296 shards (first: 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, …)")
        }
        #expect(clock.now - t0 < .seconds(30))  // generous: it is microseconds; the bug was hours
    }

    /// Regression (fuzz: trap). Summing `covered` over shards overflowed UInt64 and trapped.
    @Test func countOverflowAcrossShardsIsAnError() throws {
        let domain = InputRange(lower: 0, upper: 10)
        let huge = SuiteResult(suite: "exhaustive-f32", caseName: "e4m3fn/sat/rne", passed: true,
                               covered: .max, expected: .max, mismatches: 0)
        let a = shardFile(index: 1, count: 2, domain: domain, range: InputRange(lower: 0, upper: 5), suites: [huge])
        let b = shardFile(index: 2, count: 2, domain: domain, range: InputRange(lower: 5, upper: 10), suites: [huge])
        #expect(throws: MergeError.mismatched("b.json", "suite 'exhaustive-f32' case 'e4m3fn/sat/rne': 'covered' counts overflow 64 bits when added")) {
            try ShardMerger.merge([("a.json", a), ("b.json", b)])
        }
    }

    @Test func reversedDomainIsRefused() throws {
        let text = String(decoding: shardFile(index: 1, count: 1, domain: InputRange(lower: 0, upper: 10),
                                              range: InputRange(lower: 0, upper: 10), suites: []).encoded(), as: UTF8.self)
            .replacingOccurrences(of: "\"upper\" : 10", with: "\"upper\" : 0")
            .replacingOccurrences(of: "\"lower\" : 0", with: "\"lower\" : 10")
        guard case .failure(let e) = load(text) else { Issue.record("accepted"); return }
        expectOneLine(e, contains: "bounds reversed")
    }

    @Test func otherSchemaVersionTruncatedEmptyAndForeignFiles() throws {
        let good = String(decoding: ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()]).encoded(), as: UTF8.self)
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: "\"schemaVersion\" : 1", with: "\"schemaVersion\" : 2"),
             "results file 'x.json' has schema version 2; this quantcheck reads version 1"),
            (String(good.prefix(good.count / 2)), "results file 'x.json' is truncated (JSON ends early); was its run interrupted?"),
            ("", "results file 'x.json' is empty"),
            ("{\"format\": \"quantcheck-gate\"}", "'x.json' is not a quantcheck results file (no \"format\": \"quantcheck-results\")"),
            ("[1, 2", "results file 'x.json' is truncated (JSON ends early); was its run interrupted?"),
            (good.replacingOccurrences(of: "\"covered\" : 100", with: "\"covered\" : -1"), "results file 'x.json' has an invalid structure"),
        ]
        for (text, message) in cases {
            guard case .failure(let e) = load(text) else { Issue.record("accepted: \(message)"); continue }
            expectOneLine(e, contains: message)
        }
    }
}
