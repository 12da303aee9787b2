import Conformance
import Foundation
@testable import Harness

/// A fresh empty directory under the system temporary directory.
func makeTempDirectory(_ tag: String = #function) -> String {
    let safe = tag.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "quantcheck-tests-\(safe)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A fixed stamp so files are byte-comparable across test runs.
func fixedStamp(commit: String = "0123456789abcdef0123456789abcdef01234567", machine: String = "amd-epyc-2c") -> RunStamp {
    RunStamp(
        gitCommit: commit, date: "2026-11-23T09:00:00Z", cpuModel: "AMD EPYC", coreCount: 2,
        machine: machine, swiftCompiler: ">=6.3", swiftToolchain: "Swift version 6.3.1",
        buildConfiguration: "release", commandLine: ["quantcheck", "verify"])
}

func sampleSuite(_ name: String = "encode", caseName: String = "e4m3fn/sat/rne", covered: UInt64 = 100,
                 mismatches: UInt64 = 0, counterexamples: Int = 0) -> SuiteResult {
    let cx = (0..<counterexamples).map { i in
        Counterexample(inputBits: String(format: "0x%08x", i), inputValue: "\(i)", expectedCode: "0x00",
                       expectedValue: "0", gotCode: "0x01", gotValue: "0.001953125", note: "test")
    }
    return SuiteResult(suite: name, caseName: caseName, passed: mismatches == 0, covered: covered,
                       expected: covered, mismatches: mismatches, counterexamples: cx,
                       metrics: [Metric(name: "max-ulp", value: 0, bound: 0.5, unit: "ulp")],
                       parameters: ["seed": "42"], wallSeconds: 0.5)
}

func sampleBench(_ name: String, median: Double, spread: Double = 0.01, count: Int = 9) -> BenchResult {
    // Deterministic spread around the median: −spread … +spread, symmetric.
    let denominator = Double(max(count - 1, 1))
    let samples: [Double] = (0..<count).map { (i: Int) -> Double in
        let position = Double(i) / denominator * 2 - 1
        return median * (1 + spread * position)
    }
    return BenchResult(name: name, group: String(name.split(separator: "/").first!), sizeClass: "dram",
                       threads: 1, elements: 1 << 20, bytes: 5 << 20, warmupIterations: 1,
                       iterationsPerRepetition: 1, samples: samples)
}
