import Foundation
import Formats

/// Instructions executed per benchmark iteration, counted by Valgrind's Callgrind: the
/// deterministic metric beside the wall-time samples.
///
/// Wall time on a shared machine varies by tens of percent between reruns of the same binary;
/// the number of instructions one call of a kernel retires does not depend on the machine's
/// load, only on the code and its input. Callgrind counts every guest instruction it executes
/// (event `Ir`), including those of the C kernels and libc, serialised on one simulated CPU.
///
/// How (no Valgrind header is needed, so the package does not depend on Valgrind):
///
/// 1. The benchmark binary copies itself with its debug info stripped (`strip --strip-debug`;
///    Valgrind 3.19 cannot read the Swift toolchain's DWARF 5 and reports "possibly corrupted
///    debuginfo file"), then runs the copy under
///    `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=P --dump-after=P`,
///    where P is the symbol of `measuredCall(_:)` below.
/// 2. The worker (`bench --instructions-worker FILE`) prepares each case (untimed, uncounted),
///    calls its body once as a warm-up (lazy initialisation, CPU dispatch resolution), then
///    once through `measuredCall`. Collection is on exactly while `measuredCall` runs, and
///    Callgrind dumps (and zeroes) its counters when it returns: one dump per case, in order.
/// 3. Each dump's `totals:` line is that case's instructions per iteration.
///
/// Edge cases: only single-threaded cases are counted (`threads == 1`): `--toggle-collect`
/// acts on the thread that enters the function, so the work of dispatch worker threads would
/// be missed, and their wake-ups are scheduled non-deterministically anyway. Under Valgrind
/// the CPU reports the features Valgrind emulates (AVX2, FMA, BMI2 on x86-64), so the counts
/// are those of the AVX2 kernels whatever the host; they are comparable between runs on
/// machines whose Valgrind emulates the same features, not with native hardware counters.
public enum InstructionCount {
    /// The Swift-mangled symbol of `measuredCall(_:)`. Valgrind does not demangle Swift, and
    /// Valgrind 3.19 fired `--dump-after` only for the exact name (a `…measuredCall*` wildcard
    /// toggled collection but never dumped), so the name is spelt out; renaming or re-typing
    /// `measuredCall` must update it (the Callgrind test fails otherwise).
    public static let symbol = "$s7Harness16InstructionCountO12measuredCallyyyyXEFZ"

    /// The counted region: Callgrind collects while this function runs (and only then).
    /// Unoptimised on purpose: optimised, `body()` becomes a tail call (a jump), Callgrind never
    /// sees this function return and `--dump-after` never fires; the optimiser would also clone
    /// it under a specialised symbol.
    @inline(never) @_optimize(none)
    public static func measuredCall(_ body: () -> Void) {
        body()
    }

    /// Whether a case is counted (see the type's edge cases).
    public static func isCountable(_ c: BenchCase) -> Bool { c.threads == 1 }

    /// The worker's loop, run under Callgrind: each case prepared, warmed up once and called
    /// once inside `measuredCall`.
    public static func runWorker(_ cases: [BenchCase]) {
        for c in cases {
            let body = c.prepare()
            body()
            measuredCall(body)
        }
    }

    /// Counts the instructions per iteration of `cases` (all countable) by running
    /// `executable bench --instructions-worker` under Callgrind. Returns one count per case,
    /// in order.
    public static func measure(
        _ cases: [BenchCase], executable: String, valgrind: String = "valgrind"
    ) throws(InstructionCountError) -> [UInt64] {
        precondition(cases.allSatisfy(isCountable), "instruction counts need single-threaded cases")
        guard !cases.isEmpty else { return [] }
        let fm = FileManager.default
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("quantcheck-callgrind-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max))")
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: false) } catch {
            throw .setup("cannot create a temporary directory under \(NSTemporaryDirectory())")
        }
        defer { try? fm.removeItem(atPath: dir) }
        guard let valgrindPath = findExecutable(valgrind) else { throw .valgrindMissing(valgrind) }
        // A copy without debug info: see step 1 above. strip comes with binutils, as the linker does.
        let copy = (dir as NSString).appendingPathComponent("quantcheck")
        do { try fm.copyItem(atPath: executable, toPath: copy) } catch {
            throw .setup("cannot copy '\(executable)' to \(dir)")
        }
        if let strip = findExecutable("strip") {
            let s = run(strip, ["--strip-debug", copy])
            guard s.status == 0 else { throw .setup("strip --strip-debug failed: \(s.errorTail)") }
        }
        let namesFile = (dir as NSString).appendingPathComponent("cases.txt")
        do { try (cases.map(\.name).joined(separator: "\n") + "\n").write(toFile: namesFile, atomically: false, encoding: .utf8) } catch {
            throw .setup("cannot write \(namesFile)")
        }
        let out = (dir as NSString).appendingPathComponent("cg.out")
        let r = run(valgrindPath, [
            "--tool=callgrind", "--collect-atstart=no",
            "--toggle-collect=\(symbol)", "--dump-after=\(symbol)",
            "--callgrind-out-file=\(out)", copy, "bench", "--instructions-worker", namesFile,
        ])
        guard r.status == 0 else { throw .workerFailed(status: r.status, detail: r.errorTail) }
        // Dumps are numbered `cg.out.1`, `cg.out.2`, … in dump order; `cg.out` itself is the
        // final dump at exit (nothing collected).
        var counts: [UInt64] = []
        for i in 1...cases.count {
            let path = "\(out).\(i)"
            guard let text = readText(path) else {
                throw .missingDump(case: cases[i - 1].name, expected: cases.count, found: i - 1)
            }
            guard let n = parseTotals(text) else { throw .unparsableDump(path) }
            counts.append(n)
        }
        if fm.fileExists(atPath: "\(out).\(cases.count + 1)") {
            throw .unexpectedDumps(expected: cases.count)
        }
        return counts
    }

    /// The `Ir` total of one Callgrind dump: its `totals:` line (else `summary:`), whose first
    /// number is `Ir` (the default and first event).
    public static func parseTotals(_ text: String) -> UInt64? {
        var summary: UInt64?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            for key in ["totals:", "summary:"] where line.hasPrefix(key) {
                guard let first = line.dropFirst(key.count).split(separator: " ").first, let n = UInt64(first) else { return nil }
                if key == "totals:" { return n }
                summary = n
            }
        }
        return summary
    }

    static func findExecutable(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for d in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = (String(d) as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    private static func run(_ path: String, _ args: [String]) -> (status: Int32, errorTail: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let errFile = (NSTemporaryDirectory() as NSString).appendingPathComponent("quantcheck-cg-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max)).log")
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errFile) }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: errFile)
        do { try p.run() } catch { return (127, "cannot start \(path)") }
        p.waitUntilExit()
        let text = readText(errFile) ?? ""
        let lines = text.split(separator: "\n").suffix(3).joined(separator: " | ")
        return (p.terminationStatus, lines)
    }
}

/// The contents of a small text file, read with `read(2)`: Foundation's
/// `String(contentsOfFile:)` leaks a 4 KiB buffer when the file is empty (LeakSanitizer, ASan CI
/// step, from the test of a worker that writes nothing), as its `FileManager.contents(atPath:)`
/// does on /proc files. nil when the file cannot be opened.
func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { (try? readUpTo(fd, $0.baseAddress!, $0.count, path: path)) ?? -1 }
        if n < 0 { return nil }
        bytes += chunk[0..<n]
        if n < chunk.count { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

public enum InstructionCountError: Error, Equatable, CustomStringConvertible, Sendable {
    case valgrindMissing(String)
    case setup(String)
    case workerFailed(status: Int32, detail: String)
    case missingDump(case: String, expected: Int, found: Int)
    case unparsableDump(String)
    case unexpectedDumps(expected: Int)
    case noCountableCase

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .valgrindMissing(let v): return "--instructions needs Valgrind ('\(v)' not found on PATH; apt-get install valgrind)"
        case .setup(let why): return "--instructions: \(why)"
        case .workerFailed(let s, let d): return "--instructions: the Callgrind worker exited with status \(s): \(d)"
        case .missingDump(let c, let e, let f): return "--instructions: Callgrind wrote \(f) of \(e) dumps; no count for '\(c)'"
        case .unparsableDump(let p): return "--instructions: no totals line in Callgrind dump '\(p)'"
        case .unexpectedDumps(let e): return "--instructions: Callgrind wrote more dumps than the \(e) cases measured"
        case .noCountableCase: return "--instructions: no selected case is single-threaded (instruction counts need t1 cases)"
        }
    }
}
