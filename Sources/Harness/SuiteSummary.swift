import Conformance
import Foundation

/// The readable summary printed by `verify` and `conform`: one line per suite (a throughput line
/// for cases that report one), then each failing case with up to three wrong outputs and up to
/// three faults (a fault carries its note: the call it happened in), then the verdict.
public enum SuiteSummary {
    /// `command` names the verdict line (`verify: PASS …`).
    public static func text(_ results: [SuiteResult], wallSeconds: Double, command: String) -> String {
        var lines: [String] = []
        var order: [String] = []
        var bySuite: [String: [SuiteResult]] = [:]
        for r in results {
            if bySuite[r.suite] == nil { order.append(r.suite) }
            bySuite[r.suite, default: []].append(r)
        }
        for name in order {
            let rs = bySuite[name]!
            let failed = rs.filter { !$0.passed }
            let covered = rs.reduce(UInt64(0)) { $0 &+ $1.covered }
            let mism = rs.reduce(UInt64(0)) { $0 &+ $1.mismatches }
            let secs = rs.reduce(0.0) { $0 + $1.wallSeconds }
            lines.append(
                "\(failed.isEmpty ? "PASS" : "FAIL")  \(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(rs.count) cases, "
                    + "\(covered) inputs, \(mism) mismatches, \(String(format: "%.2f", secs)) s")
            for r in rs {
                if let rate = r.metrics.first(where: { $0.name == "inputs_per_second" }), r.covered > 0 {
                    let plugin = r.metrics.first { $0.name == "plugin_seconds" }?.value ?? 0
                    lines.append(
                        "      \(r.caseName): \(String(format: "%.3f", rate.value / 1e9)) G inputs/s with \(r.parameters["workers"] ?? "?") workers"
                            + " (\(String(format: "%.1f", plugin)) s inside the kernel, summed over workers)")
                }
            }
            for f in failed.prefix(20) {
                var line = "      ✗ \(f.caseName): \(f.mismatches) mismatches, covered \(f.covered)"
                if let e = f.expected, e != f.covered { line += " of \(e) expected" }
                if let err = f.parameters["error"] { line += "; error: \(err)" }
                if let stop = f.parameters["stopped"] { line += "; \(stop)" }
                lines.append(line)
                // The first three wrong outputs, and the first three faults even when wrong
                // outputs come earlier in input order (a crash must never scroll out of sight).
                let faults = f.counterexamples.filter { ConversionFault.labels.contains($0.gotCode) }
                let wrong = f.counterexamples.filter { !ConversionFault.labels.contains($0.gotCode) }
                for c in wrong.prefix(3) {
                    lines.append("        input \(c.inputBits) = \(c.inputValue): expected \(c.expectedCode) (\(c.expectedValue)), got \(c.gotCode) (\(c.gotValue))")
                }
                for c in faults.prefix(3) {
                    lines.append("        input \(c.inputBits) = \(c.inputValue): expected \(c.expectedCode) (\(c.expectedValue)) → \(c.gotValue)")
                    lines.append("          \(c.note)")
                }
            }
        }
        let failedCount = results.filter { !$0.passed }.count
        lines.append(
            failedCount == 0
                ? "\(command): PASS (\(results.count) cases in \(String(format: "%.1f", wallSeconds)) s)"
                : "\(command): FAIL (\(failedCount) of \(results.count) cases failed, \(String(format: "%.1f", wallSeconds)) s)")
        return lines.joined(separator: "\n")
    }
}
