import Foundation
import Formats

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Elements read in order from an input: a regular file (`NPYStreamReader`) or standard input
/// (`NPYPipeReader`). What `encode` and `decode` convert.
public protocol NPYElementSource: AnyObject {
    /// The input as the user named it (what messages show).
    var path: String { get }
    var dtype: NPYDType { get }
    /// The array's shape; nil for raw data from a pipe, whose length is known only at its end.
    var knownShape: [Int]? { get }
    /// Reads the next `min(capacity, elements left)` elements into `buffer` (room for
    /// `capacity` elements of `dtype`), in host byte order; returns how many, 0 at the end.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws(NPYError) -> Int
}

extension NPYStreamReader: NPYElementSource {
    public var knownShape: [Int]? { shape }
}

/// Opening an input by the name a user gives: `-` (or `/dev/stdin`) is standard input, read as
/// a stream; any other name is a regular file (`NPYStreamReader`).
public enum NPYInput {
    public static func isStandardInput(_ path: String) -> Bool { path == "-" || path == "/dev/stdin" }

    /// `.npy` when `rawDType` is nil, else headerless little-endian elements of `rawDType`.
    public static func open(_ path: String, rawDType: NPYDType?, maxElements: Int = NPY.defaultMaxElements) throws(NPYError) -> any NPYElementSource {
        if isStandardInput(path) {
            return try NPYPipeReader(descriptor: 0, name: path, rawDType: rawDType, maxElements: maxElements)
        }
        return try NPYStreamReader(path: path, rawDType: rawDType, maxElements: maxElements)
    }
}

/// Reads a `.npy` array (or raw little-endian elements) from a descriptor that can only be read
/// in order — standard input, a pipe — with `read(2)`, a piece at a time.
///
/// The checks of a file are made as the bytes arrive: the header as for a file; data that ends
/// before the header's shape is `dataLengthMismatch` (truncated), and bytes after it are
/// refused too (read to the end to count them), both before the last elements are handed out,
/// so a converter never completes its output from a malformed stream. Raw data has no length up
/// front (`knownShape` is nil); a trailing partial element is `rawSizeNotMultiple`.
public final class NPYPipeReader: NPYElementSource {
    public let path: String
    public let dtype: NPYDType
    public let knownShape: [Int]?
    /// Elements still to come (`.npy`), or nil (raw).
    private var remaining: Int?
    /// Bytes consumed so far from the descriptor.
    private var consumed = 0
    /// Bytes of data (after the header).
    private var dataBytes = 0
    private let headerBytes: Int
    private let fd: Int32
    private var ended = false

    /// Reads (and checks) the `.npy` header from `descriptor` now; the descriptor is left open.
    public init(descriptor: Int32, name: String, rawDType: NPYDType?, maxElements: Int = NPY.defaultMaxElements) throws(NPYError) {
        path = name
        fd = descriptor
        if let rawDType {
            dtype = rawDType
            knownShape = nil
            remaining = nil
            headerBytes = 0
            return
        }
        do throws(NPYError) {
            var prefix = try Self.readExactly(fd, 10)
            if prefix.count == 10, prefix[6] >= 2 { prefix += try Self.readExactly(fd, 2) }
            let (headerStart, headerLength, version) = try NPY.parsePrefix(prefix)
            let headerText = try Self.readExactly(fd, headerLength)
            guard headerText.count == headerLength else { throw NPYError(.truncatedHeader) }
            let header = try NPY.parseHeader(headerText, version: version)
            let declared = try NPY.declaredBytes(header, maxElements: maxElements)
            dtype = header.dtype
            knownShape = header.shape
            remaining = declared / header.dtype.itemSize
            headerBytes = headerStart + headerLength
            consumed = headerBytes
        } catch {
            throw error.at(name)
        }
    }

    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws(NPYError) -> Int {
        if ended { return 0 }
        let wanted = min(capacity, remaining ?? capacity) * dtype.itemSize
        let done = try readUpTo(fd, buffer, wanted, path: path)
        dataBytes += done
        let n = done / dtype.itemSize
        if let r = remaining {
            if done < wanted {
                throw NPYError(.dataLengthMismatch(declared: (dataBytes - done) + r * dtype.itemSize, actual: dataBytes), path: path)
            }
            remaining = r - n
            if r - n == 0 { try expectEnd(declared: dataBytes) }
        } else if done < wanted {
            // The end of raw data: it must hold whole elements.
            guard done % dtype.itemSize == 0 else {
                throw NPYError(.rawSizeNotMultiple(bytes: dataBytes, itemSize: dtype.itemSize), path: path)
            }
            ended = true
        }
        #if _endian(big)
        NPYStreamWriter.swapToLittleEndian(buffer, count: n, itemSize: dtype.itemSize)
        #endif
        return n
    }

    /// After the last declared element: the stream must end here.
    private func expectEnd(declared: Int) throws(NPYError) {
        ended = true
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        var extra = 0
        while true {
            let k = try readUpTo(fd, scratch, 1 << 16, path: path)
            extra += k
            if k < 1 << 16 { break }
        }
        if extra > 0 { throw NPYError(.dataLengthMismatch(declared: declared, actual: declared + extra), path: path) }
    }

    /// Up to `count` bytes: fewer only at the end of the stream.
    private static func readExactly(_ fd: Int32, _ count: Int) throws(NPYError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var result: Result<Int, NPYError> = .success(0)
        bytes.withUnsafeMutableBytes { raw in
            if count > 0 {
                do throws(NPYError) { result = .success(try readUpTo(fd, raw.baseAddress!, count, path: nil)) } catch { result = .failure(error) }
            }
        }
        return Array(bytes[..<(try result.get())])
    }
}
