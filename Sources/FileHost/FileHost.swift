import Conformance
import Formats
import Foundation
import Harness

/// What a file host reads: another framework's conversions, written to files, and the claim
/// they are checked against.
///
/// Four kinds of file, any combination:
/// - **pairs**: an inputs `.npy` (float32, float64, float16 or bfloat16 — ml_dtypes' `<V2` —
///   of any shape) and the outputs `.npy` (or raw) of the same element count: uint8/uint16
///   codes, or ml_dtypes' `<V1`. Checked by the `inputs` suite; any suite whose inputs they
///   contain (`quantcheck inputs` writes them) can run on them too.
/// - **Float32 codes in exhaustive order**: the code of Float32 pattern `first + i` at index i,
///   for the patterns `float32Patterns` (all 2^32, or one `--shard K/N` range). Read a block at a
///   time with `pread`, so a 4 GiB file is checked with a few MiB of memory.
/// - **Float16 / bfloat16 codes**: 65,536 codes, pattern i at index i.
/// - **decoded values**: 2^bits float32 values, code i at index i.
///
/// A code file that is not `.npy` (no NumPy magic) is raw little-endian codes of the format's
/// storage width (uint8 for ≤ 8 bits, else uint16).
public struct FileHostConfiguration: Sendable {
    public var format: FloatFormat
    public var policy: ConversionPolicy
    public var nanMatching: NaNMatching
    public var inputs: String?
    public var outputs: String?
    public var float32Codes: String?
    /// The Float32 patterns `float32Codes` holds, in order.
    public var float32Patterns: Range<UInt64>
    public var float16Codes: String?
    public var bfloat16Codes: String?
    public var decodedValues: String?

    public init(
        format: FloatFormat, policy: ConversionPolicy, nanMatching: NaNMatching, inputs: String? = nil,
        outputs: String? = nil, float32Codes: String? = nil, float32Patterns: Range<UInt64> = ExhaustiveSweep.allPatterns,
        float16Codes: String? = nil, bfloat16Codes: String? = nil, decodedValues: String? = nil
    ) {
        self.format = format
        self.policy = policy
        self.nanMatching = nanMatching
        self.inputs = inputs
        self.outputs = outputs
        self.float32Codes = float32Codes
        self.float32Patterns = float32Patterns
        self.float16Codes = float16Codes
        self.bfloat16Codes = bfloat16Codes
        self.decodedValues = decodedValues
    }
}

/// A file the host cannot use, in one line.
public enum FileHostError: Error, CustomStringConvertible, Equatable, Sendable {
    case noFiles
    case outputsWithoutInputs
    case inputsWithoutOutputs
    case countMismatch(inputs: String, inputCount: Int, outputs: String, outputCount: Int)
    case notCodes(path: String, dtype: String)
    case notInputs(path: String, dtype: String)
    case notValues(path: String, dtype: String)
    case tooMany(path: String, count: Int, limit: Int, what: String)

    public var description: String {
        switch self {
        case .noFiles:
            return "no files to check: give --inputs with --outputs, --f32-codes, --f16-codes, --bf16-codes or --decoded"
        case .outputsWithoutInputs: return "--outputs needs --inputs (the inputs the outputs were computed from)"
        case .inputsWithoutOutputs: return "--inputs needs --outputs (or --library, to run the library on them)"
        case .countMismatch(let i, let ni, let o, let no):
            return "'\(i)' holds \(ni) inputs but '\(o)' holds \(no) outputs: they must correspond element by element"
        case .notCodes(let p, let d): return "'\(p)': codes must be uint8, uint16 or <V1 (found \(d))"
        case .notInputs(let p, let d): return "'\(p)': inputs must be float32, float64, float16 or bfloat16 (found \(d))"
        case .notValues(let p, let d): return "'\(p)': decoded values must be float32 (found \(d))"
        case .tooMany(let p, let n, let limit, let what):
            return "'\(p)' holds \(n) elements, more than the \(limit) \(what)"
        }
    }
}

/// Another framework's conversions, read from files, as an implementation under test: every
/// suite runs on it as on a plugin, with the same counterexample reports. The host answers an
/// encode or decode call by looking each input up in its files; an input the files do not hold
/// is not delivered, so the case fails its coverage check, and the host names how many were
/// absent (and the first) in the case's parameters. Two different outputs for one input in a
/// pairs file are a fault of that input (label `protocol`).
///
/// Memory: pairs are held in memory (inputs, codes and a sorted index: about 14 bytes per
/// Float32 pair, 18 per Float64 pair; at most `maxPairs`); exhaustive-order files are read a
/// block at a time.
public final class FileHost: ConversionUnderTest, @unchecked Sendable {
    public let configuration: FileHostConfiguration
    /// The inputs of the pairs file, in file order (nil without pairs).
    public let suppliedInputs: SuppliedInputs?
    public static let maxPairs = 1 << 28

    private let pairs: PairIndex?
    private let float32File: CodeFile?
    private let float16Table: [Int32]?
    private let bfloat16Table: [Int32]?
    private let decodedTable: [Float]?
    private let absent = Locked(AbsentInputs())

    public var format: FloatFormat { configuration.format }
    public var policy: ConversionPolicy { configuration.policy }
    public var nanMatching: NaNMatching { configuration.nanMatching }

    public init(_ configuration: FileHostConfiguration) throws {
        self.configuration = configuration
        let c = configuration
        if c.outputs != nil && c.inputs == nil { throw FileHostError.outputsWithoutInputs }
        if c.inputs != nil && c.outputs == nil { throw FileHostError.inputsWithoutOutputs }
        guard c.inputs != nil || c.float32Codes != nil || c.float16Codes != nil || c.bfloat16Codes != nil
            || c.decodedValues != nil else { throw FileHostError.noFiles }
        if let inputs = c.inputs, let outputs = c.outputs {
            let supplied = try Self.readInputs(inputs)
            let codes = try CodeFile(path: outputs, format: c.format).readAll()
            guard codes.count == supplied.count else {
                throw FileHostError.countMismatch(inputs: inputs, inputCount: supplied.count, outputs: outputs, outputCount: codes.count)
            }
            suppliedInputs = supplied
            pairs = PairIndex(supplied, codes: codes)
        } else {
            suppliedInputs = nil
            pairs = nil
        }
        if let path = c.float32Codes {
            let file = try CodeFile(path: path, format: c.format)
            guard file.count <= c.float32Patterns.count else {
                throw FileHostError.tooMany(path: path, count: file.count, limit: c.float32Patterns.count, what: "Float32 patterns of the range checked")
            }
            float32File = file
        } else {
            float32File = nil
        }
        float16Table = try c.float16Codes.map { try Self.halfTable($0, format: c.format) }
        bfloat16Table = try c.bfloat16Codes.map { try Self.halfTable($0, format: c.format) }
        decodedTable = try c.decodedValues.map { try Self.valueTable($0, format: c.format) }
    }

    // MARK: - Reading

    /// The inputs of a `.npy` file (at most `maxPairs`), as the `inputs` suite takes them.
    public static func readInputs(_ path: String) throws -> SuppliedInputs {
        let reader = try NPYStreamReader(path: path)
        guard reader.count <= maxPairs else {
            throw FileHostError.tooMany(path: path, count: reader.count, limit: maxPairs, what: "pairs a file host holds in memory (write exhaustive-order code files instead)")
        }
        switch reader.dtype {
        case .float32: return .float32(try reader.readAll(as: UInt32.self).map(Float.init(bitPattern:)))
        case .float64: return .float64(try reader.readAll(as: UInt64.self).map(Double.init(bitPattern:)))
        case .float16: return .float16(try reader.readAll(as: UInt16.self))
        case .bfloat16: return .bfloat16(try reader.readAll(as: UInt16.self))
        case .uint8, .uint16: throw FileHostError.notInputs(path: path, dtype: reader.dtype.descr)
        }
    }

    /// Codes of the 65,536 binary16 or bfloat16 patterns; -1 where the file ends early.
    static func halfTable(_ path: String, format: FloatFormat) throws -> [Int32] {
        let codes = try CodeFile(path: path, format: format)
        guard codes.count <= 1 << 16 else {
            throw FileHostError.tooMany(path: path, count: codes.count, limit: 1 << 16, what: "16-bit input patterns")
        }
        let read = try codes.readAll()
        return (0..<(1 << 16)).map { $0 < read.count ? Int32(read[$0]) : -1 }
    }

    static func valueTable(_ path: String, format: FloatFormat) throws -> [Float] {
        let reader = try NPYStreamReader(path: path)
        guard reader.dtype == .float32 else { throw FileHostError.notValues(path: path, dtype: reader.dtype.descr) }
        guard reader.count <= format.codeCount else {
            throw FileHostError.tooMany(path: path, count: reader.count, limit: format.codeCount, what: "codes of \(format.name)")
        }
        return try reader.readAll(as: UInt32.self).map(Float.init(bitPattern:))
    }

    // MARK: - ConversionUnderTest

    public var entries: Set<ConversionEntry> {
        var e: Set<ConversionEntry> = []
        if float32File != nil { e.insert(.float32) }
        if let pairs { e.insert(pairs.entry) }
        if float16Table != nil { e.insert(.float16) }
        if bfloat16Table != nil { e.insert(.bfloat16) }
        if decodedTable != nil { e.insert(.decode) }
        return e
    }

    /// The file answering `entry` (the outputs of the pairs, or an exhaustive-order file).
    public func name(of entry: ConversionEntry) -> String {
        let c = configuration
        switch entry {
        case .float32 where float32File != nil: return "file \(c.float32Codes!)"
        case .float16 where float16Table != nil: return "file \(c.float16Codes!)"
        case .bfloat16 where bfloat16Table != nil: return "file \(c.bfloat16Codes!)"
        case .decode where decodedTable != nil: return "file \(c.decodedValues!)"
        default: return "file \(c.outputs ?? "?")"
        }
    }

    public func parameters(for entry: ConversionEntry?) -> [String: String] {
        var p = [
            "format": format.name, "overflow": policy.overflow.rawValue, "rounding": policy.rounding.rawValue,
            "profile": policy.profile.rawValue, "nan": nanMatching.rawValue,
        ]
        if let entry { p["file"] = String(name(of: entry).dropFirst(5)) }
        return p
    }

    public func beginCase() { absent.withLock { $0 = AbsentInputs() } }

    /// How many inputs of the case the files did not hold, and the first of them.
    public func endCase(_ summary: CaseSummary) -> CaseReport {
        let a = absent.withLock { $0 }
        guard a.count > 0 else { return CaseReport() }
        return CaseReport(parameters: ["absent from the files": "\(a.count) inputs (first: \(a.first!))"])
    }

    public func encode(_ inputs: UnsafeBufferPointer<Float>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try answer(inputs.count, deliver: deliver, describe: { HexFloat.hex(inputs[$0].bitPattern, digits: 8) }) { i in
            let bits = inputs[i].bitPattern
            if let file = float32File, let code = try file.code(ofPattern: UInt64(bits), first: configuration.float32Patterns.lowerBound) {
                return .code(code)
            }
            return pairs?.lookup(float32: bits) ?? .absent
        }
    }

    public func encode(_ inputs: UnsafeBufferPointer<Double>, route: Int, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try answer(inputs.count, deliver: deliver, describe: { HexFloat.hex(inputs[$0].bitPattern, digits: 16) }) { i in
            pairs?.lookup(float64: inputs[i].bitPattern) ?? .absent
        }
    }

    public func encode(float16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try answer(float16Bits.count, deliver: deliver, describe: { HexFloat.hex(float16Bits[$0], digits: 4) }) { i in
            let b = float16Bits[i]
            if let t = float16Table, t[Int(b)] >= 0 { return .code(UInt16(t[Int(b)])) }
            return pairs?.lookup(float16: b) ?? .absent
        }
    }

    public func encode(bfloat16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try answer(bfloat16Bits.count, deliver: deliver, describe: { HexFloat.hex(bfloat16Bits[$0], digits: 4) }) { i in
            let b = bfloat16Bits[i]
            if let t = bfloat16Table, t[Int(b)] >= 0 { return .code(UInt16(t[Int(b)])) }
            return pairs?.lookup(bfloat16: b) ?? .absent
        }
    }

    public func encode(
        _ inputs: UnsafeBufferPointer<Float>, randomBits: UnsafeBufferPointer<UInt64>, deliver: Delivery<UInt16>
    ) throws -> [ConversionFault] {
        throw UnsupportedEntry(.stochasticFloat32)
    }

    public func decode(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Float>) throws -> [ConversionFault] {
        guard let table = decodedTable else { throw UnsupportedEntry(.decode) }
        var values = [Float](repeating: 0, count: codes.count)
        var valid = [Bool](repeating: false, count: codes.count)
        for (i, c) in codes.enumerated() {
            if Int(c) < table.count {
                values[i] = table[Int(c)]
                valid[i] = true
            } else {
                noteAbsent(HexFloat.hex(c, digits: 4))
            }
        }
        values.withUnsafeBufferPointer { v in Self.deliverRuns(v, valid: valid, deliver) }
        return []
    }

    public func decodeFloat64(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Double>) throws -> [ConversionFault] {
        throw UnsupportedEntry(.decodeFloat64)
    }

    // MARK: The exhaustive sweep

    /// The patterns the files hold: the exhaustive-order file's range (as far as it goes), or,
    /// with Float32 pairs only, every pattern (those absent count as not covered).
    public var float32SweepDomain: Range<UInt64> {
        let range = configuration.float32Patterns
        if let file = float32File { return range.lowerBound..<(range.lowerBound + UInt64(file.count)) }
        return ExhaustiveSweep.allPatterns
    }

    public func encodeFloat32Patterns<Code: SweepCode>(
        _ patterns: Range<UInt64>, worker: Int, codeType: Code.Type, deliver: (UInt64, UnsafeBufferPointer<Code>) -> Void
    ) throws -> [ConversionFault] {
        if let file = float32File {
            return try file.sweep(patterns, first: configuration.float32Patterns.lowerBound, format: format, deliver: deliver)
        }
        guard let pairs, pairs.entry == .float32 else { throw UnsupportedEntry(.float32) }
        var codes = [Code](repeating: 0, count: patterns.count)
        var valid = [Bool](repeating: false, count: patterns.count)
        var faults: [ConversionFault] = []
        for (i, p) in patterns.enumerated() {
            switch pairs.lookup(float32: UInt32(p)) {
            case .code(let c) where c <= Code.max:
                codes[i] = Code(c)
                valid[i] = true
            case .code(let c):
                faults.append(Self.notACode(c, at: p, call: patterns, format: format))
            case .absent:
                noteAbsent(HexFloat.hex(UInt32(p), digits: 8))
            case .conflict(let a, let b):
                faults.append(Self.conflict(a, b, at: p, call: patterns))
            }
        }
        codes.withUnsafeBufferPointer { v in
            Self.deliverRuns(v, valid: valid) { first, run in deliver(patterns.lowerBound + UInt64(first), run) }
        }
        return faults
    }

    // MARK: - Helpers

    /// Looks every input up (`lookup(i)`) and delivers the runs found.
    private func answer(
        _ n: Int, deliver: Delivery<UInt16>, describe: (Int) -> String, lookup: (Int) throws -> PairIndex.Answer
    ) throws -> [ConversionFault] {
        var codes = [UInt16](repeating: 0, count: n)
        var valid = [Bool](repeating: false, count: n)
        var faults: [ConversionFault] = []
        for i in 0..<n {
            switch try lookup(i) {
            case .code(let c):
                codes[i] = c
                valid[i] = true
            case .absent:
                noteAbsent(describe(i))
            case .conflict(let a, let b):
                faults.append(Self.conflict(a, b, at: UInt64(i), call: 0..<UInt64(n)))
            }
        }
        codes.withUnsafeBufferPointer { v in Self.deliverRuns(v, valid: valid, deliver) }
        return faults
    }

    private func noteAbsent(_ what: String) {
        absent.withLock { a in
            a.count += 1
            if a.first == nil { a.first = what }
        }
    }

    static func deliverRuns<T>(_ values: UnsafeBufferPointer<T>, valid: [Bool], _ deliver: Delivery<T>) {
        var i = 0
        while i < values.count {
            guard valid[i] else { i += 1; continue }
            var j = i
            while j < values.count && valid[j] { j += 1 }
            deliver(i, UnsafeBufferPointer(rebasing: values[i..<j]))
            i = j
        }
    }

    static func conflict(_ a: UInt16, _ b: UInt16, at i: UInt64, call: Range<UInt64>) -> ConversionFault {
        ConversionFault(
            inputs: i..<(i + 1), call: call, label: "protocol",
            description: "the pairs give this input two different outputs, \(HexFloat.hex(a, digits: 2)) and \(HexFloat.hex(b, digits: 2))",
            reproduced: true)
    }

    static func notACode(_ c: UInt16, at p: UInt64, call: Range<UInt64>, format: FloatFormat) -> ConversionFault {
        ConversionFault(
            inputs: p..<(p + 1), call: call, label: "protocol",
            description: "the file holds \(HexFloat.hex(c, digits: 4)), which is not a code of \(format.name)", reproduced: true)
    }
}

/// Inputs of the current case that the files did not hold.
struct AbsentInputs {
    var count = 0
    var first: String?
}
