import Foundation
import Testing
@testable import Harness

@Suite("Shard specs and input splitting")
struct ShardSpecTests {
    @Test(arguments: [("1/1", 1, 1), ("1/4", 1, 4), ("4/4", 4, 4), ("07/16", 7, 16)])
    func parsesKOverN(text: String, k: Int, n: Int) throws {
        let s = try ShardSpec(parsing: text, environment: [:])
        #expect(s.index == k && s.count == n && s.zeroBasedIndex == k - 1)
        #expect(s.description == "\(k)/\(n)")
    }

    @Test func rejectsBadSpecs() {
        #expect(throws: ShardError.zeroCount) { try ShardSpec(parsing: "0/0", environment: [:]) }
        #expect(throws: ShardError.zeroCount) { try ShardSpec(parsing: "1/0", environment: [:]) }
        #expect(throws: ShardError.indexOutOfRange(index: 3, count: 2)) { try ShardSpec(parsing: "3/2", environment: [:]) }
        #expect(throws: ShardError.indexOutOfRange(index: 0, count: 4)) { try ShardSpec(parsing: "0/4", environment: [:]) }
        for bad in ["a/b", "1/", "/4", "1/4/2", "", "-1/4", "1 /4", "1.0/4", "x", "1/99999999999999999999", "+1/4"] {
            #expect(throws: ShardError.malformed(bad)) { try ShardSpec(parsing: bad, environment: [:]) }
        }
        #expect(throws: ShardError.inconsistent("shard '1/4' says 4 shards but --shard-count is 3")) {
            try ShardSpec(parsing: "1/4", environment: [:], shardCount: 3)
        }
        #expect(throws: ShardError.zeroCount) { try ShardSpec(parsing: "1/4", environment: [:], shardCount: 0) }
    }

    @Test func autoFromCIMatrix() throws {
        let s = try ShardSpec(parsing: "auto", environment: ["QUANTCHECK_SHARD_INDEX": "2", "QUANTCHECK_SHARD_COUNT": "3"])
        #expect(s == (try ShardSpec(index: 2, count: 3)))
        #expect(throws: ShardError.indexOutOfRange(index: 0, count: 3)) {
            try ShardSpec(parsing: "auto", environment: ["QUANTCHECK_SHARD_INDEX": "0", "QUANTCHECK_SHARD_COUNT": "3"])
        }
        #expect(throws: ShardError.badEnvironment(name: "QUANTCHECK_SHARD_INDEX", value: "two")) {
            try ShardSpec(parsing: "auto", environment: ["QUANTCHECK_SHARD_INDEX": "two", "QUANTCHECK_SHARD_COUNT": "3"])
        }
        #expect(throws: ShardError.autoUnavailable("QUANTCHECK_SHARD_COUNT is set but QUANTCHECK_SHARD_INDEX is not")) {
            try ShardSpec(parsing: "auto", environment: ["QUANTCHECK_SHARD_COUNT": "3"])
        }
        #expect(try ShardSpec(parsing: "auto", environment: ["QUANTCHECK_SHARD_INDEX": "2"], shardCount: 5).count == 5)
    }

    @Test func autoFromSlurm() throws {
        // --array=0-7 and --array=1-8 both number shards 1…8.
        let zeroBased = try ShardSpec(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "0"])
        #expect(zeroBased == (try ShardSpec(index: 1, count: 8)))
        let oneBased = try ShardSpec(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_MIN": "1"])
        #expect(oneBased == (try ShardSpec(index: 8, count: 8)))
        // --array=0-12:4 → ids 0, 4, 8, 12.
        let stepped = try ShardSpec(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "4"])
        #expect(stepped == (try ShardSpec(index: 3, count: 4)))
        #expect(throws: ShardError.inconsistent("SLURM_ARRAY_TASK_COUNT says 8 shards but --shard-count is 4")) {
            try ShardSpec(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8"], shardCount: 4)
        }
    }

    @Test func autoFromKubernetes() throws {
        let s = try ShardSpec(parsing: "auto", environment: ["JOB_COMPLETION_INDEX": "0"], shardCount: 4)
        #expect(s == (try ShardSpec(index: 1, count: 4)))
        #expect(throws: ShardError.autoUnavailable("JOB_COMPLETION_INDEX is set; give the number of completions with --shard-count")) {
            try ShardSpec(parsing: "auto", environment: ["JOB_COMPLETION_INDEX": "0"])
        }
        #expect(throws: ShardError.indexOutOfRange(index: 5, count: 4)) {
            try ShardSpec(parsing: "auto", environment: ["JOB_COMPLETION_INDEX": "4"], shardCount: 4)
        }
        #expect(throws: ShardError.autoUnavailable("none of QUANTCHECK_SHARD_INDEX, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX is set")) {
            try ShardSpec(parsing: "auto", environment: [:])
        }
    }

    @Test(arguments: [1, 2, 3, 7, 64, 1000, 4096])
    func splitTilesTheDomain(n: Int) throws {
        let ranges = try InputRange.all32.split(into: n)
        #expect(ranges.count == n)
        #expect(ranges.first!.lower == 0 && ranges.last!.upper == 1 << 32)
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upper == b.lower) }
        let sizes = ranges.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
        #expect(sizes.reduce(0, +) == 1 << 32)
        // Larger shards come first.
        #expect(sizes == sizes.sorted(by: >))
    }

    @Test func splitSmallAndEdgeDomains() throws {
        let r = InputRange(lower: 10, upper: 17)
        #expect(try r.split(into: 3).map { [$0.lower, $0.upper] } == [[10, 13], [13, 15], [15, 17]])
        #expect(throws: ShardError.tooManyShards(count: 8, inputs: 7)) { try r.split(into: 8) }
        #expect(throws: ShardError.zeroCount) { try r.split(into: 0) }
        #expect(try ShardSpec(index: 2, count: 3).range(of: r) == InputRange(lower: 13, upper: 15))
    }
}
