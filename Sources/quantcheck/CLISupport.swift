import Foundation
import Formats
import Harness

/// A usage error detected after parsing (a value out of range, a missing environment
/// variable): exit 2 with its one-line message.
struct CLIUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = DiagnosticText.oneLine(message) }
}

enum CLI {
    /// One line on stderr, prefixed like every other quantcheck message.
    static func warn(_ line: String) {
        StandardStreams.writeError("quantcheck: \(line)\n")
    }
}

enum CLIPaths {
    /// Checks before a long run that `path` can be written: its directory exists and is
    /// writable, and `path` is not a directory.
    static func checkOutputFile(_ path: String) throws(OutputError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw .pathIsDirectory(path)
        }
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { throw .directoryMissing(dir) }
        guard isDir.boolValue else { throw .notADirectory(dir) }
        guard FileManager.default.isWritableFile(atPath: dir) else { throw .notWritable(dir, reason: "permission denied") }
    }

    /// Appends the bytes of `source` to `destination` (creating it), as GitHub's step summary
    /// expects.
    static func append(contentsOf source: String, to destination: String) throws(OutputError) {
        guard let data = FileManager.default.contents(atPath: source) else {
            throw .writeFailed(destination, reason: "cannot read \(source)")
        }
        if !FileManager.default.fileExists(atPath: destination) {
            guard FileManager.default.createFile(atPath: destination, contents: nil) else {
                throw .notWritable(destination, reason: "cannot create the file")
            }
        }
        guard let h = FileHandle(forWritingAtPath: destination) else {
            throw .notWritable(destination, reason: "cannot open for writing")
        }
        defer { try? h.close() }
        do {
            try h.seekToEnd()
            try h.write(contentsOf: data + Data("\n".utf8))
        } catch {
            throw .writeFailed(destination, reason: "\(error)")
        }
    }
}
