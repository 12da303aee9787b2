import Foundation
import Formats

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors writing output files. Every case names the path and says what to do.
public enum OutputError: Error, Hashable, CustomStringConvertible, Sendable {
    /// The directory that should hold the file does not exist.
    case directoryMissing(String)
    /// A path that must be a directory is a regular file (or something else).
    case notADirectory(String)
    /// The output path itself is an existing directory.
    case pathIsDirectory(String)
    /// The directory exists but we may not create files in it.
    case notWritable(String, reason: String)
    /// A write, flush or rename failed part-way (disk full, I/O error); nothing was replaced.
    case writeFailed(String, reason: String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .directoryMissing(let p): return "output directory '\(p)' does not exist"
        case .notADirectory(let p): return "'\(p)' is a file, not a directory"
        case .pathIsDirectory(let p): return "output path '\(p)' is a directory; give a file path"
        case .notWritable(let p, let r): return "cannot write in '\(p)': \(r)"
        case .writeFailed(let p, let r): return "writing '\(p)' failed: \(r); the previous file, if any, is unchanged"
        }
    }
}

/// Whole-file writes that are atomic: the bytes go to a temporary file in the destination's
/// directory, are flushed with `fsync`, and the temporary file is renamed over the destination
/// (POSIX `rename(2)` replaces atomically within one file system). A reader therefore sees the
/// old file or the complete new one, never a prefix, and a crash leaves at most a stray
/// `.<name>.tmp-*` file behind.
public enum AtomicFile {
    /// Writes `data` to `path`, replacing any existing file atomically.
    ///
    /// Throws `OutputError` when the parent directory is missing or is a file, the path is a
    /// directory, the directory is not writable, or the write fails.
    public static func write(_ data: Data, to path: String) throws(OutputError) {
        // Split the path as given (not resolved against the working directory), so that
        // errors name the directory the way the user wrote it.
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        let name = (path as NSString).lastPathComponent
        try checkDirectory(dir)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw .pathIsDirectory(path)
        }
        let tmp = (dir as NSString).appendingPathComponent(
            ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw errno == EACCES || errno == EROFS || errno == EPERM
                ? .notWritable(dir, reason: reason) : .writeFailed(path, reason: reason)
        }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil && rename(tmp, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw .writeFailed(path, reason: failure)
        }
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to path: String) throws(OutputError) {
        try write(Data(text.utf8), to: path)
    }

    /// Ensures `path` is an existing directory, creating it (and its parents) when missing.
    /// Throws `.notADirectory` when it, or a parent, is a file.
    public static func ensureDirectory(_ path: String) throws(OutputError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if !isDir.boolValue { throw .notADirectory(path) }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            // Find the first ancestor that exists: a file there is the usual cause.
            var probe = path
            while true {
                let up = (probe as NSString).deletingLastPathComponent
                if up.isEmpty || up == probe { break }
                probe = up
                if FileManager.default.fileExists(atPath: probe, isDirectory: &isDir) {
                    if !isDir.boolValue { throw .notADirectory(probe) }
                    break
                }
            }
            throw .notWritable(path, reason: "cannot create directory")
        }
    }

    /// Checks that `dir` exists, is a directory and is writable.
    static func checkDirectory(_ dir: String) throws(OutputError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
            throw .directoryMissing(dir)
        }
        guard isDir.boolValue else { throw .notADirectory(dir) }
        guard access(dir, W_OK) == 0 else {
            throw .notWritable(dir, reason: String(cString: strerror(errno)))
        }
    }
}

/// `write(2)`, named apart from the Swift overloads in scope.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
