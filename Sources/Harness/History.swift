import Foundation
import Formats

/// Benchmark history: one results file per (machine, commit) under
/// `<directory>/<machine>/<commit>.json`. Recording the same commit on the same machine again
/// replaces its entry (the key is the pair, as in asv).
public enum BenchHistory {
    public static let defaultDirectory = "Reports/history"

    public struct Entry: Sendable {
        public var path: String
        public var file: ResultsFile
    }

    /// Writes `file` into the history. Refuses files without benchmarks or without a commit.
    @discardableResult
    public static func record(_ file: ResultsFile, directory: String = defaultDirectory) throws -> String {
        guard !file.benchmarks.isEmpty else { throw HistoryError.nothingToRecord }
        guard file.stamp.gitCommit != "unknown", !file.stamp.gitCommit.isEmpty else { throw HistoryError.unknownCommit }
        let dir = (directory as NSString).appendingPathComponent(RunStamp.slug(file.stamp.machine))
        try AtomicFile.ensureDirectory(dir)
        let path = (dir as NSString).appendingPathComponent(RunStamp.slug(file.stamp.gitCommit) + ".json")
        try file.write(to: path)
        return path
    }

    /// Loads every history entry, oldest first (by stamp date, then path). Files that fail to
    /// load are returned as warnings, never dropped silently.
    public static func load(directory: String) -> (entries: [Entry], warnings: [String]) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else { return ([], []) }
        var entries: [Entry] = []
        var warnings: [String] = []
        let machines = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        for m in machines where !m.hasPrefix(".") {
            let mdir = (directory as NSString).appendingPathComponent(m)
            guard fm.fileExists(atPath: mdir, isDirectory: &isDir), isDir.boolValue else { continue }
            for f in ((try? fm.contentsOfDirectory(atPath: mdir)) ?? []).sorted() where f.hasSuffix(".json") && !f.hasPrefix(".") {
                let path = (mdir as NSString).appendingPathComponent(f)
                do { entries.append(Entry(path: path, file: try ResultsFile.load(from: path))) } catch {
                    warnings.append("skipped history file: \(error)")
                }
            }
        }
        entries.sort { ($0.file.stamp.date, $0.path) < ($1.file.stamp.date, $1.path) }
        return (entries, warnings)
    }
}

public enum HistoryError: Error, Equatable, CustomStringConvertible, Sendable {
    case nothingToRecord
    case unknownCommit

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .nothingToRecord: return "--record: the run produced no benchmarks to record"
        case .unknownCommit: return "--record needs the git commit of the build (run inside the repository with git on PATH)"
        }
    }
}
