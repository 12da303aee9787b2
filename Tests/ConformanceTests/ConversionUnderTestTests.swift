import Foundation
import Testing
import Formats
import Quant
@testable import Conformance

/// An implementation that behaves like the production codec except that it "crashes" on one
/// input of every list call (it reports a fault for that input and delivers the rest), as a host
/// of foreign code does; the suites must turn the fault into a failing counterexample without a
/// plugin process.
private final class FaultingCodec: ConversionUnderTest {
    let inner: CodecUnderTest
    let faultAt: Int

    init(_ codec: NarrowFloatCodec, faultAt: Int) {
        inner = CodecUnderTest(codec)
        self.faultAt = faultAt
    }

    var format: FloatFormat { inner.format }
    var policy: ConversionPolicy { inner.policy }
    var entries: Set<ConversionEntry> { [.float32, .decode] }
    func name(of entry: ConversionEntry) -> String { "faulty_\(entry.rawValue)" }
    func parameters(for entry: ConversionEntry?) -> [String: String] { [:] }

    /// Delivers everything but input `faultAt`, and reports it as a crash.
    private func dropping<O>(_ count: Int, _ call: (Delivery<O>) throws -> [ConversionFault], deliver: Delivery<O>) rethrows -> [ConversionFault] {
        try withoutActuallyEscaping(deliver) { deliver in
            _ = try call { first, out in
                for (k, v) in out.enumerated() where first + k != faultAt {
                    withUnsafePointer(to: v) { deliver(first + k, UnsafeBufferPointer(start: $0, count: 1)) }
                }
            }
        }
        let i = UInt64(faultAt)
        return [ConversionFault(inputs: i..<(i + 1), call: 0..<UInt64(count), label: "crash", description: "crashed: SIGSEGV (signal 11)", reproduced: true)]
    }

    func encode(_ inputs: UnsafeBufferPointer<Float>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try dropping(inputs.count, { try inner.encode(inputs, deliver: $0) }, deliver: deliver)
    }
    func encode(_ inputs: UnsafeBufferPointer<Double>, route: Int, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        throw UnsupportedEntry(.float64)
    }
    func encode(float16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        throw UnsupportedEntry(.float16)
    }
    func encode(bfloat16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        throw UnsupportedEntry(.bfloat16)
    }
    func encode(_ inputs: UnsafeBufferPointer<Float>, randomBits: UnsafeBufferPointer<UInt64>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        throw UnsupportedEntry(.stochasticFloat32)
    }
    func decode(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Float>) throws -> [ConversionFault] {
        try dropping(codes.count, { try inner.decode(codes, deliver: $0) }, deliver: deliver)
    }
    func decodeFloat64(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Double>) throws -> [ConversionFault] {
        throw UnsupportedEntry(.decodeFloat64)
    }
    func encodeFloat32Patterns<Code: SweepCode>(
        _ patterns: Range<UInt64>, worker: Int, codeType: Code.Type, deliver: (UInt64, UnsafeBufferPointer<Code>) -> Void
    ) throws -> [ConversionFault] {
        try inner.encodeFloat32Patterns(patterns, worker: worker, codeType: codeType, deliver: deliver)
    }
}

@Suite struct ConversionUnderTestTests {
    @Test func aFaultBecomesAFailingCounterexampleAndTheRestIsChecked() throws {
        let impl = FaultingCodec(NarrowFloatCodec(format: .e4m3fn), faultAt: 0x42)
        let results = ConversionSuite.run([.decode, .roundtrip, .exhaustiveFloat32], on: impl, patterns: 0..<(1 << 16), threads: 2)
        #expect(results.map(\.suite) == ["decode", "roundtrip", "exhaustive-f32"])
        let decode = results[0]
        #expect(!decode.passed)
        #expect(decode.covered == 255 && decode.expected == 256 && decode.mismatches == 1)
        let c = try #require(decode.counterexamples.first)
        #expect(c.inputBits == "0x42" && c.gotCode == "crash")
        #expect(c.note.hasPrefix("faulty_decode call on inputs 0x00…0xff (n = 256)"))
        // The round trip has only the f32 encoder here: one case, named by the entry.
        #expect(results[1].caseName == "e4m3fn/nonsat/rne/f32" && results[1].mismatches == 1)
        // The sweep faults nowhere and passes.
        #expect(results[2].passed && results[2].covered == 1 << 16)
    }

    @Test func anEntryTheImplementationLacksIsAnErrorCase() {
        let impl = FaultingCodec(NarrowFloatCodec(format: .e4m3fn), faultAt: 0)
        let results = ConversionSuite.run([.float64], on: impl, threads: 1)
        #expect(results.count == 1 && results[0].caseName == "error" && !results[0].passed)
        #expect(results[0].parameters["error"] == "entry point f64 is not implemented")
    }
}
