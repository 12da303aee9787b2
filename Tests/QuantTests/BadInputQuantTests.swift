import Formats
import Foundation
import Testing
@testable import Quant

/// The bad-input campaign at the library level: every call below is something a user can get
/// wrong, and each must throw a typed error whose description is the one line shown (these
/// are the messages quoted in the README's "Reliability" table). None may trap, clamp or
/// return a partial result.
@Suite("Bad input: Quant library")
struct BadInputQuantTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let label: String
        let message: String
        let call: @Sendable () throws -> Void
        var testDescription: String { label }
    }

    static func shape(_ d: [Int]) -> TensorShape { try! TensorShape(d) }

    static let cases: [Case] = [
        // Shapes.
        Case(label: "zero-size dimension", message: "invalid shape [4, 0]: every dimension must be at least 1") {
            _ = try TensorShape([4, 0])
        },
        Case(label: "no dimensions", message: "invalid shape []: a tensor needs at least one dimension") {
            _ = try TensorShape([])
        },
        Case(label: "element count overflow", message: "invalid shape [4294967296, 4294967296]: element count overflows Int") {
            _ = try TensorShape([1 << 32, 1 << 32])
        },
        Case(label: "values do not match the shape", message: "values of shape [3, 4]: expected 12 elements, got 11") {
            _ = try IntegerQuantizer.quantize([Float](repeating: 1, count: 11), shape: shape([3, 4]))
        },
        // Calibration: NaN/Inf activations.
        Case(label: "NaN into calibration statistics", message: "calibration batch: non-finite value nan at index 1") {
            _ = try CalibrationStatistics([1, .nan, 2])
        },
        Case(label: "Inf into calibration statistics", message: "calibration batch: non-finite value -inf at index 0") {
            _ = try CalibrationStatistics([-.infinity])
        },
        Case(label: "NaN activations into the SmoothQuant calibrator", message: "activations of layer 'q': non-finite value nan at index 5") {
            var c = SmoothQuantCalibrator()
            try c.observe(layer: "q", activations: [1, 2, 3, 4, 5, .nan], shape: shape([2, 3]))
        },
        Case(label: "Inf activations into the SmoothQuant calibrator", message: "activations of layer 'q': non-finite value inf at index 0") {
            var c = SmoothQuantCalibrator()
            try c.observe(layer: "q", activations: [.infinity, 1], shape: shape([1, 2]))
        },
        Case(label: "calibrator batch with another feature count", message: "layer 'q': expected 3 features, got 2") {
            var c = SmoothQuantCalibrator()
            try c.observe(layer: "q", activations: [1, 2, 3], shape: shape([1, 3]))
            try c.observe(layer: "q", activations: [1, 2], shape: shape([1, 2]))
        },
        Case(label: "unknown calibration layer", message: "unknown layer 'k'") {
            _ = try SmoothQuantCalibrator().activationMax(layer: "k")
        },
        Case(label: "quantile of empty statistics", message: "calibration statistics is empty") {
            _ = try CalibrationStatistics().quantileAbs(0.5)
        },
        Case(label: "percentile 0", message: "percentile must be in (0, 1], got 0.0") {
            _ = try CalibrationStatistics([1]).quantileAbs(0)
        },
        Case(label: "percentile NaN", message: "percentile must be in (0, 1], got nan") {
            _ = try IntegerQuantizer.quantize([1, 2], shape: shape([2]), amax: .percentile(.nan))
        },
        // SmoothQuant α and smoothing inputs.
        Case(label: "alpha NaN", message: "SmoothQuant alpha must be in [0, 1], got nan") { _ = try SmoothQuantConfig(alpha: .nan) },
        Case(label: "alpha -0.1", message: "SmoothQuant alpha must be in [0, 1], got -0.1") { _ = try SmoothQuantConfig(alpha: -0.1) },
        Case(label: "alpha 1.5", message: "SmoothQuant alpha must be in [0, 1], got 1.5") { _ = try SmoothQuantConfig(alpha: 1.5) },
        Case(label: "epsilon 0", message: "invalid epsilon 0.0: must be finite and > 0") { _ = try SmoothQuantConfig(epsilon: 0) },
        Case(label: "NaN activation maxima into smoothing", message: "activation maxima: non-finite value nan at index 1") {
            _ = try SmoothQuant.factors(activationMax: [1, .nan], weightMax: [1, 1], config: SmoothQuantConfig())
        },
        Case(label: "smoothing factors of the wrong length", message: "weight channel maxima: expected 2 elements, got 3") {
            _ = try SmoothQuant.factors(activationMax: [1, 2], weightMax: [1, 1, 1], config: SmoothQuantConfig())
        },
        Case(label: "smoothing activations with mismatched factors", message: "smoothing factors: expected 4 elements, got 3") {
            _ = try SmoothQuant.smoothedActivations([Float](repeating: 1, count: 8), shape: shape([2, 4]), factors: [1, 1, 1])
        },
        Case(label: "smoothing weights with mismatched factors", message: "smoothing factors: expected 4 elements, got 5") {
            _ = try SmoothQuant.smoothedWeights([Float](repeating: 1, count: 8), shape: shape([2, 4]), factors: [1, 1, 1, 1, 1])
        },
        Case(label: "empty norm", message: "norm gamma is empty") { _ = try NormParameters(gamma: []) },
        Case(label: "norm beta length", message: "norm beta: expected 2 elements, got 1") { _ = try NormParameters(gamma: [1, 1], beta: [0]) },
        // Metrics and kernels: two tensors that must agree.
        Case(label: "metrics of different lengths", message: "approximation: expected 3 elements, got 2") {
            _ = try QuantMetrics(reference: [1, 2, 3], approximation: [1, 2])
        },
        Case(label: "metrics of empty tensors", message: "reference is empty") {
            _ = try QuantMetrics(reference: [], approximation: [])
        },
        Case(label: "W8A8 input of the wrong length", message: "activations [2, 4]: expected 8 elements, got 7") {
            let w = try W8A8Linear(weights: [Float](repeating: 0.5, count: 8), shape: shape([2, 4]))
            _ = try w.forward([Float](repeating: 1, count: 7), batch: 2)
        },
        Case(label: "W8A8 NaN activations", message: "input row 0: non-finite value nan at index 0") {
            let w = try W8A8Linear(weights: [Float](repeating: 0.5, count: 8), shape: shape([2, 4]))
            _ = try w.forward([.nan, 1, 1, 1], batch: 1)
        },
        Case(label: "FP8 scales of the wrong count", message: "scales: expected 2 elements, got 1") {
            _ = try FP8Scaling.quantize([1, 2, 3, 4], shape: shape([2, 2]), format: .e4m3fn, granularity: .perToken, scales: [1])
        },
        Case(label: "FP8 scaling into a 16-bit format", message: "format bfloat16 is not supported here: scaled tensors hold codes of at most 8 bits") {
            _ = try FP8Scaling.quantize([1, 2], shape: shape([2]), format: .bfloat16)
        },
        Case(label: "blockwise group size 0", message: "invalid group size 0: block size must be at least 1") {
            _ = try IntegerQuantizer.quantize([1, 2], shape: shape([1, 2]), granularity: .blockwise(size: 0))
        },
        Case(label: "per-channel scaling of a 1-D tensor", message: "per-channel scaling of a weight [out, in]: expected rank 2, got rank 1") {
            _ = try IntegerQuantizer.quantize([1, 2], shape: shape([2]), granularity: .perChannel)
        },
        Case(label: "integer tensor storage of the wrong length", message: "int8 storage: expected 4 elements, got 3") {
            _ = try QuantizedIntegerTensor(shape: shape([2, 2]), bits: .int8, granularity: .perTensor, scales: [1], storage: [1, 2, 3])
        },
        Case(label: "integer tensor code -128", message: "int8 codes: value -128.0 at index 0 is outside [-127, 127]") {
            _ = try QuantizedIntegerTensor(shape: shape([2]), bits: .int8, granularity: .perTensor, scales: [1], storage: [0x80, 0])
        },
        Case(label: "SmoothQuant weights with other in-features", message: "layer 'weights[0]': expected 3 features, got 2") {
            _ = try SmoothQuant.factors(activationMax: [1, 2, 3], weights: [([Float](repeating: 1, count: 4), shape([2, 2]))], config: SmoothQuantConfig())
        },
        Case(label: "smoothing activations whose values do not match the shape", message: "activations of shape [2, 2]: expected 4 elements, got 3") {
            _ = try SmoothQuant.smoothedActivations([1, 2, 3], shape: shape([2, 2]), factors: [1, 1])
        },
        Case(label: "W8A8 weights and scales of different lengths", message: "weight scales: expected 2 elements, got 1") {
            _ = try W8A8Linear(codes: [1, 2, 3, 4], weightScales: [1], outFeatures: 2, inFeatures: 2)
        },
        Case(label: "GEMV with mismatched vector", message: "x: expected 3 elements, got 2") {
            let w = [Float](repeating: 1, count: 6), x: [Float] = [1, 2]
            var y = [Float](repeating: 0, count: 2)
            try w.withUnsafeBufferPointer { wb in
                try x.withUnsafeBufferPointer { xb in
                    try y.withUnsafeMutableBufferPointer { try Float32GEMV.multiply(weights: wb, rows: 2, columns: 3, x: xb, into: $0) }
                }
            }
        },
        Case(label: "calibrator merge with other feature count", message: "layer 'q': expected 2 features, got 3") {
            var a = SmoothQuantCalibrator(), b = SmoothQuantCalibrator()
            try a.observe(layer: "q", activations: [1, 2], shape: shape([1, 2]))
            try b.observe(layer: "q", activations: [1, 2, 3], shape: shape([1, 3]))
            try a.merge(b)
        },
        // Codec bulk API.
        Case(label: "codec output shorter than input", message: "input has 3 elements but output has room for 2") {
            var out = [UInt8](repeating: 0, count: 2)
            let codec = NarrowFloatCodec(format: .e4m3fn)
            try [Float](repeating: 1, count: 3).withUnsafeBufferPointer { i in
                try out.withUnsafeMutableBufferPointer { try codec.encode(i, into: $0) }
            }
        },
        Case(label: "codec thread count 0", message: "thread count must be at least 1 (got 0)") {
            _ = try NarrowFloatCodec(format: .e4m3fn).encode([1], threads: 0)
        },
        Case(label: "16-bit format into 8-bit codes", message: "bfloat16 codes are 16 bits wide and do not fit 8-bit storage") {
            _ = try NarrowFloatCodec(format: .bfloat16).encode([1])
        },
        Case(label: "invalid E2M1 code", message: "element 1 holds code 0x10, which is not a valid e2m1fn code") {
            _ = try NarrowFloatCodec(format: .e2m1fn).decode([UInt8]([3, 16, 255]))
        },
        Case(label: "invalid E3M2 16-bit code", message: "element 0 holds code 0x40, which is not a valid e3m2fn code") {
            _ = try NarrowFloatCodec(format: .e3m2fn).decode([UInt16]([64]))
        },
    ]

    @Test(arguments: cases)
    func badInputThrowsTheDocumentedMessage(_ c: Case) {
        do {
            try c.call()
            Issue.record("\(c.label): accepted")
        } catch {
            let s = "\(error)"
            #expect(s == c.message, "\(c.label)")
            #expect(!s.contains("\n"))
            #expect(error is QuantError || error is CodecError, "\(c.label): untyped error \(type(of: error))")
        }
    }

    /// Regression (codec fuzzer under ASan): 8-bit decode read `table[code]` before checking
    /// the code, past the 16/64-entry tables of the sub-byte formats. Every 8-bit code of
    /// every sub-byte format must decode or be refused, in bulks long enough for the vector
    /// loop; ASan (`swift test --sanitize=address`, CI) catches any over-read.
    @Test func subByteDecodeOfEveryByteIsInBounds() throws {
        for f in FloatFormat.all where f.bitWidth < 8 {
            let codec = NarrowFloatCodec(format: f)
            let all = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            #expect(throws: CodecError.invalidCode(index: all.firstIndex { Int($0) >= f.codeCount }!, code: UInt16(all.first { Int($0) >= f.codeCount }!), format: f.name)) {
                _ = try codec.decode(all, threads: 2)
            }
            let valid = all.map { $0 % UInt8(f.codeCount) }
            let out = try codec.decode(valid)
            #expect(zip(valid, out).allSatisfy { codec.decodeFloat(UInt16($0)).bitPattern == $1.bitPattern })
        }
    }

    /// Regressions (calibration fuzz target): persisted states whose counters are near
    /// `Int.max`, or whose sketch counts wrap when added, decoded fine and then trapped in
    /// `quantileAbs`, `merge` or the next step. Decoding now refuses them; the same documents
    /// with sane counters decode (positive controls).
    @Test func persistedStatesWithImpossibleCountersAreRefused() throws {
        func decodes<T: Decodable>(_ type: T.Type, _ json: String) -> Bool {
            (try? JSONDecoder().decode(T.self, from: Data(json.utf8))) != nil
        }
        let one: UInt32 = 0x3F80_0000
        func stats(count: String, counts: String, indices: String = "[16256]") -> String {
            #"{"count": \#(count), "min": \#(one), "max": \#(one), "mean": 1, "m2": 0, "absMax": \#(one), "bucketIndices": \#(indices), "bucketCounts": \#(counts)}"#
        }
        #expect(decodes(CalibrationStatistics.self, stats(count: "3", counts: "[3]")))
        #expect(!decodes(CalibrationStatistics.self, stats(count: "9223372036854775807", counts: "[9223372036854775807]")))
        #expect(!decodes(CalibrationStatistics.self, stats(count: "1", counts: "[18446744073709551615, 2]", indices: "[16256, 16257]")))
        #expect(!decodes(CalibrationStatistics.self, stats(count: "2", counts: "[1, 1]", indices: "[16256, 16256]")))
        let s = try JSONDecoder().decode(CalibrationStatistics.self, from: Data(stats(count: "3", counts: "[3]").utf8))
        #expect(try s.quantileAbs(1) == 1)

        func delayed(step: String, overflows: String = "0") -> String {
            #"{"recipe": {"margin": 0, "historyLength": 1, "algorithm": "max", "updateInterval": 1, "rounding": "exact"}, "formatName": "e4m3fn", "amaxHistory": [0], "scale": 1.0, "scaleInverse": 1.0, "step": \#(step), "overflowCount": \#(overflows), "underflowCount": 0}"#
        }
        #expect(decodes(DelayedScalingState.self, delayed(step: "7")))
        #expect(!decodes(DelayedScalingState.self, delayed(step: "9223372036854775807")))
        #expect(!decodes(DelayedScalingState.self, delayed(step: "1", overflows: "9223372036854775807")))
        #expect(!decodes(DelayedScalingState.self, delayed(step: "1", overflows: "-1")))

        func calibrator(tokens: String) -> String {
            #"{"layers": {"q": {"features": 2, "absMax": [1, 2], "tokens": \#(tokens), "batches": 1}}}"#
        }
        #expect((try? SmoothQuantCalibrator(jsonData: Data(calibrator(tokens: "4").utf8))) != nil)
        #expect((try? SmoothQuantCalibrator(jsonData: Data(calibrator(tokens: "9223372036854775807").utf8))) == nil)
    }

    /// A rejected calibration batch leaves the state exactly as it was (no half-applied batch).
    @Test func rejectedBatchesLeaveStateUnchanged() throws {
        var c = SmoothQuantCalibrator()
        try c.observe(layer: "q", activations: [1, -2, 3, 4], shape: Self.shape([2, 2]))
        let before = c
        #expect(throws: QuantError.self) { try c.observe(layer: "q", activations: [9, 9, 9, .nan], shape: Self.shape([2, 2])) }
        #expect(c == before)
        var s = try CalibrationStatistics([1, 2, 3])
        let sBefore = s
        #expect(throws: QuantError.self) { try s.update([100, .infinity]) }
        #expect(s == sBefore)
    }
}
