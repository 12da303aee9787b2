import Foundation
import Testing
@testable import Conformance

/// Timings of the exact references, printed, never asserted. Run in release:
/// `QUANTCHECK_ACCURACY_BENCH=1 swift test -c release --filter AccuracyTimings`
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["QUANTCHECK_ACCURACY_BENCH"] != nil))
struct AccuracyTimings {
    @Test func exactProduct64x1024x1024() {
        let layer = SyntheticLayer(tokens: 64, inFeatures: 1024, outFeatures: 1024, outlierFactor: 50)
        let a = layer.activations(), w = layer.weights()
        let t0 = Date()
        let y = try! ExactReference.product(a, rows: 64, w, outputs: 1024, inner: 1024)
        print("BENCH exact product 64×1024 · (1024×1024)ᵀ, all cores: \(String(format: "%.3f", Date().timeIntervalSince(t0))) s (y[0] = \(y[0]))")
    }
}
