import Foundation
import Testing
@testable import Quant

@Suite("Integer quantization")
struct IntegerQuantizationTests {
    @Test("INT8 per-tensor: scale 1 when amax = 127, ties round half to even")
    func int8TiesToEven() throws {
        let x: [Float] = [127, -2.5, 3.5, 0.5, -0.5, 1.5, -126.5]
        let t = try IntegerQuantizer.quantize(x, shape: shape(7))
        #expect(t.scales == [1])
        #expect(t.values() == [127, -2, 4, 0, 0, 2, -126])
        #expect(t.dequantized() == [127, -2, 4, 0, 0, 2, -126])
        // Negative control: rounding half away from zero would give different codes here.
        let away = x.map { Int8($0.rounded(.toNearestOrAwayFromZero)) }
        #expect(away != t.values())
    }

    @Test("scale = max(amax, 1e-5)/q_max; all-zero tensor gets the floor")
    func scaleFloor() throws {
        let t = try IntegerQuantizer.quantize([0, 0, 0], shape: shape(3))
        #expect(t.scales == [Float(1e-5) / 127])
        #expect(t.values() == [0, 0, 0])
        let u = try IntegerQuantizer.quantize([2, -1], shape: shape(2))
        #expect(u.scales == [Float(2) / 127])
    }

    @Test("INT4 packing: low nibble = even element, high nibble = odd element, pad 0")
    func int4Packing() throws {
        let x: [Float] = [7, -2.5, 3.5, 0.5, -7, 1.5, 6.5]
        let t = try IntegerQuantizer.quantize(x, shape: shape(7), bits: .int4)
        #expect(t.scales == [1])
        #expect(t.values() == [7, -2, 4, 0, -7, 2, 6])
        #expect(t.storage == [0xE7, 0x04, 0x29, 0x06])
        // Round trip through the validating initialiser.
        let u = try QuantizedIntegerTensor(shape: t.shape, bits: .int4, granularity: .perTensor, scales: t.scales, storage: t.storage)
        #expect(u == t)
        #expect(throws: QuantError.valueOutOfRange(what: "int4 codes", index: 1, value: -8, allowed: "[-7, 7]")) {
            try IntegerQuantizer.packed([1, -8], bits: .int4)
        }
        #expect(try IntegerQuantizer.packed([1, -7], bits: .int4) == [0x91])
        // Codable re-validates.
        let json = try JSONEncoder().encode(t)
        #expect(try JSONDecoder().decode(QuantizedIntegerTensor.self, from: json) == t)
        let bad = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"scales\":[1]", with: "\"scales\":[1,2]")
        #expect(throws: QuantError.self) { try JSONDecoder().decode(QuantizedIntegerTensor.self, from: Data(bad.utf8)) }
        // -8 (0x8 nibble) is outside the symmetric range and is rejected.
        #expect(throws: QuantError.self) {
            try QuantizedIntegerTensor(shape: shape(2), bits: .int4, granularity: .perTensor, scales: [1], storage: [0x08])
        }
        #expect(throws: QuantError.valueOutOfRange(what: "int4 padding nibble", index: 1, value: 1, allowed: "{0}")) {
            try QuantizedIntegerTensor(shape: shape(1), bits: .int4, granularity: .perTensor, scales: [1], storage: [0x10])
        }
    }

    @Test("per-group INT4 with a ragged last group")
    func int4PerGroup() throws {
        // rows of 5 with groups of 2: sizes 2, 2, 1 per row
        let x: [Float] = [7, 1, 14, -7, 3.5, /* row 2 */ 0, 0, -1, 0.5, 0]
        let t = try IntegerQuantizer.quantize(x, shape: shape(2, 5), bits: .int4, granularity: .blockwise(size: 2))
        #expect(t.scales == [1, 2, 0.5, Float(1e-5) / 7, Float(1) / 7, Float(1e-5) / 7])
        // 0.5 / fl(1/7) = 3.4999998 in Float32, so fake-quant gives 3, not 4 (division then
        // rounding, as fake_quant.py does in Float32).
        #expect(t.values() == [7, 1, 7, -4, 7, 0, 0, -7, 3, 0])
    }

    @Test("per-token over leading dims equals per-row; per-channel needs rank 2")
    func perToken() throws {
        let x = randomFloats(2 * 3 * 17, seed: 1)
        let a = try IntegerQuantizer.quantize(x, shape: shape(2, 3, 17), granularity: .perToken)
        let b = try IntegerQuantizer.quantize(x, shape: shape(6, 17), granularity: .perChannel)
        #expect(a.values() == b.values() && a.scales == b.scales && a.scales.count == 6)
        #expect(throws: QuantError.rankMismatch(what: "per-channel scaling of a weight [out, in]", expected: "2", actual: 3)) {
            try IntegerQuantizer.quantize(x, shape: shape(2, 3, 17), granularity: .perChannel)
        }
        // Hot path agrees with the generic path.
        var q = [Int8](repeating: 0, count: x.count)
        var s = [Float](repeating: 0, count: 6)
        try x.withUnsafeBufferPointer { xp in
            try q.withUnsafeMutableBufferPointer { qp in
                try s.withUnsafeMutableBufferPointer { sp in
                    try IntegerQuantizer.quantizeRowsInt8(xp, rows: 6, columns: 17, into: qp, scales: sp)
                }
            }
        }
        #expect(q == a.values() && s == a.scales)
        // Reference formula, element by element.
        for r in 0..<6 {
            let row = x[(r * 17)..<((r + 1) * 17)]
            let scale = max(row.map(abs).max()!, 1e-5) / 127
            #expect(s[r] == scale)
            for (k, v) in row.enumerated() {
                #expect(q[r * 17 + k] == Int8((v / scale).rounded(.toNearestOrEven)))
            }
        }
    }

    @Test("percentile amax: nearest rank, elements above clip")
    func percentile() throws {
        let x = (1...100).map { Float($0) }
        let t = try IntegerQuantizer.quantize(x, shape: shape(100), amax: .percentile(0.99))
        #expect(t.scales == [Float(99) / 127])
        #expect(t.values().last == 127)  // 100 clips
        let full = try IntegerQuantizer.quantize(x, shape: shape(100), amax: .percentile(1))
        #expect(full.scales == [Float(100) / 127])
    }

    @Test("error paths", arguments: [0.0, -0.1, 1.5, Double.nan])
    func invalidPercentile(p: Double) {
        #expect(throws: QuantError.self) {
            try IntegerQuantizer.quantize([1, 2], shape: shape(2), amax: .percentile(p))
        }
    }

    @Test("shape, group size and non-finite errors")
    func errors() throws {
        #expect(throws: QuantError.lengthMismatch(what: "values of shape [3]", expected: 3, actual: 2)) {
            try IntegerQuantizer.quantize([1, 2], shape: shape(3))
        }
        #expect(throws: QuantError.invalidGroupSize(0, reason: "block size must be at least 1")) {
            try IntegerQuantizer.quantize([1, 2], shape: shape(2), granularity: .blockwise(size: 0))
        }
        #expect(throws: QuantError.nonFiniteInput(what: "values", index: 1, value: .infinity)) {
            try IntegerQuantizer.quantize([1, .infinity], shape: shape(2))
        }
        #expect(throws: QuantError.invalidShape(dimensions: [2, 0], reason: "every dimension must be at least 1")) {
            try TensorShape([2, 0])
        }
        #expect(throws: QuantError.self) { try TensorShape([Int.max, 3]) }
        var q = [Int8](repeating: 0, count: 3)
        var s = [Float](repeating: 0, count: 1)
        let x: [Float] = [1, .nan, 3]
        #expect(throws: QuantError.nonFiniteInput(what: "input row 0", index: 1, value: .nan) ) {
            try x.withUnsafeBufferPointer { xp in
                try q.withUnsafeMutableBufferPointer { qp in
                    try s.withUnsafeMutableBufferPointer { sp in
                        try IntegerQuantizer.quantizeRowsInt8(xp, rows: 1, columns: 3, into: qp, scales: sp)
                    }
                }
            }
        } 
    }

    @Test("vector kernel matches the scalar formula on long rows (tails and ties)")
    func kernelAgreement() throws {
        var x = randomFloats(1000, seed: 7, scale: 3)
        x[0] = 4 * 127 / 127  // amax 4.x; plant exact ties relative to scale later
        let t = try IntegerQuantizer.quantize(x, shape: shape(1000))
        let scale = t.scales[0]
        let expected = x.map { v -> Int8 in
            let r = (v / scale).rounded(.toNearestOrEven)
            return Int8(max(-127, min(127, r)))
        }
        #expect(t.values() == expected)
    }
}
