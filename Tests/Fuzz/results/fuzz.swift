// libFuzzer target: the results-JSON loader (`ResultsFile.decode`) and everything that
// consumes a loaded file: shard merge, benchmark comparison and the Markdown/SVG report.
//
// The input is the file's bytes. Properties (a violation traps):
//   1. loading never traps: it returns a file or throws a `ResultsError` whose description is
//      one line naming the file;
//   2. an accepted file re-encodes to JSON that loads again and re-encodes to the same bytes
//      (the writer's output is canonical);
//   3. an accepted file can be merged (with itself as a one-shard set and as a duplicated
//      pair), compared with itself and rendered as a report without trapping; merge failures
//      are `MergeError`s with one-line messages.
import Conformance
import Foundation
import Harness

@inline(never)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("results fuzz: " + message()) }
}

func oneLine(_ e: Error) {
    let s = "\(e)"
    check(!s.isEmpty && !s.contains("\n"), "error message is not one line: \(s)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 ? Data() : Data(bytes: data!, count: size)
    let file: ResultsFile
    do { file = try ResultsFile.decode(bytes, path: "fuzz.json") } catch {
        oneLine(error)
        check("\(error)".contains("fuzz.json"), "error does not name the file: \(error)")
        return 0
    }
    // Canonical re-encoding.
    let once = file.encoded()
    do {
        let again = try ResultsFile.decode(once, path: "again.json")
        check(again.encoded() == once, "re-encoding is not stable")
    } catch { check(false, "an accepted file does not load after re-encoding: \(error)") }

    // Consumers.
    for inputs in [[("a.json", file)], [("a.json", file), ("b.json", file)]] {
        do {
            let merged = try ShardMerger.merge(inputs)
            check(merged.contentProblem() == nil, "merge produced an inconsistent file: \(merged.contentProblem()!)")
        } catch { oneLine(error) }
    }
    // A full shard set built around the file: for shard k/N (N ≤ 8) of a valid domain, the
    // other N − 1 shards are copies of it with their own ranges, so merge combines real
    // suite contents (counts, counterexamples, range parameters) from every shard.
    if let info = file.shard, (1...8).contains(info.count), info.domain.lower <= info.domain.upper,
       UInt64(info.count) <= info.domain.upper - info.domain.lower,
       let ranges = try? info.domain.split(into: info.count) {
        var set: [(path: String, file: ResultsFile)] = []
        for (i, r) in ranges.enumerated() {
            var f = file
            f.shard = ShardInfo(index: i + 1, count: info.count, domain: info.domain, range: r)
            set.append(("shard\(i + 1).json", f))
        }
        do {
            let merged = try ShardMerger.merge(set)
            check(merged.shard == nil, "merged file still marked as a shard")
            check(merged.contentProblem() == nil, "merge produced an inconsistent file: \(merged.contentProblem()!)")
            check(merged.suites.count == file.suites.count, "merge changed the number of suite cases")
        } catch { oneLine(error) }
    }
    let comparison = BenchComparison(base: file, head: file)
    check(comparison.regressions.isEmpty, "a file regresses against itself")
    _ = comparison.markdown()
    let input = ReportInput(files: [("a.json", file)], comparison: comparison)
    do { try input.validate() } catch { oneLine(error) }
    _ = input.derivedVerdict
    let rendered = ReportWriter(input).render()
    check(rendered.contains { $0.name == "summary.md" }, "report without a summary")
    return 0
}
