import Foundation
import Testing
@testable import Conformance

/// Writes `Golden/accuracy.json` from a reviewed run's results JSON. Run once, deliberately:
/// `QUANTCHECK_ACCURACY_GOLDEN_FROM=r.json swift test --filter AccuracyGoldenWriter`
/// (r.json from `quantcheck verify --suite mse-gain [--exhaustive] --json r.json`; an
/// existing golden file keeps its other scenarios).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["QUANTCHECK_ACCURACY_GOLDEN_FROM"] != nil))
struct AccuracyGoldenWriter {
    struct Results: Decodable { var suites: [SuiteResult] }

    @Test func write() throws {
        let from = ProcessInfo.processInfo.environment["QUANTCHECK_ACCURACY_GOLDEN_FROM"]!
        let results = try JSONDecoder().decode(Results.self, from: Data(contentsOf: URL(fileURLWithPath: from))).suites
        let scenarios = Set(results.filter { $0.suite == MSEGainSuite.name }.compactMap { $0.parameters["scenario"] })
        #expect(!scenarios.isEmpty, "no mse-gain results in \(from)")
        let path = AccuracyGolden.candidatePaths().last!
        var golden = (try? AccuracyGolden.load(path: path))
            ?? AccuracyGolden(description: AccuracyGolden.descriptionText, tolerancePolicy: AccuracyGolden.tolerancePolicyText, scenarios: [:])
        golden.description = AccuracyGolden.descriptionText
        golden.tolerancePolicy = AccuracyGolden.tolerancePolicyText
        for s in scenarios {
            let g = AccuracyGolden.from(
                results: results, scenario: s, tolerance: { _, _ in AccuracyGolden.defaultTolerance },
                description: golden.description, tolerancePolicy: golden.tolerancePolicy)
            golden.scenarios[s] = g.scenarios[s]
        }
        try golden.jsonString().write(toFile: path, atomically: true, encoding: .utf8)
        print("wrote \(path): scenarios \(golden.scenarios.keys.sorted())")
    }
}
