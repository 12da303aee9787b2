import Conformance
import Foundation
import Quant

/// The oracle's exact matrix product, the reference every accuracy suite compares against:
/// Y = A·Wᵀ with A 64×1024 and W 1024×1024 (Float32), each of the 64 Ki outputs the exact sum
/// of 1024 exact products, rounded once (`ExactReference.product`). The target is
/// ≤ 5 s on the 2-core reference machine.
///
/// The oracle always spreads the entries over every core, so the case runs once, at the
/// machine's core count. `elements` counts multiply-adds (64 Mi); `bytes` the inputs read once
/// and the Float64 outputs written once.
public enum OracleBenchmarks {
    public static let all: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        guard ctx.sizes.contains(.dram) else { return [] }
        let (rows, inner, outputs) = (64, 1024, 1024)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let group = "oracle.exact-matmul"
        return [BenchCase(
            name: BenchCase.standardName(group: group, variant: "\(rows)x\(inner)x\(outputs)", size: .dram, threads: cores),
            group: group,
            parameters: ["shape": "A \(rows)x\(inner) · (W \(outputs)x\(inner))ᵀ", "input": "SyntheticLayer f = 50 (seeded)"],
            sizeClass: .dram, threads: cores, elements: rows * inner * outputs,
            bytes: (rows * inner + outputs * inner) * 4 + rows * outputs * 8,
            prepare: {
                let layer = SyntheticLayer(tokens: rows, inFeatures: inner, outFeatures: outputs, outlierFactor: 50)
                let a = layer.activations(), w = layer.weights()
                return { _ = try! ExactReference.product(a, rows: rows, w, outputs: outputs, inner: inner) }
            })]
    }
}
