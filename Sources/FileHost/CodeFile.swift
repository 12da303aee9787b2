import Conformance
import Formats
import Foundation
import Harness

/// A file of codes in a known order (`.npy` uint8/uint16/`<V1`, or raw codes of the format's
/// storage width), read by position with `pread`: the sweep reads one block per request and
/// never holds the file.
final class CodeFile: @unchecked Sendable {
    let path: String
    private let reader: NPYStreamReader
    /// Elements in the file.
    var count: Int { reader.count }
    /// One block kept for lookups of single patterns (suites other than the sweep ask for a
    /// few inputs at a time, mostly in ascending order).
    private let cache = Locked<(start: Int, codes: [UInt16])>((-1, []))
    private static let cacheBlock = 1 << 12

    init(path: String, format: FloatFormat) throws {
        self.path = path
        let reader = Self.isNPY(path) ? try NPYStreamReader(path: path)
            : try NPYStreamReader(path: path, rawDType: format.bitWidth <= 8 ? .uint8 : .uint16)
        guard reader.dtype == .uint8 || reader.dtype == .uint16 else {
            throw FileHostError.notCodes(path: path, dtype: reader.dtype.descr)
        }
        self.reader = reader
    }

    /// True when the file starts with the NumPy magic (a raw code file of an encoder could only
    /// start so if the code of +0 were 0x93).
    static func isNPY(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 6)) ?? Data()
        return Array(head) == NPY.magic
    }

    func readAll() throws -> [UInt16] { try read(0..<count) }

    /// Codes at element indices `range`, widened to UInt16.
    func read(_ range: Range<Int>) throws -> [UInt16] {
        if range.isEmpty { return [] }
        if reader.dtype == .uint16 {
            return try [UInt16](unsafeUninitializedCapacity: range.count) { b, n in
                try reader.read(elements: range, into: UnsafeMutableRawPointer(b.baseAddress!))
                n = range.count
            }
        }
        let bytes = try [UInt8](unsafeUninitializedCapacity: range.count) { b, n in
            try reader.read(elements: range, into: UnsafeMutableRawPointer(b.baseAddress!))
            n = range.count
        }
        return bytes.map(UInt16.init)
    }

    /// The code of Float32 pattern `p` in a file whose element 0 is pattern `first`; nil when
    /// the file does not reach it.
    func code(ofPattern p: UInt64, first: UInt64) throws -> UInt16? {
        guard p >= first, p - first < UInt64(count) else { return nil }
        let i = Int(p - first)
        if let c = cache.withLock({ c in i >= c.start && i < c.start + c.codes.count ? c.codes[i - c.start] : nil }) {
            return c
        }
        let start = i - i % Self.cacheBlock
        let codes = try read(start..<min(count, start + Self.cacheBlock))
        cache.withLock { $0 = (start, codes) }
        return codes[i - start]
    }

    /// Hands the codes of `patterns` (element 0 of the file is pattern `first`) to `deliver`,
    /// as the sweep's code type. A stored value that is not a code of the format (a uint16 file
    /// for an 8-bit format holding 0x1234) is a fault of that input, not truncated.
    func sweep<Code: SweepCode>(
        _ patterns: Range<UInt64>, first: UInt64, format: FloatFormat, deliver: (UInt64, UnsafeBufferPointer<Code>) -> Void
    ) throws -> [ConversionFault] {
        let range = Int(patterns.lowerBound - first)..<Int(patterns.upperBound - first)
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "sweep outside the file's patterns")
        let itemSize = reader.dtype.itemSize
        if itemSize == MemoryLayout<Code>.size {
            let buffer = UnsafeMutableBufferPointer<Code>.allocate(capacity: range.count)
            defer { buffer.deallocate() }
            try reader.read(elements: range, into: UnsafeMutableRawPointer(buffer.baseAddress!))
            deliver(patterns.lowerBound, UnsafeBufferPointer(buffer))
            return []
        }
        // Widths differ: widen, or narrow where every value fits.
        let wide = try read(range)
        var out = [Code](repeating: 0, count: wide.count)
        var valid = [Bool](repeating: true, count: wide.count)
        var faults: [ConversionFault] = []
        for (i, c) in wide.enumerated() {
            if UInt64(c) <= UInt64(Code.max) {
                out[i] = Code(c)
            } else {
                valid[i] = false
                faults.append(FileHost.notACode(c, at: patterns.lowerBound + UInt64(i), call: patterns, format: format))
            }
        }
        out.withUnsafeBufferPointer { v in
            FileHost.deliverRuns(v, valid: valid) { firstIndex, run in deliver(patterns.lowerBound + UInt64(firstIndex), run) }
        }
        return faults
    }
}

extension NPYStreamReader {
    /// Every element, as `T` (whose size must be the dtype's item size).
    func readAll<T: FixedWidthInteger>(as: T.Type) throws -> [T] {
        precondition(MemoryLayout<T>.size == dtype.itemSize)
        return try [T](unsafeUninitializedCapacity: count) { b, n in
            if count > 0 { try read(elements: 0..<count, into: UnsafeMutableRawPointer(b.baseAddress!)) }
            n = count
        }
    }
}
