import Dispatch
import Formats
import Quant

/// Converting an array file to another, element by element, at the speed of the disk cache:
/// what `quantcheck encode` and `quantcheck decode` run, and what the `file.encode` benchmark
/// measures.
///
/// The array is never held whole. The output is produced `chunkElements` at a time: each
/// worker thread takes a contiguous slice of the chunk and, `blockElements` at a time, reads
/// its input with `pread(2)` (a regular file) into a buffer of its own and converts it at once,
/// while the input is still in that core's L2 cache; the chunk's output is then appended to the
/// writer. The input is copied once, from the page cache into a cache-sized buffer, by the core
/// that converts it — no whole-array copy, no page-fault storm of a fresh whole-array buffer,
/// and, unlike a memory map, no SIGBUS if another process truncates the file meanwhile (the
/// short read is the typed `dataLengthMismatch`). A stream (standard input) is read in order,
/// a chunk at a time, then converted by the workers. Memory: the output chunk, one block per
/// worker (and a chunk of input for a stream), whatever the size of the array.
///
/// Results do not depend on `threads` or on the chunking: element i is always element i
/// (stochastic rounding draws from `seed + i·φ`), and the error reported for a bad element is
/// the one at the lowest index.
public enum FileConversion {
    /// Elements per output chunk (1 Mi: at most 4 MiB of Float32 output).
    public static let chunkElements = 1 << 20
    /// Elements a worker reads and converts at a time (32 Ki: at most 256 KiB of Float64 input,
    /// which stays in a core's L2 cache between the read and the conversion).
    public static let blockElements = 1 << 15

    /// Converts `count` elements at `input` (host order, the source's dtype) to `output` (the
    /// writer's dtype); `firstIndex` is the position of the first one in the array.
    public typealias Convert = (_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, _ count: Int, _ firstIndex: Int) throws -> Void

    /// Reads every element of `source`, converts it with `convert` on `threads` workers and
    /// writes the result to `writer`, which is committed (put in place) only after the last
    /// element; on any error the writer is left uncommitted (an output file stays untouched).
    public static func run(from source: any NPYElementSource, to writer: NPYStreamWriter, threads: Int, convert: Convert) throws {
        let inSize = source.dtype.itemSize, outSize = writer.dtype.itemSize
        let output = try ScratchBuffer(byteCount: chunkElements * outSize)
        if let file = source as? NPYStreamReader {
            let workers = min(threads, max(1, file.count / blockElements))
            let blocks = try (0..<workers).map { _ in try ScratchBuffer(byteCount: blockElements * inSize) }
            var start = 0
            while start < file.count {
                let n = min(chunkElements, file.count - start)
                try inParallel(count: n, threads: workers) { lo, hi, worker in
                    let block = blocks[worker].pointer
                    var i = lo
                    while i < hi {
                        let m = min(blockElements, hi - i)
                        try file.read(elements: (start + i)..<(start + i + m), into: block)
                        try convert(block, output.pointer + i * outSize, m, start + i)
                        i += m
                    }
                }
                try writer.append(elements: output.pointer, count: n)
                start += n
            }
        } else {
            let input = try ScratchBuffer(byteCount: chunkElements * inSize)
            var first = 0
            while true {
                let n = try source.read(into: input.pointer, capacity: chunkElements)
                if n == 0 { break }
                try inParallel(count: n, threads: threads) { lo, hi, _ in
                    try convert(input.pointer + lo * inSize, output.pointer + lo * outSize, hi - lo, first + lo)
                }
                try writer.append(elements: output.pointer, count: n)
                first += n
            }
        }
        try writer.commit()
    }

    /// Splits [0, count) into at most `threads` contiguous slices (multiples of 64 elements, so
    /// no two workers write one cache line of output) and runs `body(lo, hi, worker)` on each
    /// concurrently; rethrows the error of the lowest slice that failed.
    static func inParallel(count: Int, threads: Int, _ body: (Int, Int, Int) throws -> Void) throws {
        let t = min(threads, max(1, count / 4096))
        if t <= 1 {
            if count > 0 { try body(0, count, 0) }
            return
        }
        let per = ((count + t - 1) / t + 63) & ~63
        let failures = UnsafeMutableBufferPointer<(any Error)?>.allocate(capacity: t)
        failures.initialize(repeating: nil)
        defer {
            _ = failures.deinitialize()
            failures.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: t) { j in
            let lo = j * per, hi = min(count, lo + per)
            guard lo < hi else { return }
            do { try body(lo, hi, j) } catch { failures[j] = error }
        }
        if let first = failures.lazy.compactMap({ $0 }).first { throw first }
    }
}

extension FileConversion {
    /// The input dtypes `encode` converts, with the names its refusal lists.
    public static let encodeInputs: [(type: NPYDType, name: String)] = [
        (.float16, "float16"), (.bfloat16, "bfloat16"), (.float32, "float32"), (.float64, "float64"),
    ]
    /// The input dtypes `decode` converts.
    public static let decodeInputs: [(type: NPYDType, name: String)] = [(.uint8, "uint8"), (.uint16, "uint16")]

    /// The code storage of `format`: uint8 for formats of at most 8 bits, else uint16.
    public static func codeType(_ format: FloatFormat) -> NPYDType { format.bitWidth > 8 ? .uint16 : .uint8 }

    /// Encodes every element of `source` (float16, bfloat16, float32 or float64) to codes of
    /// `codec`'s format, written to `output` as `.npy` (raw when `raw`) with the input's shape.
    /// float16 and bfloat16 widen exactly to Float32 first (every such value is a Float32).
    public static func encode(
        _ source: any NPYElementSource, to output: String, raw: Bool, codec: NarrowFloatCodec,
        seed: UInt64 = 0, threads: Int, durability: Durability
    ) throws {
        guard threads >= 1 else { throw CodecError.invalidThreadCount(threads) }
        let inType = source.dtype, outType = codeType(codec.format)
        precondition(encodeInputs.contains { $0.type == inType }, "encode of \(inType.name) input")
        let writer = try NPYStreamWriter(path: output, dtype: outType, shape: source.knownShape, raw: raw, durability: durability)
        try run(from: source, to: writer, threads: threads) { input, out, n, first in
            switch inType {
            case .float64:
                try encode(codec, UnsafeBufferPointer(start: input.assumingMemoryBound(to: Double.self), count: n), outType, out, seed, first)
            case .float32:
                try encode(codec, UnsafeBufferPointer(start: input.assumingMemoryBound(to: Float.self), count: n), outType, out, seed, first)
            default:
                // Widen a cache line's worth of pieces at a time into a buffer on the stack.
                let bits = input.assumingMemoryBound(to: UInt16.self)
                let piece = 1024
                try withUnsafeTemporaryAllocation(of: Float.self, capacity: piece) { wide in
                    var i = 0
                    while i < n {
                        let m = min(piece, n - i)
                        if inType == .float16 {
                            for k in 0..<m { wide[k] = NPY.float(fromHalfBits: bits[i + k]) }
                        } else {
                            for k in 0..<m { wide[k] = Float(bitPattern: UInt32(bits[i + k]) << 16) }
                        }
                        try encode(codec, UnsafeBufferPointer(rebasing: wide[0..<m]), outType, out + i * outType.itemSize, seed, first + i)
                        i += m
                    }
                }
            }
        }
    }

    /// Decodes every code of `source` (uint8 or uint16) exactly to Float32, written to `output`
    /// as `.npy` (raw when `raw`). A code outside the format is `CodecError.invalidCode` with its
    /// position in the array.
    public static func decode(
        _ source: any NPYElementSource, to output: String, raw: Bool, codec: NarrowFloatCodec,
        threads: Int, durability: Durability
    ) throws {
        guard threads >= 1 else { throw CodecError.invalidThreadCount(threads) }
        let inType = source.dtype
        precondition(decodeInputs.contains { $0.type == inType }, "decode of \(inType.name) input")
        let writer = try NPYStreamWriter(path: output, dtype: .float32, shape: source.knownShape, raw: raw, durability: durability)
        try run(from: source, to: writer, threads: threads) { input, out, n, first in
            let floats = UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: Float.self), count: n)
            do {
                if inType == .uint8 {
                    try codec.decode(UnsafeBufferPointer(start: input.assumingMemoryBound(to: UInt8.self), count: n), into: floats)
                } else {
                    try codec.decode(UnsafeBufferPointer(start: input.assumingMemoryBound(to: UInt16.self), count: n), into: floats)
                }
            } catch {
                // Positions in the array, not in the block.
                if case .invalidCode(let index, let code, let format) = error as? CodecError {
                    throw CodecError.invalidCode(index: first + index, code: code, format: format)
                }
                throw error
            }
        }
    }

    private static func encode(
        _ codec: NarrowFloatCodec, _ xs: UnsafeBufferPointer<Float>, _ outType: NPYDType, _ out: UnsafeMutableRawPointer,
        _ seed: UInt64, _ first: Int
    ) throws {
        if outType == .uint16 {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt16.self), count: xs.count), seed: seed, firstIndex: UInt64(first))
        } else {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt8.self), count: xs.count), seed: seed, firstIndex: UInt64(first))
        }
    }

    private static func encode(
        _ codec: NarrowFloatCodec, _ xs: UnsafeBufferPointer<Double>, _ outType: NPYDType, _ out: UnsafeMutableRawPointer,
        _ seed: UInt64, _ first: Int
    ) throws {
        if outType == .uint16 {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt16.self), count: xs.count), seed: seed, firstIndex: UInt64(first))
        } else {
            try codec.encode(xs, into: UnsafeMutableBufferPointer(start: out.assumingMemoryBound(to: UInt8.self), count: xs.count), seed: seed, firstIndex: UInt64(first))
        }
    }
}
