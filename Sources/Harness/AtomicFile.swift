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
    /// The path is a symbolic link whose target (`target`, as resolved) does not exist.
    case danglingSymlink(String, target: String)
    /// The path names something that can be neither replaced nor written in place (a block
    /// device, a socket, a closed descriptor, a symlink loop); `what` says which.
    case unsupportedTarget(String, what: String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .directoryMissing(let p): return "output directory '\(p)' does not exist"
        case .notADirectory(let p): return "'\(p)' is a file, not a directory"
        case .pathIsDirectory(let p): return "output path '\(p)' is a directory; give a file path"
        case .notWritable(let p, let r): return "cannot write in '\(p)': \(r)"
        case .writeFailed(let p, let r): return "writing '\(p)' failed: \(r); the previous file, if any, is unchanged"
        case .danglingSymlink(let p, let t):
            return "output '\(p)' is a symbolic link to '\(t)', which does not exist; create the target or remove the link"
        case .unsupportedTarget(let p, let w): return "cannot write '\(p)': \(w)"
        }
    }
}

/// Where an output path leads, decided before anything is written (`OutputTarget.resolve`).
///
/// - A regular file, or a name that does not exist yet, is **replaced**: written aside in its
///   directory and renamed over it (`AtomicFile`, `PendingFile`).
/// - A symbolic link is followed to its end and the **target** is replaced (the temporary file
///   goes in the target's directory, so the rename stays within one file system); the link
///   itself is never replaced. A link whose target does not exist is refused, as GNU `cp`
///   refuses to write through a dangling link: it usually means a wrong path, and writing would
///   create a file somewhere the user did not name.
/// - `-`, a descriptor the process inherited (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
///   `/proc/self/fd/N`, through any chain of links), a character device (`/dev/null`, a tty)
///   or a FIFO is **streamed**: written in place as the bytes are produced, never replaced,
///   truncated or unlinked. `/dev/stdout` is the descriptor the shell gave, whatever it is (a
///   pipe, a tty, or a file opened with `>` or `>>`), exactly like `-`.
/// - A directory, a block device, a socket, a dangling link or a link loop is refused with one
///   line (`OutputError`).
public enum OutputTarget: Equatable, Sendable {
    /// Replace the regular file `path` (the end of the link chain when the user named a link).
    case replace(path: String)
    /// Write to inherited descriptor `fd` (1 for `-`).
    case descriptor(Int32)
    /// Open `path` (a character device or a FIFO) for writing, without creating or truncating it.
    case device(path: String)

    /// Links followed before giving up (Linux's own limit, `MAXSYMLINKS`).
    static let maxLinks = 40

    /// Classifies `path` (see the type's documentation). Throws `OutputError` for a directory,
    /// a dangling link, a loop, a block device, a socket or a closed descriptor.
    public static func resolve(_ path: String) throws(OutputError) -> OutputTarget {
        if path == "-" { return try inherited(1, path) }
        var current = path
        for hop in 0...maxLinks {
            if let fd = descriptorNumber(current) { return try inherited(fd, path) }
            var info = stat()
            guard lstat(current, &info) == 0 else {
                let code = errno
                if code == ENOENT && hop > 0 { throw .danglingSymlink(path, target: current) }
                // A name that does not exist yet (or whose directory is missing: the
                // directory checks of `AtomicFile.checkTarget` explain that).
                return .replace(path: current)
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                guard let link = readLink(current) else {
                    throw .unsupportedTarget(path, what: "cannot read the symbolic link '\(current)'")
                }
                // A relative target is relative to the link's directory.
                let base = AtomicFile.directory(of: current)
                current = link.hasPrefix("/") || base == "." ? link : base + "/" + link
            case S_IFREG: return .replace(path: current)
            case S_IFDIR: throw .pathIsDirectory(path)
            case S_IFCHR, S_IFIFO: return .device(path: current)
            case S_IFBLK: throw .unsupportedTarget(path, what: "it is a block device; write to a file and copy it deliberately")
            case S_IFSOCK: throw .unsupportedTarget(path, what: "it is a socket")
            default: throw .unsupportedTarget(path, what: "it is not a file, a device or a FIFO")
            }
        }
        throw .unsupportedTarget(path, what: "more than \(maxLinks) symbolic links (a loop?)")
    }

    /// Whether the output is written in place (no temporary file, no rename).
    public var isStream: Bool {
        if case .replace = self { return false }
        return true
    }

    /// N when `path` is spelled as one of the process's own descriptors: `/dev/stdout`,
    /// `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N` or `/proc/<our pid>/fd/N`. Matched on the
    /// spelling, before `lstat`, because on Linux these are links into `/proc` whose targets
    /// (`pipe:[…]`, or the file the shell opened) must not be replaced.
    static func descriptorNumber(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdin": return 0
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default: break
        }
        for prefix in ["/dev/fd/", "/proc/self/fd/", "/proc/\(getpid())/fd/"] where path.hasPrefix(prefix) {
            let digits = path.dropFirst(prefix.count)
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let n = Int32(digits) else { return nil }
            return n
        }
        return nil
    }

    private static func inherited(_ fd: Int32, _ path: String) throws(OutputError) -> OutputTarget {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { throw .unsupportedTarget(path, what: "descriptor \(fd) is not open") }
        guard flags & O_ACCMODE != O_RDONLY else {
            throw .unsupportedTarget(path, what: "descriptor \(fd) is open for reading only")
        }
        return .descriptor(fd)
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What a completed output survives, beyond the atomicity every output has (a reader sees the
/// old file or the complete new one; a process killed part-way leaves nothing).
public enum Durability: Sendable, Hashable {
    /// `fsync` before the rename: once the command has returned, the new file also survives a
    /// power loss or a kernel crash. Costs one device flush (milliseconds to tens of
    /// milliseconds, whatever the size).
    case crashSafe
    /// No `fsync` (as `numpy.save`, `cp` or a shell redirection): a power loss soon after the
    /// command may lose the new contents. For data outputs a user can recompute, at disk speed.
    case processSafe
}

/// Whole-file writes that are atomic and leave nothing behind.
///
/// The bytes go to a file in the destination's directory that has **no name** while it is
/// written (Linux `O_TMPFILE`), are flushed with `fsync` (`Durability.crashSafe`, the default),
/// and only then get a name (`linkat` through `/proc/self/fd`) that is at once renamed over the
/// destination (POSIX `rename(2)` replaces atomically within one file system). A reader
/// therefore sees the old file or the complete new one, never a prefix, and an interrupted
/// write — SIGINT, SIGTERM, even SIGKILL — leaves nothing: an unnamed file vanishes with its
/// descriptor. Where `O_TMPFILE` is unavailable (another OS, a file system without it) the
/// temporary file is named `.<name>.tmp-<pid>-<random>` and removed on SIGINT, SIGTERM, SIGHUP
/// and SIGQUIT by `TemporaryFileCleanup`; the short link-then-rename step of the unnamed path
/// is covered the same way.
///
/// The destination is resolved first (`OutputTarget`): a symbolic link has its target replaced,
/// and stdout (`-`), `/dev/stdout`, a character device or a FIFO is written in place.
///
/// Several files written together (`write(_:)` with a list, used by `report`) are all
/// prepared — checked, written and flushed — before the first is put in place, so a failure
/// on any of them (a target that is a directory, a full disk) changes none; those that are
/// streams are written only after every file has been put in place.
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
    /// written and flushed aside before any is renamed into place; streams come last.
    public static func write(_ files: [(data: Data, path: String)]) throws(OutputError) {
        var pending: [(PendingFile, Data)] = []
        for (_, path) in files { try checkTarget(path) }
        for (data, path) in files {
            let file = try PendingFile(path: path)
            pending.append((file, data))
            if !file.isStream { try file.append(data) }
        }
        for (file, _) in pending where !file.isStream { try file.flush() }
        for (file, _) in pending where !file.isStream { try file.commit() }
        for (file, data) in pending where file.isStream {
            try file.append(data)
            try file.commit()
        }
    }

    /// Checks that `path` can be written: a stream (see `OutputTarget`) always can; a file to
    /// replace needs an existing, writable directory, and must not be a directory itself.
    public static func checkTarget(_ path: String) throws(OutputError) {
        guard case .replace(let file) = try OutputTarget.resolve(path) else { return }
        try checkDirectory(directory(of: file))
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

/// An output being written: for a file to replace, a temporary file beside the destination,
/// unnamed (`O_TMPFILE`) where the system allows, else named and registered for removal on a
/// terminating signal; for a stream (`OutputTarget.isStream`), the stream itself. Written with
/// `append`, made durable with `flush`, put in place with `commit`; a file dropped without
/// `commit` leaves nothing (what was already written to a stream stays written).
public final class PendingFile {
    /// The path as the user gave it (what messages name).
    public let path: String
    public let target: OutputTarget
    public let durability: Durability
    /// The file `commit` replaces (the end of the link chain), nil for a stream.
    private let destination: String?
    private var fd: Int32
    /// The temporary name while the file has one (always on the fallback path; on the
    /// unnamed path only between `linkat` and `rename`).
    private var temporaryName: String?
    private var cleanupSlot: Int?
    private var committed = false

    /// Resolves `path` (`OutputTarget.resolve`) and opens the temporary file beside the file to
    /// replace (checking its directory first, see `AtomicFile.checkTarget`), or opens the stream.
    public init(path: String, durability: Durability = .crashSafe) throws(OutputError) {
        self.path = path
        self.durability = durability
        target = try OutputTarget.resolve(path)
        switch target {
        case .descriptor(let inherited):
            // A duplicate, so that closing ours leaves the caller's descriptor open.
            destination = nil
            fd = fcntl(inherited, F_DUPFD_CLOEXEC, 3)
            if fd < 0 { throw .writeFailed(path, reason: String(cString: strerror(errno))) }
            return
        case .device(let device):
            destination = nil
            // No O_CREAT, no O_TRUNC: the device or FIFO is written as it is. Opening a FIFO
            // waits for its reader, as a shell redirection does.
            fd = open(device, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            if fd < 0 {
                let code = errno
                throw code == EACCES || code == EPERM
                    ? .notWritable(device, reason: String(cString: strerror(code)))
                    : .writeFailed(path, reason: String(cString: strerror(code)))
            }
            return
        case .replace(let file):
            destination = file
        }
        let file = destination!
        let directory = AtomicFile.directory(of: file)
        try AtomicFile.checkDirectory(directory)
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
        let name = Self.temporaryPath(for: file)
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

    /// Whether this output is written in place (see `OutputTarget`).
    public var isStream: Bool { destination == nil }

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

    /// Appends the bytes of `data`.
    public func append(_ data: Data) throws(OutputError) {
        let failure: OutputError? = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> OutputError? in
            do throws(OutputError) { try append(raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Under `.crashSafe`, flushes the contents to the device (`fsync`), so the rename never
    /// publishes a file whose data a crash could lose. Streams are not flushed (a pipe or a tty
    /// has nothing to flush to).
    public func flush() throws(OutputError) {
        guard durability == .crashSafe, !isStream else { return }
        if fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            throw .writeFailed(path, reason: reason)
        }
    }

    /// Puts the file in place of its destination (atomically replacing any previous file), or
    /// closes the stream.
    public func commit() throws(OutputError) {
        precondition(fd >= 0 && !committed, "PendingFile committed twice or after a failure")
        guard let destination else {
            committed = true
            let failed = close(fd) != 0 && errno != EINTR
            let reason = String(cString: strerror(errno))
            fd = -1
            if failed { throw .writeFailed(path, reason: reason) }
            return
        }
        if temporaryName == nil {
            // Give the unnamed file a name for the instant between link and rename.
            let name = Self.temporaryPath(for: destination)
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
        if rename(temporaryName!, destination) != 0 {
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

    static func temporaryPath(for path: String) -> String {
        let name = (path as NSString).lastPathComponent
        return (AtomicFile.directory(of: path) as NSString).appendingPathComponent(
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
