import Foundation
import Formats

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the elements of a `.npy` (or raw little-endian) file in pieces, so that a file of any
/// size is converted with a fixed amount of memory: the header is parsed and checked against
/// the file's length up front (as `NPY.read` does), then `read(into:)` hands out the next
/// elements with `read(2)`, no whole-array copy.
///
/// Only regular files are accepted: a device (`/dev/zero`), a FIFO or a directory has no
/// length to check the header against, and `/dev/zero` would otherwise either read as an
/// empty array or never end.
public final class NPYStreamReader {
    public let path: String
    public let dtype: NPYDType
    public let shape: [Int]
    /// Number of elements in the file.
    public let count: Int
    /// Elements not yet read.
    public private(set) var remaining: Int
    /// Byte offset of the first element in the file.
    public let dataOffset: Int
    private var fd: Int32

    /// Opens `path` as `.npy` (`rawDType == nil`) or as headerless little-endian elements of
    /// `rawDType`. Throws `NPYError` for anything but a regular, well-formed file.
    public init(path: String, rawDType: NPYDType? = nil, maxElements: Int = NPY.defaultMaxElements) throws(NPYError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw NPYError(.unreadable(reason: reason), path: path)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw NPYError(.unreadable(reason: reason), path: path)
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            let what: String
            switch kind {
            case S_IFDIR: what = "is a directory"
            case S_IFCHR: what = "is a character device, not a regular file"
            case S_IFIFO: what = "is a FIFO, not a regular file"
            case S_IFSOCK: what = "is a socket, not a regular file"
            case S_IFBLK: what = "is a block device, not a regular file"
            default: what = "is not a regular file"
            }
            throw NPYError(.unreadable(reason: what), path: path)
        }
        let fileSize = Int(info.st_size)
        do throws(NPYError) {
            if let rawDType {
                guard fileSize % rawDType.itemSize == 0 else {
                    throw NPYError(.rawSizeNotMultiple(bytes: fileSize, itemSize: rawDType.itemSize))
                }
                let n = fileSize / rawDType.itemSize
                guard n <= maxElements else { throw NPYError(.shapeTooLarge(shape: [n], limit: maxElements)) }
                dtype = rawDType
                shape = [n]
                count = n
                dataOffset = 0
            } else {
                var prefix = [UInt8](repeating: 0, count: min(fileSize, 12))
                try Self.readFully(fd, into: &prefix, path: path)
                let (headerStart, headerLength, version) = try NPY.parsePrefix(prefix)
                guard fileSize >= headerStart + headerLength else { throw NPYError(.truncatedHeader) }
                var headerBytes = [UInt8](repeating: 0, count: headerLength)
                guard lseek(fd, off_t(headerStart), SEEK_SET) >= 0 else {
                    throw NPYError(.unreadable(reason: "cannot seek"))
                }
                try Self.readFully(fd, into: &headerBytes, path: path)
                let header = try NPY.parseHeader(headerBytes, version: version)
                let dataStart = headerStart + headerLength
                let declared = try NPY.declaredBytes(header, maxElements: maxElements)
                guard declared == fileSize - dataStart else {
                    throw NPYError(.dataLengthMismatch(declared: declared, actual: fileSize - dataStart))
                }
                dtype = header.dtype
                shape = header.shape
                count = declared / header.dtype.itemSize
                dataOffset = dataStart
            }
        } catch {
            close(fd)
            throw error.at(path)
        }
        remaining = count
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Reads the next `min(capacity, remaining)` elements into `buffer` (room for `capacity`
    /// elements of `dtype`), converted to host byte order; returns how many.
    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws(NPYError) -> Int {
        let n = min(capacity, remaining)
        let bytes = n * dtype.itemSize
        let done = try readUpTo(fd, buffer, bytes, path: path)
        if done < bytes {
            // The file shrank after its length was checked.
            throw NPYError(.dataLengthMismatch(declared: count * dtype.itemSize, actual: (count - remaining) * dtype.itemSize + done), path: path)
        }
        #if _endian(big)
        NPYStreamWriter.swapToLittleEndian(buffer, count: n, itemSize: dtype.itemSize)
        #endif
        remaining -= n
        return n
    }

    /// Reads elements `range` (indices into the file's elements) into `buffer`, converted to
    /// host byte order, with `pread(2)`: random access that leaves the sequential position
    /// alone and may be called from several threads at once.
    public func read(elements range: Range<Int>, into buffer: UnsafeMutableRawPointer) throws(NPYError) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        let bytes = range.count * dtype.itemSize
        let start = dataOffset + range.lowerBound * dtype.itemSize
        var done = 0
        while done < bytes {
            let k = pread(fd, buffer + done, bytes - done, off_t(start + done))
            if k < 0 {
                if errno == EINTR { continue }
                throw NPYError(.unreadable(reason: String(cString: strerror(errno))), path: path)
            }
            if k == 0 {
                throw NPYError(.dataLengthMismatch(declared: count * dtype.itemSize, actual: start + done - dataOffset), path: path)
            }
            done += k
        }
        #if _endian(big)
        NPYStreamWriter.swapToLittleEndian(buffer, count: range.count, itemSize: dtype.itemSize)
        #endif
    }

    private static func readFully(_ fd: Int32, into bytes: inout [UInt8], path: String) throws(NPYError) {
        var failure: NPYError?
        bytes.withUnsafeMutableBytes { raw in
            var done = 0
            while done < raw.count {
                let k = posixRead(fd, raw.baseAddress! + done, raw.count - done)
                if k < 0 && errno == EINTR { continue }
                if k < 0 { failure = NPYError(.unreadable(reason: String(cString: strerror(errno)))); return }
                if k == 0 { failure = NPYError(.truncatedHeader); return }
                done += k
            }
        }
        if let failure { throw failure }
    }
}

/// Writes a `.npy` (or raw) file piece by piece into a `PendingFile`: the header first (the
/// shape is known up front), then the elements as they are produced; `commit()` puts the
/// complete file in place atomically, and a writer dropped before that leaves nothing. The
/// output may also be a stream (`-`, `/dev/stdout`, a device, a FIFO; see `OutputTarget`),
/// which is written as the elements come.
public final class NPYStreamWriter {
    public let path: String
    public let dtype: NPYDType
    private let file: PendingFile
    /// Elements still owed to the shape; nil for raw output of a length known only at its end.
    private var remaining: Int?

    /// `shape` is required for `.npy` (its header states it); for raw output (`raw: true`) it
    /// may be nil when the length is not known in advance (raw data read from a pipe).
    public init(path: String, dtype: NPYDType, shape: [Int]?, raw: Bool, durability: Durability = .crashSafe) throws(NPYError) {
        precondition(shape != nil || raw, "a .npy header needs the shape")
        self.path = path
        self.dtype = dtype
        if let shape {
            guard let n = NPY.elementCount(shape) else { throw NPYError(.shapeMismatch(shape: shape, count: 0), path: path) }
            remaining = n
        }
        do { file = try PendingFile(path: path, durability: durability) } catch { throw NPYError(.output(error), path: path) }
        if !raw, let shape {
            let header = NPY.headerBytes(dtype: dtype, shape: shape)
            do { try file.append(header) } catch { throw NPYError(.output(error), path: path) }
        }
    }

    /// Appends `count` elements of `dtype` in host byte order (swapped to little-endian in place
    /// on a big-endian host).
    public func append(elements: UnsafeMutableRawPointer, count: Int) throws(NPYError) {
        precondition(count <= remaining ?? .max, "more elements than the shape holds")
        #if _endian(big)
        Self.swapToLittleEndian(elements, count: count, itemSize: dtype.itemSize)
        #endif
        try append(UnsafeRawBufferPointer(start: elements, count: count * dtype.itemSize))
        if let r = remaining { remaining = r - count }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) throws(NPYError) {
        do { try file.append(bytes) } catch { throw NPYError(.output(error), path: path) }
    }

    /// Flushes and puts the file in place; every element of the shape must have been written.
    public func commit() throws(NPYError) {
        precondition(remaining ?? 0 == 0, "NPYStreamWriter committed with \(remaining ?? 0) elements missing")
        do {
            try file.flush()
            try file.commit()
        } catch { throw NPYError(.output(error), path: path) }
    }

    static func swapToLittleEndian(_ p: UnsafeMutableRawPointer, count: Int, itemSize: Int) {
        for i in 0..<count {
            let q = p + i * itemSize
            for j in 0..<itemSize / 2 {
                let a = q.load(fromByteOffset: j, as: UInt8.self)
                q.storeBytes(of: q.load(fromByteOffset: itemSize - 1 - j, as: UInt8.self), toByteOffset: j, as: UInt8.self)
                q.storeBytes(of: a, toByteOffset: itemSize - 1 - j, as: UInt8.self)
            }
        }
    }
}

/// A buffer from `malloc`, so that running out of memory is an error to report instead of a
/// trap (Swift's own allocations abort when the system refuses).
public final class ScratchBuffer {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int

    public init(byteCount: Int) throws(ScratchBufferError) {
        guard let p = malloc(max(byteCount, 1)) else { throw ScratchBufferError(byteCount: byteCount) }
        pointer = p
        self.byteCount = byteCount
    }

    deinit { free(pointer) }
}

public struct ScratchBufferError: Error, CustomStringConvertible, Sendable, Hashable {
    public var byteCount: Int
    public var description: String { "out of memory: cannot allocate \(byteCount) bytes" }
}

/// Reads `count` bytes from `fd` with `read(2)`, retrying interrupted and short reads; returns
/// fewer only at the end of the file or stream.
func readUpTo(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, path: String?) throws(NPYError) -> Int {
    var done = 0
    while done < count {
        let k = posixRead(fd, buffer + done, count - done)
        if k < 0 {
            if errno == EINTR { continue }
            throw NPYError(.unreadable(reason: String(cString: strerror(errno))), path: path)
        }
        if k == 0 { break }
        done += k
    }
    return done
}

/// `read(2)`, named apart from the Swift overloads in scope.
@inline(__always)
func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
