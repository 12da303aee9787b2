import Dispatch
import Foundation
import Formats
import Oracle
import Quant

/// Inputs a user supplies (a tensor of their model, or the outputs of `quantcheck inputs`), in
/// their order, as the implementation's entry point of that type takes them.
public enum SuppliedInputs: Sendable {
    case float32([Float])
    case float64([Double])
    /// binary16 bit patterns.
    case float16([UInt16])
    /// bfloat16 bit patterns.
    case bfloat16([UInt16])

    public var count: Int {
        switch self {
        case .float32(let v): return v.count
        case .float64(let v): return v.count
        case .float16(let v), .bfloat16(let v): return v.count
        }
    }

    /// The entry point these inputs go through.
    public var entry: ConversionEntry {
        switch self {
        case .float32: return .float32
        case .float64: return .float64
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        }
    }
}

/// The `inputs` suite: every supplied input through the implementation's encoder of its type,
/// each code compared with the oracle's (under the implementation's NaN rule). Covered must
/// equal the number of inputs: an input the implementation did not answer (a file host whose
/// outputs lack it) fails the case.
public enum GivenInputsSuite {
    public static func run(
        _ implementation: some ConversionUnderTest, inputs: SuppliedInputs, threads: Int
    ) throws -> SuiteResult {
        let t0 = Date()
        let (format, policy) = (implementation.format, implementation.policy)
        let oracle = try RoundingOracle(format: format, policy: policy)
        let values = ExactValueTable(format: format)
        let n = inputs.count
        let oracleInput: (Int) -> OracleInput
        let describe: (UInt64) -> (bits: String, value: String)
        switch inputs {
        case .float32(let xs):
            oracleInput = { .float32(bits: xs[$0].bitPattern) }
            describe = { i in
                let b = xs[Int(i)].bitPattern
                return (Describe.hex(b, digits: 8), Describe.float32(b))
            }
        case .float64(let xs):
            oracleInput = { .float64(bits: xs[$0].bitPattern) }
            describe = { i in
                let x = xs[Int(i)]
                return (Describe.hex(x.bitPattern, digits: 16), "\(x) (\(Describe.hexFloat(x)))")
            }
        case .float16(let bs):
            oracleInput = { .binary16(bits: bs[$0]) }
            describe = { i in
                let b = bs[Int(i)]
                return (Describe.hex(b, digits: 4), Describe.float32(NarrowFloatCodec.float32Bits(fromFloat16Bits: b)))
            }
        case .bfloat16(let bs):
            oracleInput = { .bfloat16(bits: bs[$0]) }
            describe = { i in
                let b = bs[Int(i)]
                return (Describe.hex(b, digits: 4), Describe.float32(UInt32(b) << 16))
            }
        }
        // The oracle's answers, on `threads` threads (MPFR for Float64 inputs is the slow part).
        var expected = [UInt16](repeating: 0, count: n)
        let parts = max(1, min(threads, n / 10_000))
        let per = (n + parts - 1) / parts
        expected.withUnsafeMutableBufferPointer { out in
            let out = UncheckedBox(out)
            DispatchQueue.concurrentPerform(iterations: parts) { j in
                for i in (j * per)..<min(n, (j + 1) * per) { out.value[i] = oracle.code(for: oracleInput(i)) }
            }
        }
        let matcher = implementation.codeMatcher
        var evidence = CaseEvidence()
        implementation.beginCase()
        let deliver: Delivery<UInt16> = { first, out in
            for (k, got) in out.enumerated() {
                let i = first + k, e = expected[i]
                evidence.wrong.check(matcher.matches(expected: e, got: got), at: UInt64(i)) {
                    Counterexample(
                        inputBits: describe(UInt64(i)).bits, inputValue: describe(UInt64(i)).value,
                        expectedCode: Describe.code(e, format), expectedValue: Describe.value(e, values),
                        gotCode: Describe.code(got, format), gotValue: Describe.value(got, values),
                        note: "input #\(i), \(inputs.entry.rawValue) → \(format.name) \(policy)")
                }
            }
        }
        let faults: [ConversionFault]
        switch inputs {
        case .float32(let xs): faults = try xs.withUnsafeBufferPointer { try implementation.encode($0, deliver: deliver) }
        case .float64(let xs): faults = try xs.withUnsafeBufferPointer { try implementation.encode($0, route: 0, deliver: deliver) }
        case .float16(let bs): faults = try bs.withUnsafeBufferPointer { try implementation.encode(float16Bits: $0, deliver: deliver) }
        case .bfloat16(let bs): faults = try bs.withUnsafeBufferPointer { try implementation.encode(bfloat16Bits: $0, deliver: deliver) }
        }
        evidence.record(
            faults, site: implementation.name(of: inputs.entry), describe: describe,
            expected: { (Describe.code(expected[Int($0)], format), Describe.value(expected[Int($0)], values)) })
        var parameters = implementation.parameters(for: inputs.entry)
        parameters["inputs"] = "\(n) \(inputs.entry.rawValue)"
        return evidence.result(
            suite: ConversionSuite.givenInputs.rawValue,
            caseName: "\(inputs.entry.rawValue)/\(ConformanceRunner.caseName(format, policy))",
            expected: UInt64(n), implementations: [implementation], parameters: parameters, since: t0)
    }
}
