import Foundation
import Testing
@testable import Quant

@Suite("Calibration statistics and metrics")
struct CalibrationStatisticsTests {
    @Test("small hand-checked batch")
    func handChecked() throws {
        let s = try CalibrationStatistics([1, -2, 3, -4])
        #expect(s.count == 4 && s.min == -4 && s.max == 3 && s.absMax == 4)
        #expect(s.mean == -0.5)
        // deviations 1.5, -1.5, 3.5, -3.5 → M2 = 29, population variance 7.25
        #expect(s.m2 == 29 && s.variance == 7.25)
        #expect(try s.quantileAbs(1) == 4)
        // k = 2nd smallest of {1,2,3,4} = 2; the sketch answers its bucket's largest Float32
        // (2 · (1 + 2^-7 − 2^-23)), an overestimate within the stated bound.
        #expect(try s.quantileAbs(0.5) == Float(bitPattern: Float(2).bitPattern | 0xFFFF))
        #expect(try s.suggestedIntegerScale() == Float(4) / 127)
    }

    @Test("merge(a, b) = stats(a ∪ b): exact parts bit-identical, moments within 1e-12")
    func mergeEqualsUnion() throws {
        let data = randomFloats(50_000, seed: 3, scale: 10).enumerated().map { $0.offset % 997 == 0 ? $0.element * 1000 : $0.element }
        let whole = try CalibrationStatistics(data)
        var merged = CalibrationStatistics()
        // uneven shards, merged in a different order than the data
        let cuts = [0, 7, 12_345, 12_346, 40_000, 50_000]
        var shards: [CalibrationStatistics] = []
        for k in 0..<(cuts.count - 1) {
            shards.append(try CalibrationStatistics(Array(data[cuts[k]..<cuts[k + 1]])))
        }
        for s in shards.reversed() { merged.merge(s) }
        #expect(merged.count == whole.count && merged.min == whole.min && merged.max == whole.max)
        #expect(merged.absMax == whole.absMax)
        #expect(try merged.quantileAbs(0.99) == whole.quantileAbs(0.99))
        #expect(abs(merged.mean - whole.mean) <= 1e-12 * abs(whole.mean) + 1e-15)
        #expect(abs(merged.m2 - whole.m2) <= 1e-12 * whole.m2)
        // Against a plain Float64 two-pass reference.
        let mu = data.reduce(0.0) { $0 + Double($1) } / Double(data.count)
        let m2 = data.reduce(0.0) { $0 + (Double($1) - mu) * (Double($1) - mu) }
        #expect(abs(whole.mean - mu) <= 1e-12 * abs(mu) + 1e-12)
        #expect(abs(whole.m2 - m2) <= 1e-12 * m2)
    }

    @Test("quantile sketch meets its stated bound: q* ≤ r < q*(1 + 2^-7)", arguments: [0.5, 0.9, 0.99, 0.999, 1.0])
    func sketchBound(p: Double) throws {
        for seed in 0..<5 {
            let data = randomFloats(10_001, seed: UInt64(seed), scale: Float(seed + 1) * 0.37)
            let s = try CalibrationStatistics(data)
            let sorted = data.map(abs).sorted()
            let k = max(1, Int((p * Double(data.count)).rounded(.up)))
            let exact = sorted[k - 1]
            let r = try s.quantileAbs(p)
            #expect(exact <= r)
            #expect(Double(r) < Double(exact) * (1 + 1.0 / 128))
            if p == 1 { #expect(r == exact) }
        }
    }

    @Test("negative control: a sketch that returns the bucket bottom can underestimate")
    func sketchNegativeControl() throws {
        // 1.5 lies inside a bucket (top 16 bits 0x3FC0); its bottom is 1.5 itself only by
        // accident, so use 1.503 whose bucket bottom is below it.
        let v: Float = 1.503
        let bottom = Float(bitPattern: v.bitPattern & 0xFFFF_0000)
        #expect(bottom < v)  // a bottom-returning sketch would violate q* ≤ r
        let s = try CalibrationStatistics([v])
        #expect(try s.quantileAbs(0.99) == v)  // clamped to absMax
        let t = try CalibrationStatistics([v, 2])
        #expect(try t.quantileAbs(0.5) >= v)
    }

    @Test("non-finite input throws and leaves the state unchanged; Codable round trip")
    func errorsAndCoding() throws {
        var s = try CalibrationStatistics([1, 2, 3])
        let before = s
        #expect(throws: QuantError.nonFiniteInput(what: "calibration batch", index: 1, value: .nan)) {
            try s.update([0, .nan])
        }
        #expect(s == before)
        #expect(throws: QuantError.invalidPercentile(0)) { try s.quantileAbs(0) }
        #expect(throws: QuantError.emptyInput(what: "calibration statistics")) { try CalibrationStatistics().quantileAbs(0.5) }
        let data = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(CalibrationStatistics.self, from: data) == s)
        let empty = try JSONEncoder().encode(CalibrationStatistics())
        #expect(try JSONDecoder().decode(CalibrationStatistics.self, from: empty) == CalibrationStatistics())
    }

    @Test("metrics on a hand-checked pair")
    func metrics() throws {
        let m = try QuantMetrics(reference: [3, 4], approximation: [3, 5])
        #expect(m.mse == 0.5 && m.mae == 0.5 && m.maxAbsError == 1)
        #expect(m.relativeError == 0.2)  // ‖(0,1)‖/‖(3,4)‖
        #expect(abs(m.sqnrDB - 10 * log10(25.0)) < 1e-12)
        let perfect = try QuantMetrics(reference: [1, 2], approximation: [1, 2])
        #expect(perfect.sqnrDB == .infinity && perfect.relativeError == 0)
        let zeroRef = try QuantMetrics(reference: [0, 0], approximation: [0, 1])
        #expect(zeroRef.relativeError == .infinity && zeroRef.sqnrDB == -.infinity)
        #expect(throws: QuantError.lengthMismatch(what: "approximation", expected: 2, actual: 1)) {
            try QuantMetrics(reference: [1, 2], approximation: [1])
        }
        #expect(throws: QuantError.emptyInput(what: "reference")) { try QuantMetrics(reference: [], approximation: []) }
        #expect(throws: QuantError.nonFiniteInput(what: "approximation", index: 0, value: .infinity)) {
            try QuantMetrics(reference: [1], approximation: [.infinity])
        }
    }
}
