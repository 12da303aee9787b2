import Formats
import Foundation
import Quant

/// Every benchmark case `quantcheck bench` knows, in a stable order.
///
/// To add a family, write a function `(BenchContext) -> [BenchCase]` (usually a loop over
/// `context.sizes` and `context.threadCounts` calling `BenchCase.stream`) and list it in
/// `families`. Names follow `group/variant/size/tN` so `--filter` can pick by any part.
public enum BenchRegistry {
    public static let families: [@Sendable (BenchContext) -> [BenchCase]] = [
        { ctx in ctx.sizes.flatMap { s in ctx.threadCounts.map { MemoryCopy.reference(size: s, threads: $0) } } },
        CodecBenchmarks.bulkEncode,
        CodecBenchmarks.bulkEncodeInRange,
        CodecBenchmarks.bulkDecode,
        CodecBenchmarks.scalar,
        CodecBenchmarks.float64Encode,
        FileBenchmarks.encode,
        QuantAlgorithmBenchmarks.all,
        OracleBenchmarks.all,
    ]

    public static func cases(_ context: BenchContext = BenchContext()) -> [BenchCase] {
        families.flatMap { $0(context) }
    }
}

/// What every family is asked to cover.
public struct BenchContext: Sendable {
    public var sizes: [SizeClass]
    /// 1 and all cores (just 1 on a single-core machine).
    public var threadCounts: [Int]

    public init(sizes: [SizeClass] = SizeClass.allCases, threadCounts: [Int]? = nil) {
        self.sizes = sizes
        let cores = ProcessInfo.processInfo.activeProcessorCount
        self.threadCounts = threadCounts ?? (cores > 1 ? [1, cores] : [1])
    }

    /// Elements per call for a streaming case: 16 Ki (64 KiB of Float32 input, in L2) or
    /// 16 Mi (64 MiB of Float32 input, beyond the last-level cache).
    public static func elements(_ size: SizeClass) -> Int {
        switch size {
        case .cache: return 16 << 10
        case .dram: return 16 << 20
        }
    }
}

/// Deterministic benchmark inputs, built once per process and shared by all cases.
public enum BenchInputs {
    /// Seed of every input; recorded in each case's parameters.
    public static let seed: UInt64 = 1

    /// Float32 values with log-uniform magnitudes in [2^−20, 2^20) and random signs: every
    /// format sees zeros-after-rounding, subnormals, normals and overflow.
    public static func floats(_ count: Int) -> HeapBuffer<Float> {
        if count == BenchContext.elements(.dram) { return dramFloats }
        if count == BenchContext.elements(.cache) { return cacheFloats }
        return makeFloats(count)
    }

    /// Uniformly random codes of `format` (every code, NaN included) in `Code` storage.
    public static func codes<Code: FixedWidthInteger>(_ count: Int, format: FloatFormat, as: Code.Type) -> HeapBuffer<Code> {
        HeapBuffer(count: count) { i in
            Code(truncatingIfNeeded: SplitMix64.draw(seed: seed ^ 0xC0DE, index: UInt64(i)) % UInt64(format.codeCount))
        }
    }

    static let dramFloats = makeFloats(BenchContext.elements(.dram))
    static let cacheFloats = makeFloats(BenchContext.elements(.cache))

    static func makeFloats(_ count: Int) -> HeapBuffer<Float> {
        HeapBuffer(count: count) { i in
            let r = SplitMix64.draw(seed: seed, index: UInt64(i))
            // 40 binades from the top bits, a uniform mantissa from the middle, sign from bit 0.
            let exponent = Int((r >> 40) % 40) - 20
            let mantissa = Float(UInt32(truncatingIfNeeded: r >> 8) >> 9) * 0x1p-23
            let v = Float(sign: (r & 1) == 0 ? .plus : .minus, exponent: exponent, significand: 1 + mantissa)
            return v
        }
    }

    public static let description = "log-uniform |x| in [2^-20, 2^20), random sign, seed \(seed)"

    /// Float32 values inside `format`'s normal range: log-uniform |x| in [min normal, max
    /// finite), random sign — what a tensor looks like after FP8 scaling (no overflow, no
    /// underflow), so the encoder's special-value path stays cold.
    public static func inRangeFloats(_ count: Int, format: FloatFormat) -> HeapBuffer<Float> {
        let lo = Double(format.minNormal).exponent, hi = Double(format.maxFinite).exponent
        let binades = UInt64(hi - lo + 1)
        let top = Float(format.maxFinite)
        return HeapBuffer(count: count) { i in
            let r = SplitMix64.draw(seed: seed ^ 0x1A_1A, index: UInt64(i))
            let exponent = Int(lo) + Int((r >> 40) % binades)
            let mantissa = Float(UInt32(truncatingIfNeeded: r >> 8) >> 9) * 0x1p-23
            let v = min(Float(sign: .plus, exponent: exponent, significand: 1 + mantissa), top)
            return (r & 1) == 0 ? v : -v
        }
    }

    public static func inRangeDescription(_ f: FloatFormat) -> String {
        "log-uniform |x| in [\(f.minNormal), \(f.maxFinite)] (\(f.name)'s normal range), random sign, seed \(seed)"
    }
}

/// The narrow-float codec: bulk Float32 → code and code → Float32 for every format, 1 and all
/// threads, in cache and in DRAM; the scalar entry points; Float64 input.
public enum CodecBenchmarks {
    static func parameters(_ f: FloatFormat, _ policy: ConversionPolicy) -> [String: String] {
        ["format": f.name, "policy": policy.description, "input": BenchInputs.description]
    }

    public static let bulkEncode: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        var out: [BenchCase] = []
        for f in FloatFormat.all {
            let codec = NarrowFloatCodec(format: f)
            for size in ctx.sizes {
                for t in ctx.threadCounts {
                    let n = BenchContext.elements(size)
                    if f.bitWidth <= 8 {
                        out.append(.stream(
                            group: "codec.encode", variant: f.name, parameters: parameters(f, codec.policy),
                            size: size, threads: t, elements: n, input: { BenchInputs.floats($0) }
                        ) { (src: UnsafeBufferPointer<Float>, dst: UnsafeMutableBufferPointer<UInt8>) in
                            try! codec.encode(src, into: dst, threads: t)
                        })
                    } else {
                        out.append(.stream(
                            group: "codec.encode", variant: f.name, parameters: parameters(f, codec.policy),
                            size: size, threads: t, elements: n, input: { BenchInputs.floats($0) }
                        ) { (src: UnsafeBufferPointer<Float>, dst: UnsafeMutableBufferPointer<UInt16>) in
                            try! codec.encode(src, into: dst, threads: t)
                        })
                    }
                }
            }
        }
        return out
    }

    /// Bulk Float32 → FP8 on in-range data (see `BenchInputs.inRangeFloats`), next to the
    /// mixed inputs of `codec.encode`, whose overflowing and underflowing lanes take the
    /// special-value path.
    public static let bulkEncodeInRange: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        var out: [BenchCase] = []
        for f in [FloatFormat.e4m3fn, .e5m2] {
            let codec = NarrowFloatCodec(format: f)
            var p = parameters(f, codec.policy)
            p["input"] = BenchInputs.inRangeDescription(f)
            for size in ctx.sizes {
                for t in ctx.threadCounts {
                    out.append(.stream(
                        group: "codec.encode.in-range", variant: f.name, parameters: p,
                        size: size, threads: t, elements: BenchContext.elements(size),
                        input: { BenchInputs.inRangeFloats($0, format: f) }
                    ) { (src: UnsafeBufferPointer<Float>, dst: UnsafeMutableBufferPointer<UInt8>) in
                        try! codec.encode(src, into: dst, threads: t)
                    })
                }
            }
        }
        return out
    }

    public static let bulkDecode: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        var out: [BenchCase] = []
        for f in FloatFormat.all {
            let codec = NarrowFloatCodec(format: f)
            var p = parameters(f, codec.policy)
            p["input"] = "uniform random codes, seed \(BenchInputs.seed)"
            for size in ctx.sizes {
                for t in ctx.threadCounts {
                    let n = BenchContext.elements(size)
                    if f.bitWidth <= 8 {
                        out.append(.stream(
                            group: "codec.decode", variant: f.name, parameters: p, size: size, threads: t,
                            elements: n, input: { BenchInputs.codes($0, format: f, as: UInt8.self) }
                        ) { (src: UnsafeBufferPointer<UInt8>, dst: UnsafeMutableBufferPointer<Float>) in
                            try! codec.decode(src, into: dst, threads: t)
                        })
                    } else {
                        out.append(.stream(
                            group: "codec.decode", variant: f.name, parameters: p, size: size, threads: t,
                            elements: n, input: { BenchInputs.codes($0, format: f, as: UInt16.self) }
                        ) { (src: UnsafeBufferPointer<UInt16>, dst: UnsafeMutableBufferPointer<Float>) in
                            try! codec.decode(src, into: dst, threads: t)
                        })
                    }
                }
            }
        }
        return out
    }

    /// One element per call through the scalar API (`encode(_: Float)`, `decodeFloat`), in
    /// cache, 1 thread: the cost a caller pays without the bulk path.
    public static let scalar: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        guard ctx.sizes.contains(.cache) else { return [] }
        var out: [BenchCase] = []
        let n = BenchContext.elements(.cache)
        for f in FloatFormat.all {
            let codec = NarrowFloatCodec(format: f)
            out.append(.stream(
                group: "codec.encode.scalar", variant: f.name, parameters: parameters(f, codec.policy),
                size: .cache, threads: 1, elements: n, input: { BenchInputs.floats($0) }
            ) { (src: UnsafeBufferPointer<Float>, dst: UnsafeMutableBufferPointer<UInt16>) in
                for i in src.indices { dst[i] = codec.encode(src[i]) }
            })
            var p = parameters(f, codec.policy)
            p["input"] = "uniform random codes, seed \(BenchInputs.seed)"
            out.append(.stream(
                group: "codec.decode.scalar", variant: f.name, parameters: p, size: .cache, threads: 1,
                elements: n, input: { BenchInputs.codes($0, format: f, as: UInt16.self) }
            ) { (src: UnsafeBufferPointer<UInt16>, dst: UnsafeMutableBufferPointer<Float>) in
                for i in src.indices { dst[i] = codec.decodeFloat(src[i]) }
            })
        }
        return out
    }

    /// Float64 → code (correctly rounded from the exact input; no bulk kernel), OCP FP8 formats.
    public static let float64Encode: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        var out: [BenchCase] = []
        for f in [FloatFormat.e4m3fn, .e5m2] {
            let codec = NarrowFloatCodec(format: f)
            for size in ctx.sizes {
                for t in ctx.threadCounts {
                    out.append(.stream(
                        group: "codec.encode.f64", variant: f.name, parameters: parameters(f, codec.policy),
                        size: size, threads: t, elements: BenchContext.elements(size),
                        input: { n in
                            let src = BenchInputs.floats(n)
                            return HeapBuffer(count: n) { Double(src.buffer[$0]) }
                        }
                    ) { (src: UnsafeBufferPointer<Double>, dst: UnsafeMutableBufferPointer<UInt8>) in
                        try! codec.encode(src, into: dst, threads: t)
                    })
                }
            }
        }
        return out
    }
}
