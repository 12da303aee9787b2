import Conformance
import Foundation
import Testing
@testable import Harness

/// A miniature verify: checks a deliberately wrong "implementation" (wrong on every input
/// divisible by 37, and on 0–2) over a range of a small domain, the way the exhaustive suite
/// reports a range: counts, first counterexamples in input order, a `patterns` parameter.
/// A second, unsplit suite runs only in the shard that starts at the domain's start.
func miniVerify(range: InputRange, domain: InputRange) -> [SuiteResult] {
    var results: [SuiteResult] = []
    for format in ["e4m3fn", "e5m2"] {
        var mismatches: UInt64 = 0
        var cx: [Counterexample] = []
        for i in range.lower..<range.upper where i % 37 == 0 || i < 3 || (format == "e5m2" && i % 101 == 5) {
            mismatches += 1
            if cx.count < SuiteResult.counterexampleLimit {
                cx.append(Counterexample(inputBits: "0x\(String(i, radix: 16))", inputValue: "\(i)", expectedCode: "0x00",
                                         expectedValue: "0", gotCode: "0x01", gotValue: "1", note: format))
            }
        }
        results.append(SuiteResult(
            suite: "exhaustive-f32", caseName: "\(format)/sat/rne", passed: mismatches == 0, covered: range.count,
            expected: range.count, mismatches: mismatches, counterexamples: cx,
            parameters: ["format": format, "patterns": "\(range.lower)..<\(range.upper)"], wallSeconds: 0.25))
    }
    if range.lower == domain.lower {
        results.insert(SuiteResult(suite: "decode", caseName: "e4m3fn", passed: true, covered: 256, expected: 256, mismatches: 0), at: 0)
    }
    return results
}

func shardFiles(count n: Int, domain: InputRange = InputRange(lower: 0, upper: 5000), commit: String = "c0ffee") throws -> [(path: String, file: ResultsFile)] {
    try (1...n).map { k in
        let info = try ShardInfo(spec: ShardSpec(index: k, count: n), domain: domain)
        return ("shard\(k).json", ResultsFile(stamp: fixedStamp(commit: commit), suites: miniVerify(range: info.range, domain: domain), shard: info))
    }
}

/// Equal except for wall time (not part of the identity).
func sameOutcome(_ a: [SuiteResult], _ b: [SuiteResult]) -> Bool {
    a.map { var x = $0; x.wallSeconds = 0; return x } == b.map { var x = $0; x.wallSeconds = 0; return x }
}

@Suite("Merging verify shards")
struct MergeTests {
    @Test(arguments: [1, 2, 3, 7, 16])
    func mergedEqualsUnsharded(n: Int) throws {
        let domain = InputRange(lower: 0, upper: 5000)
        let unsharded = miniVerify(range: domain, domain: domain)
        let merged = try ShardMerger.merge(try shardFiles(count: n))
        #expect(sameOutcome(merged.suites, unsharded))
        #expect(merged.shard == nil)
        // Mismatch counts and counterexamples genuinely come from several shards.
        #expect(merged.suites[1].mismatches == unsharded[1].mismatches && unsharded[1].mismatches > 100)
        #expect(merged.suites[1].counterexamples.map(\.inputValue) == ["0", "1", "2", "37", "74", "111", "148", "185", "222", "259"])
    }

    @Test func shardOrderOfArgumentsDoesNotMatter() throws {
        let files = try shardFiles(count: 4)
        #expect(try ShardMerger.merge(files.reversed()) == ShardMerger.merge(files))
    }

    @Test func counterexamplesComeFromLaterShardsWhenEarlyOnesAreClean() throws {
        // Shard 1 of 2 over [3, 37) has no mismatch for e4m3fn; all ten come from shard 2.
        let domain = InputRange(lower: 3, upper: 500)
        let files = try (1...2).map { k in
            let info = try ShardInfo(spec: ShardSpec(index: k, count: 2), domain: domain)
            return ("s\(k)", ResultsFile(stamp: fixedStamp(), suites: miniVerify(range: info.range, domain: domain), shard: info))
        }
        let merged = try ShardMerger.merge(files)
        #expect(sameOutcome(merged.suites, miniVerify(range: domain, domain: domain)))
    }

    @Test func failingShardFailsTheMerge() throws {
        var files = try shardFiles(count: 3)
        files[2].file.suites[0].passed = false  // e4m3fn case in shard 3
        let merged = try ShardMerger.merge(files)
        #expect(merged.suites.first { $0.caseName == "e4m3fn/sat/rne" }!.passed == false)
    }

    @Test func missingShard() throws {
        let files = try shardFiles(count: 4)
        #expect(throws: MergeError.missingShards([2, 4], count: 4)) { try ShardMerger.merge([files[0], files[2]]) }
    }

    @Test func duplicateShard() throws {
        let files = try shardFiles(count: 2)
        var dup = files[1]
        dup.path = "copy.json"
        #expect(throws: MergeError.duplicateShard(index: 2, "copy.json", "shard2.json")) { try ShardMerger.merge(files + [dup]) }
    }

    @Test func overlappingShards() throws {
        var files = try shardFiles(count: 2)
        files[1].file.shard!.range.lower -= 10
        #expect(throws: MergeError.overlappingShards("shard2.json", range: files[1].file.shard!.range)) { try ShardMerger.merge(files) }
    }

    @Test func gapBetweenShards() throws {
        var files = try shardFiles(count: 2)
        files[1].file.shard!.range.lower += 10
        #expect(throws: MergeError.gap(InputRange(lower: 2500, upper: 2510))) { try ShardMerger.merge(files) }
    }

    @Test func differentShardCounts() throws {
        let a = try shardFiles(count: 2)
        let b = try shardFiles(count: 3)
        #expect(throws: MergeError.mismatched("shard2.json", "it is shard 2/3 but 'shard1.json' is shard 1/2")) {
            try ShardMerger.merge([a[0], b[1]])
        }
    }

    @Test func differentCommits() throws {
        let a = try shardFiles(count: 2)
        let b = try shardFiles(count: 2, commit: "deadbeef")
        #expect(throws: MergeError.mismatched("shard2.json", "it was built from commit deadbeef, 'shard1.json' from c0ffee")) {
            try ShardMerger.merge([a[0], b[1]])
        }
    }

    @Test func differentSuitesOrFormats() throws {
        var files = try shardFiles(count: 2)
        files[1].file.suites[1].caseName = "e5m2/nonsat/rne"
        #expect(throws: MergeError.mismatched("shard2.json", "it has suite 'exhaustive-f32' case 'e5m2/nonsat/rne', which shard 1 ('shard1.json') lacks")) {
            try ShardMerger.merge(files)
        }
        files = try shardFiles(count: 3)
        files[2].file.suites.removeLast()
        #expect(throws: MergeError.mismatched("shard3.json", "it lacks suite 'exhaustive-f32' case 'e5m2/sat/rne', present in other shards")) {
            try ShardMerger.merge(files)
        }
        files = try shardFiles(count: 2)
        files[1].file.suites[0].parameters["format"] = "e3m4"
        #expect(throws: MergeError.mismatched("shard2.json", "suite 'exhaustive-f32' case 'e4m3fn/sat/rne': parameter 'format' differs between shards")) {
            try ShardMerger.merge(files)
        }
    }

    @Test func differentDomains() throws {
        let a = try shardFiles(count: 2)
        let b = try shardFiles(count: 2, domain: InputRange(lower: 0, upper: 6000))
        #expect(throws: MergeError.mismatched("shard2.json", "it covers domain [0x0, 0x1770), 'shard1.json' covers [0x0, 0x1388)")) {
            try ShardMerger.merge([a[0], b[1]])
        }
    }

    @Test func notAShardAndBenchmarks() throws {
        let plain = ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()])
        #expect(throws: MergeError.notAShard("plain.json")) { try ShardMerger.merge([("plain.json", plain)]) }
        var files = try shardFiles(count: 1)
        files[0].file.benchmarks = [sampleBench("a/b", median: 1)]
        #expect(throws: MergeError.containsBenchmarks("shard1.json")) { try ShardMerger.merge(files) }
        #expect(throws: MergeError.noInputs) { try ShardMerger.merge([]) }
    }

    @Test func differingMetricsAreRefused() throws {
        var files = try shardFiles(count: 2)
        files[0].file.suites[1].metrics = [Metric(name: "max-ulp", value: 0.5)]
        files[1].file.suites[0].metrics = [Metric(name: "max-ulp", value: 0.25)]
        #expect(throws: MergeError.mismatched("shard2.json", "suite 'exhaustive-f32' case 'e4m3fn/sat/rne': metrics differ between shards and cannot be combined")) {
            try ShardMerger.merge(files)
        }
    }

    @Test func mergeFromDisk() throws {
        let dir = makeTempDirectory()
        var paths: [String] = []
        for (name, f) in try shardFiles(count: 3) {
            let p = dir + "/" + name
            try f.write(to: p)
            paths.append(p)
        }
        let merged = try ShardMerger.merge(paths: paths)
        #expect(sameOutcome(merged.suites, miniVerify(range: InputRange(lower: 0, upper: 5000), domain: InputRange(lower: 0, upper: 5000))))
        try Data("{".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        #expect(throws: ResultsError.truncated(dir + "/bad.json")) { try ShardMerger.merge(paths: paths + [dir + "/bad.json"]) }
    }
}
