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

/// Whole-file writes that are atomic and leave nothing behind.
///
/// The bytes go to a file in the destination's directory that has **no name** while it is
/// written (Linux `O_TMPFILE`), are flushed with `fsync`, and only then get a name
/// (`linkat` through `/proc/self/fd`) that is at once renamed over the destination (POSIX
/// `rename(2)` replaces atomically within one file system). A reader therefore sees the old
/// file or the complete new one, never a prefix, and an interrupted write — SIGINT, SIGTERM,
/// even SIGKILL — leaves nothing: an unnamed file vanishes with its descriptor. Where
/// `O_TMPFILE` is unavailable (another OS, a file system without it) the temporary file is
/// named `.<name>.tmp-<pid>-<random>` and removed on SIGINT, SIGTERM, SIGHUP and SIGQUIT by
/// `TemporaryFileCleanup`; the short link-then-rename step of the unnamed path is covered the
/// same way.
///
/// Several files written together (`write(_:)` with a list, used by `report`) are all
/// prepared — checked, written and flushed — before the first is put in place, so a failure
/// on any of them (a target that is a directory, a full disk) changes none.
public enum AtomicFile {
    /// Writes `data` to `path`, replacing any existing file atomically.
    ///
    /// Throws `OutputError` when the parent directory is missing or is a file, the path is a
    /// directory, the directory is not writable, or the write fails.
    public static func write(_ data: Data, to path: String) throws(OutputError) {
        try write([(data, path)])
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to path: String) throws(OutputError) {
        try write(Data(text.utf8), to: path)
    }

    /// Writes every `(data, path)` pair, all or none: each target is checked and each file
    /// written and flushed aside before any is renamed into place.
    public static func write(_ files: [(data: Data, path: String)]) throws(OutputError) {
        var pending: [PendingFile] = []
        for (_, path) in files { try checkTarget(path) }
        for (data, path) in files {
            let file = try PendingFile(path: path)
            pending.append(file)
            let failure: OutputError? = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> OutputError? in
                do throws(OutputError) { try file.append(raw) } catch { return error }
                return nil
            }
            if let failure { throw failure }
        }
        for file in pending { try file.flush() }
        for file in pending { try file.commit() }
    }

    /// Checks that `path` can be replaced: its directory exists and is writable, and `path`
    /// itself is not a directory.
    static func checkTarget(_ path: String) throws(OutputError) {
        try checkDirectory(directory(of: path))
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw .pathIsDirectory(path)
        }
    }

    /// The directory holding `path`, split as given (not resolved against the working
    /// directory), so that errors name it the way the user wrote it.
    static func directory(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
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

/// A file being written for an atomic replace of `path`: unnamed (`O_TMPFILE`) where the
/// system allows, else named and registered for removal on a terminating signal. Written with
/// `append`, made durable with `flush`, put in place with `commit`; dropped without `commit`,
/// it leaves nothing.
public final class PendingFile {
    public let path: String
    private let directory: String
    private var fd: Int32
    /// The temporary name while the file has one (always on the fallback path; on the
    /// unnamed path only between `linkat` and `rename`).
    private var temporaryName: String?
    private var cleanupSlot: Int?
    private var committed = false

    /// Opens the temporary file beside `path`. Checks the target first (see
    /// `AtomicFile.checkTarget`).
    public init(path: String) throws(OutputError) {
        try AtomicFile.checkTarget(path)
        self.path = path
        self.directory = AtomicFile.directory(of: path)
        #if os(Linux)
        // O_TMPFILE is `__O_TMPFILE | O_DIRECTORY`; the macro is not imported into Swift.
        // __O_TMPFILE is 0o20000000 on every Linux architecture Swift supports.
        let unnamed = open(directory, Int32(0o20000000) | O_DIRECTORY | O_WRONLY | O_CLOEXEC, 0o644)
        #else
        let unnamed: Int32 = -1
        #endif
        if unnamed >= 0 {
            fd = unnamed
            return
        }
        let name = Self.temporaryPath(for: path, in: directory)
        cleanupSlot = TemporaryFileCleanup.register(name)
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code = errno
            TemporaryFileCleanup.unregister(cleanupSlot)
            let reason = String(cString: strerror(code))
            throw code == EACCES || code == EROFS || code == EPERM
                ? .notWritable(directory, reason: reason) : .writeFailed(path, reason: reason)
        }
        temporaryName = name
    }

    deinit { discard() }

    /// Appends `bytes`.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(OutputError) {
        var offset = 0
        while offset < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                discard()
                throw .writeFailed(path, reason: reason)
            }
            offset += n
        }
    }

    /// Flushes the contents to the device (`fsync`), so the rename never publishes a file
    /// whose data a crash could lose.
    public func flush() throws(OutputError) {
        if fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            throw .writeFailed(path, reason: reason)
        }
    }

    /// Puts the file in place of `path` (atomically replacing any previous file).
    public func commit() throws(OutputError) {
        precondition(fd >= 0 && !committed, "PendingFile committed twice or after a failure")
        if temporaryName == nil {
            // Give the unnamed file a name for the instant between link and rename.
            let name = Self.temporaryPath(for: path, in: directory)
            cleanupSlot = TemporaryFileCleanup.register(name)
            if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) != 0 {
                let reason = String(cString: strerror(errno))
                TemporaryFileCleanup.unregister(cleanupSlot)
                cleanupSlot = nil
                discard()
                throw .writeFailed(path, reason: "cannot link the new file: \(reason)")
            }
            temporaryName = name
        }
        if rename(temporaryName!, path) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            throw .writeFailed(path, reason: reason)
        }
        TemporaryFileCleanup.unregister(cleanupSlot)
        cleanupSlot = nil
        temporaryName = nil
        committed = true
        close(fd)
        fd = -1
    }

    /// Abandons the file: closes it and removes its temporary name, if any.
    public func discard() {
        if let name = temporaryName { unlink(name) }
        TemporaryFileCleanup.unregister(cleanupSlot)
        cleanupSlot = nil
        temporaryName = nil
        if fd >= 0 { close(fd) }
        fd = -1
    }

    static func temporaryPath(for path: String, in directory: String) -> String {
        let name = (path as NSString).lastPathComponent
        return (directory as NSString).appendingPathComponent(
            ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }
}

/// Removes registered temporary files when the process is ended by SIGINT, SIGTERM, SIGHUP or
/// SIGQUIT, then lets the signal take its default action (so the exit status still tells the
/// caller it was a signal).
///
/// The handler runs at any moment, so it only reads a fixed table of C strings (`unlink` is
/// async-signal-safe; nothing is allocated or locked there). Registration stores a pointer
/// into a free slot; a slot is written by one thread at a time under `handlersInstalled`'s
/// lock, and pointer stores are single machine words, which the handler reads whole.
public enum TemporaryFileCleanup {
    static let capacity = 256
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    /// Whether the signal handlers are installed; its lock also serialises the slot writes.
    static let handlersInstalled = Locked(false)

    /// Registers `path` for removal on a terminating signal; returns its slot (nil when the
    /// table is full: the file is then only removed by the normal paths).
    static func register(_ path: String) -> Int? {
        handlersInstalled.withLock { installed in
            if !installed {
                installHandlers()
                installed = true
            }
            for i in 0..<capacity where slots[i] == nil {
                slots[i] = strdup(path)
                return i
            }
            return nil
        }
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        handlersInstalled.withLock { _ in
            let p = slots[slot]
            slots[slot] = nil
            free(p)
        }
    }

    /// The signals after which a temporary name must not survive.
    static let terminatingSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private static func installHandlers() {
        _ = slots
        #if canImport(Glibc)
        for sig in terminatingSignals {
            var previous = sigaction()
            sigaction(sig, nil, &previous)
            // A signal the parent told us to ignore (nohup) stays ignored.
            if unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == 1 /* SIG_IGN */ { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                for i in 0..<TemporaryFileCleanup.capacity {
                    if let p = TemporaryFileCleanup.slots[i] { unlink(p) }
                }
                signal(sig, SIG_DFL)
                raise(sig)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, nil)
        }
        #endif
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
