import ArgumentParser
import Conformance
import Foundation
import Harness

/// `quantcheck merge SHARD…`: one results file from the shards of a verify run.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the results of `verify --shard K/N` runs into the result of an unsharded run.",
        discussion: """
            Refuses missing, duplicated or overlapping shards and shards of different commits, domains \
            or suites. Exit status is that of the unsharded verify: 0 when every case passed, 1 otherwise.
            """)

    @Argument(help: "Shard results files, in any order.")
    var shards: [String]

    @Option(help: "Where to write the merged results JSON (atomically).")
    var json: String

    func run() throws {
        guard !shards.isEmpty else { throw MergeError.noInputs }
        try CLIPaths.checkOutputFile(json)
        let merged = try ShardMerger.merge(paths: shards)
        try merged.write(to: json)
        let failed = merged.suites.filter { !$0.verdictPassed }
        let covered = merged.suites.reduce(UInt64(0)) { $0 &+ $1.covered }
        if failed.isEmpty {
            print("merge: PASS (\(shards.count) shards, \(merged.suites.count) cases, \(covered) inputs) → \(json)")
        } else {
            print("merge: FAIL (\(failed.count) of \(merged.suites.count) cases failed) → \(json)")
            throw ExitCode(1)
        }
    }
}
