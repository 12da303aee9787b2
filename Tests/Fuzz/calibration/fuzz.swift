// libFuzzer target: the persisted calibration and scaling states of `Quant` — what a user saves
// to disk between calibration runs, or gathers from several machines to merge:
// `SmoothQuantCalibrator(jsonData:)`, and `JSONDecoder` on `CalibrationStatistics`,
// `DelayedScalingState` and `QuantizedIntegerTensor`.
//
// Input: byte 0 selects the type (mod 4); the rest is the JSON text. Properties (a violation
// traps):
//   1. decoding never traps: it returns a value or throws;
//   2. an accepted value re-encodes to JSON that decodes to an equal value (canonical form);
//   3. an accepted value can be used: merged with itself (calibrators, statistics), queried
//      (maxima, quantiles, scales), stepped (delayed scaling), dequantized (integer tensors) —
//      each either works or throws a `QuantError`, never traps.
import Formats
import Foundation
import Quant

@inline(never)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("calibration fuzz: " + message()) }
}

func typed(_ e: Error) {
    check(e is QuantError || e is DecodingError || e is FormatError || e is CocoaError || (e as NSError).domain == NSCocoaErrorDomain,
          "untyped error \(type(of: e)): \(e)")
}

/// Encoding is canonical: encode(decode(encode(v))) == encode(v). (Compared as bytes, not
/// with `==`, which is false for states holding NaN amaxes.)
func roundTrip<T: Codable>(_ v: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
        let data = try encoder.encode(v)
        let again = try JSONDecoder().decode(T.self, from: data)
        let twice = try encoder.encode(again)
        check(twice == data, "\(T.self) changed in a JSON round trip")
    } catch { check(false, "\(T.self) re-encoding failed: \(error)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let kind = Int(data![0]) % 4
    let json = Data(bytes: data! + 1, count: size - 1)
    let decoder = JSONDecoder()
    switch kind {
    case 0:
        do {
            var c = try SmoothQuantCalibrator(jsonData: json)
            roundTrip(c)
            for name in c.layerNames {
                let m = try c.activationMax(layer: name)
                check(m.allSatisfy { $0.isFinite && $0 >= 0 }, "activation maxima not finite and ≥ 0")
                let w = [Float](repeating: 0.5, count: m.count * 2)
                do {
                    let f = try c.factors(layer: name, weights: [(w, try TensorShape([2, m.count]))], config: SmoothQuantConfig())
                    check(f.count == m.count && f.allSatisfy { $0.isFinite && $0 > 0 }, "factors not finite and > 0")
                } catch { typed(error) }
            }
            let copy = c
            do { try c.merge(copy) } catch { typed(error) }
            let rows = try TensorShape([1, 3])
            do { try c.observe(layer: c.layerNames.first ?? "x", activations: [1, -2, 3], shape: rows) } catch { typed(error) }
        } catch { typed(error) }
    case 1:
        do {
            var s = try decoder.decode(CalibrationStatistics.self, from: json)
            roundTrip(s)
            for p in [1e-9, 0.5, 0.99, 1] {
                do { _ = try s.quantileAbs(p) } catch { typed(error) }
            }
            do { _ = try s.suggestedIntegerScale() } catch { typed(error) }
            do { _ = try s.suggestedFloatScale(format: .e4m3fn, amax: .percentile(0.999)) } catch { typed(error) }
            _ = s.p99Abs
            _ = s.sampleStandardDeviation
            let copy = s
            s.merge(copy)
            do { try s.update([1, 2, 3]) } catch { typed(error) }
        } catch { typed(error) }
    case 2:
        do {
            var st = try decoder.decode(DelayedScalingState.self, from: json)
            roundTrip(st)
            for _ in 0..<3 {
                do { _ = try st.quantize([1, -300, 0.001, 1e6], shape: try TensorShape([4])) } catch { typed(error) }
            }
            st.record(amax: .nan)
            st.updateScale()
        } catch { typed(error) }
    default:
        do {
            let t = try decoder.decode(QuantizedIntegerTensor.self, from: json)
            roundTrip(t)
            let v = t.values()
            check(v.count == t.shape.elementCount, "values count")
            let d = t.dequantized()
            check(d.count == t.shape.elementCount, "dequantized count")
            do { _ = try W8A8Linear(t) } catch { typed(error) }
        } catch { typed(error) }
    }
    return 0
}
