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
    /// Checks before a long run that `path` can be written: a stream (`-`, `/dev/stdout`, a
    /// device, a FIFO) always can; a file to replace (a symlink's target) needs an existing,
    /// writable directory and must not be a directory (`AtomicFile.checkTarget`).
    static func checkOutputFile(_ path: String) throws(OutputError) {
        try AtomicFile.checkTarget(path)
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
