import Foundation
import Formats
import Quant

/// An in-process conversion under test, given as Swift functions: the production
/// `NarrowFloatCodec` (`init(_:threads:)`), or a test's deliberately wrong encoder (negative
/// controls set only the functions they replace). It never faults.
///
/// Every list entry calls its scalar function per input; the Float64 encoder has a second route,
/// the bulk API, whose vectorised path reaches the codes through Float32 rounded to odd; the
/// sweep uses the fused pattern generator (`encodeBitPatterns`) over the bulk loop body.
public final class CodecUnderTest: ConversionUnderTest, @unchecked Sendable {
    public struct Functions {
        public var encodeFloat: ((Float) -> UInt16)?
        public var encodeDouble: ((Double) -> UInt16)?
        /// The Float64 bulk route: codes of a whole buffer.
        public var bulkEncodeDouble: ((UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<UInt16>) throws -> Void)?
        public var encodeFloat16: ((UInt16) -> UInt16)?
        public var encodeBFloat16: ((UInt16) -> UInt16)?
        public var encodeStochastic: ((Float, UInt64) -> UInt16)?
        public var decodeFloat: ((UInt16) -> Float)?
        public var decodeDouble: ((UInt16) -> Double)?
        /// The codes of patterns `start ..< start + out.count`, one byte or two per code.
        public var sweep8: (@Sendable (UInt32, UnsafeMutableBufferPointer<UInt8>) -> Void)?
        public var sweep16: (@Sendable (UInt32, UnsafeMutableBufferPointer<UInt16>) -> Void)?

        public init(
            encodeFloat: ((Float) -> UInt16)? = nil, encodeDouble: ((Double) -> UInt16)? = nil,
            bulkEncodeDouble: ((UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<UInt16>) throws -> Void)? = nil,
            encodeFloat16: ((UInt16) -> UInt16)? = nil, encodeBFloat16: ((UInt16) -> UInt16)? = nil,
            encodeStochastic: ((Float, UInt64) -> UInt16)? = nil, decodeFloat: ((UInt16) -> Float)? = nil,
            decodeDouble: ((UInt16) -> Double)? = nil,
            sweep8: (@Sendable (UInt32, UnsafeMutableBufferPointer<UInt8>) -> Void)? = nil,
            sweep16: (@Sendable (UInt32, UnsafeMutableBufferPointer<UInt16>) -> Void)? = nil
        ) {
            self.encodeFloat = encodeFloat
            self.encodeDouble = encodeDouble
            self.bulkEncodeDouble = bulkEncodeDouble
            self.encodeFloat16 = encodeFloat16
            self.encodeBFloat16 = encodeBFloat16
            self.encodeStochastic = encodeStochastic
            self.decodeFloat = decodeFloat
            self.decodeDouble = decodeDouble
            self.sweep8 = sweep8
            self.sweep16 = sweep16
        }
    }

    public let format: FloatFormat
    public let policy: ConversionPolicy
    public let functions: Functions
    /// Patterns per chunk of the sweep (one encoder call).
    public let chunk: Int

    public init(format: FloatFormat, policy: ConversionPolicy = ConversionPolicy(), functions: Functions, chunk: Int = 1 << 16) {
        precondition(chunk > 0)
        self.format = format
        self.policy = policy
        self.functions = functions
        self.chunk = chunk
    }

    /// The production codec for `format` under `policy`; `threads` for its bulk route.
    public convenience init(_ codec: NarrowFloatCodec, threads: Int = 1) {
        self.init(format: codec.format, policy: codec.policy, functions: Functions(
            encodeFloat: { codec.encode($0) }, encodeDouble: { codec.encode($0) },
            bulkEncodeDouble: { i, o in try codec.encode(i, into: o, threads: threads) },
            encodeFloat16: { codec.encode(float16Bits: $0) }, encodeBFloat16: { codec.encode(bfloat16Bits: $0) },
            encodeStochastic: { codec.encode($0, randomBits: $1) },
            decodeFloat: codec.decodeFloat, decodeDouble: codec.decodeDouble,
            sweep8: { codec.encodeBitPatterns(startingAt: $0, into: $1) },
            sweep16: { codec.encodeBitPatterns(startingAt: $0, into: $1) }))
    }

    public var entries: Set<ConversionEntry> {
        var e: Set<ConversionEntry> = []
        if functions.encodeFloat != nil { e.insert(.float32) }
        if functions.encodeDouble != nil || functions.bulkEncodeDouble != nil { e.insert(.float64) }
        if functions.encodeFloat16 != nil { e.insert(.float16) }
        if functions.encodeBFloat16 != nil { e.insert(.bfloat16) }
        if functions.encodeStochastic != nil { e.insert(.stochasticFloat32) }
        if functions.decodeFloat != nil { e.insert(.decode) }
        if functions.decodeDouble != nil { e.insert(.decodeFloat64) }
        return e
    }

    public func name(of entry: ConversionEntry) -> String { "in-process \(entry.rawValue)" }
    public func parameters(for entry: ConversionEntry?) -> [String: String] { [:] }

    public var float64Routes: [String] {
        (functions.encodeDouble == nil ? [] : [""]) + (functions.bulkEncodeDouble == nil ? [] : [" (bulk API)"])
    }

    private func map<I, O>(_ inputs: UnsafeBufferPointer<I>, _ f: ((I) -> O)?, _ entry: ConversionEntry, deliver: Delivery<O>) throws -> [ConversionFault] {
        guard let f else { throw UnsupportedEntry(entry) }
        let out = inputs.map(f)
        out.withUnsafeBufferPointer { deliver(0, $0) }
        return []
    }

    public func encode(_ inputs: UnsafeBufferPointer<Float>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try map(inputs, functions.encodeFloat, .float32, deliver: deliver)
    }

    public func encode(_ inputs: UnsafeBufferPointer<Double>, route: Int, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        if route == 0, let f = functions.encodeDouble { return try map(inputs, f, .float64, deliver: deliver) }
        guard let bulk = functions.bulkEncodeDouble else { throw UnsupportedEntry(.float64) }
        var out = [UInt16](repeating: 0, count: inputs.count)
        try out.withUnsafeMutableBufferPointer { try bulk(inputs, $0) }
        out.withUnsafeBufferPointer { deliver(0, $0) }
        return []
    }

    public func encode(float16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try map(float16Bits, functions.encodeFloat16, .float16, deliver: deliver)
    }

    public func encode(bfloat16Bits: UnsafeBufferPointer<UInt16>, deliver: Delivery<UInt16>) throws -> [ConversionFault] {
        try map(bfloat16Bits, functions.encodeBFloat16, .bfloat16, deliver: deliver)
    }

    public func encode(
        _ inputs: UnsafeBufferPointer<Float>, randomBits: UnsafeBufferPointer<UInt64>, deliver: Delivery<UInt16>
    ) throws -> [ConversionFault] {
        guard let f = functions.encodeStochastic else { throw UnsupportedEntry(.stochasticFloat32) }
        precondition(inputs.count == randomBits.count)
        let out = (0..<inputs.count).map { f(inputs[$0], randomBits[$0]) }
        out.withUnsafeBufferPointer { deliver(0, $0) }
        return []
    }

    public func decode(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Float>) throws -> [ConversionFault] {
        try map(codes, functions.decodeFloat, .decode, deliver: deliver)
    }

    public func decodeFloat64(_ codes: UnsafeBufferPointer<UInt16>, deliver: Delivery<Double>) throws -> [ConversionFault] {
        try map(codes, functions.decodeDouble, .decodeFloat64, deliver: deliver)
    }

    public func encodeFloat32Patterns<Code: SweepCode>(
        _ patterns: Range<UInt64>, worker: Int, codeType: Code.Type, deliver: (UInt64, UnsafeBufferPointer<Code>) -> Void
    ) throws -> [ConversionFault] {
        let buffer = UnsafeMutableBufferPointer<Code>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var start = patterns.lowerBound
        while start < patterns.upperBound {
            let n = Int(min(UInt64(chunk), patterns.upperBound - start))
            let view = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
            if let f = functions.sweep8, Code.self == UInt8.self {
                view.withMemoryRebound(to: UInt8.self) { f(UInt32(start), $0) }
            } else if let f = functions.sweep16, Code.self == UInt16.self {
                view.withMemoryRebound(to: UInt16.self) { f(UInt32(start), $0) }
            } else {
                throw UnsupportedEntry(.float32)
            }
            deliver(start, UnsafeBufferPointer(view))
            start += UInt64(n)
        }
        return []
    }
}
