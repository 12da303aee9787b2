import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where and how a results file was produced: enough to tell two runs apart, to refuse
/// merging shards of different commits, and to warn when comparing different machines.
public struct RunStamp: Codable, Sendable, Hashable {
    /// `git rev-parse HEAD` of the working directory, or `"unknown"`.
    public var gitCommit: String
    /// Start of the run, ISO 8601 in UTC (`2026-11-23T09:04:56Z`).
    public var date: String
    /// `model name` from `/proc/cpuinfo` (`sysctl machdep.cpu.brand_string` elsewhere), or `"unknown"`.
    public var cpuModel: String
    /// Logical cores available to the process.
    public var coreCount: Int
    /// Machine identifier used to key history and to detect cross-machine comparisons:
    /// `QUANTCHECK_MACHINE` when set, else a slug of the CPU model and core count.
    public var machine: String
    /// Compiler that built this binary, from `#if compiler(…)` (a lower bound such as `>=6.3`).
    public var swiftCompiler: String
    /// First line of `swift --version` at run time, or `"unknown"` when no toolchain is on PATH.
    public var swiftToolchain: String
    /// `debug` or `release` (from `#if DEBUG`).
    public var buildConfiguration: String
    /// The command line, arguments as given.
    public var commandLine: [String]
    /// 1-minute load average when the run started (`/proc/loadavg`), when known: a load above
    /// the core count means other processes competed for the CPU and timings are noisy.
    public var loadAverage: Double?

    public init(
        gitCommit: String, date: String, cpuModel: String, coreCount: Int, machine: String,
        swiftCompiler: String, swiftToolchain: String, buildConfiguration: String,
        commandLine: [String], loadAverage: Double? = nil
    ) {
        self.gitCommit = gitCommit
        self.date = date
        self.cpuModel = cpuModel
        self.coreCount = coreCount
        self.machine = machine
        self.swiftCompiler = swiftCompiler
        self.swiftToolchain = swiftToolchain
        self.buildConfiguration = buildConfiguration
        self.commandLine = commandLine
        self.loadAverage = loadAverage
    }

    /// Stamps the current process. Runs `git` and `swift --version` once each (both optional).
    public static func current(
        commandLine: [String] = CommandLine.arguments, date: Date = Date(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> RunStamp {
        let cpu = cpuModelName()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return RunStamp(
            gitCommit: runCapturingFirstLine("git", ["rev-parse", "HEAD"]) ?? "unknown",
            date: isoDate(date),
            cpuModel: cpu,
            coreCount: cores,
            machine: environment["QUANTCHECK_MACHINE"].flatMap { $0.isEmpty ? nil : slug($0) }
                ?? slug("\(cpu)-\(cores)c"),
            swiftCompiler: compilerVersion,
            swiftToolchain: runCapturingFirstLine("swift", ["--version"]) ?? "unknown",
            buildConfiguration: buildConfiguration,
            commandLine: commandLine,
            loadAverage: currentLoadAverage())
    }

    /// The first field of `/proc/loadavg`, or nil where there is none.
    static func currentLoadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// `debug` or `release`.
    public static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// The compiler version lower bound known at compile time.
    public static var compilerVersion: String {
        #if compiler(>=6.4)
        return ">=6.4"
        #elseif compiler(>=6.3)
        return ">=6.3"
        #elseif compiler(>=6.2)
        return ">=6.2"
        #elseif compiler(>=6.1)
        return ">=6.1"
        #else
        return ">=6.0"
        #endif
    }

    /// ISO 8601, UTC, whole seconds.
    public static func isoDate(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// Lower-case ASCII letters, digits and single dashes: safe in file names and URLs.
    public static func slug(_ s: String) -> String {
        var out = ""
        for ch in s.lowercased().unicodeScalars {
            if ch.isASCII, CharacterSet.alphanumerics.contains(ch) {
                out.unicodeScalars.append(ch)
            } else if !out.isEmpty, out.last != "-" {
                out.append("-")
            }
        }
        while out.last == "-" { out.removeLast() }
        return out.isEmpty ? "unknown" : out
    }

    static func cpuModelName() -> String {
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("model name") {
                if let colon = line.firstIndex(of: ":") {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return runCapturingFirstLine("sysctl", ["-n", "machdep.cpu.brand_string"]) ?? "unknown"
    }

    /// Runs `tool` through `/usr/bin/env` and returns the first non-empty line of its standard
    /// output, or nil when it cannot be run or exits non-zero.
    static func runCapturingFirstLine(_ tool: String, _ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        // `swift --version` leaves an empty `TemporaryDirectory.*` in $TMPDIR on every run: give
        // the tool a private TMPDIR and remove it, with whatever the tool left there, afterwards.
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("quantcheck-stamp.XXXXXX").utf8CString)
        let scratch: String? = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        if let scratch {
            var environment = ProcessInfo.processInfo.environment
            environment["TMPDIR"] = scratch
            p.environment = environment
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
    }
}
