import Foundation
import Testing
import Formats
import Quant
@testable import Harness

#if canImport(Glibc)
import Glibc
#endif

/// The built binary run with raw bytes on its standard input and output (`CLI.run` decodes
/// stdout as text, which a `.npy` on stdout is not).
enum RawCLI {
    struct Run {
        var status: Int32
        var stdout: Data
        var stderr: String
    }

    /// Runs `quantcheck args` in `cwd`, feeding `stdin` (or /dev/null); stdout goes to a pipe
    /// read here, or to `stdoutFile` when given (a regular file the child inherits as fd 1).
    static func run(_ args: [String], cwd: String, stdin: Data? = nil, stdoutFile: FileHandle? = nil) throws -> Run {
        guard let binary = CLI.binary else {
            Issue.record("quantcheck binary not found next to the test bundle")
            return Run(status: -1, stdout: Data(), stderr: "")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = stdoutFile ?? out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        let io = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        nonisolated(unsafe) var outData = Data()
        DispatchQueue.global().async(group: io) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        if stdoutFile == nil {
            DispatchQueue.global().async(group: io) { outData = out.fileHandleForReading.readDataToEndOfFile() }
        }
        if let stdin {
            // The child may stop reading early (a bad header): a closed pipe is not our failure.
            signal(SIGPIPE, SIG_IGN)
            try? input.fileHandleForWriting.write(contentsOf: stdin)
            try? input.fileHandleForWriting.close()
        }
        p.waitUntilExit()
        io.wait()
        return Run(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// Outputs that are not plain files (issue 11, item 5): a symlink has its *target* replaced
/// atomically; stdout (`-`, `/dev/stdout`), a character device and a FIFO are written in place;
/// `-` as `--input` reads stdin. Each case is run through the built binary, and each checks
/// what must not change (the link stays a link, the device stays a device, no temporary file).
@Suite("Safe outputs: symlinks, devices, FIFOs, stdin and stdout", .serialized)
struct SafeOutputTests {
    let dir = makeTempDirectory("safeoutputs")
    static let encode = ["encode", "--format", "e4m3fn"]
    /// More than one chunk of `FileConversion`, with a partial last chunk.
    static let count = FileConversion.chunkElements + 12_345

    static func inputValues() -> [Float] {
        (0..<count).map { i in Float(sign: i & 1 == 0 ? .plus : .minus, exponent: i % 24 - 12, significand: 1 + Float(i % 97) / 97) }
    }

    /// The input `.npy` and the codes `encode` must produce for it (the in-memory codec).
    func makeInput() throws -> (input: String, expected: Data) {
        let xs = Self.inputValues()
        let path = dir + "/in.npy"
        try NPY.write(try NPYArray(.float32(xs)), to: path)
        let codes = try NarrowFloatCodec(format: .e4m3fn).encode(xs)
        return (path, NPY.encode(try NPYArray(.uint8(codes))))
    }

    func kind(_ path: String) -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_mode & S_IFMT
    }

    func leftovers(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
    }

    /// Before the fix, `--output link.npy` replaced the link with a regular file and left the
    /// target as it was. Now the target (in another directory) is replaced, the link stays.
    @Test func symlinkOutputWritesItsTarget() throws {
        let (input, expected) = try makeInput()
        try FileManager.default.createDirectory(atPath: dir + "/elsewhere", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/elsewhere/target.npy"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.npy", withDestinationPath: "elsewhere/target.npy")
        // A chain: link2 → link.npy → elsewhere/target.npy.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link2.npy", withDestinationPath: dir + "/link.npy")
        for output in ["link.npy", "link2.npy"] {
            try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/elsewhere/target.npy"))
            let r = try RawCLI.run(Self.encode + ["--input", input, "--output", output], cwd: dir)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(kind(dir + "/link.npy") == S_IFLNK && kind(dir + "/link2.npy") == S_IFLNK, "the links stay links")
            #expect(FileManager.default.contents(atPath: dir + "/elsewhere/target.npy") == expected)
        }
        #expect(try leftovers(dir) == [] && leftovers(dir + "/elsewhere") == [])
    }

    /// A link to a name that does not exist is refused (as GNU cp refuses to write through a
    /// dangling link): exit 2, one line, nothing created, the link unchanged.
    @Test func danglingSymlinkIsRefused() throws {
        let (input, _) = try makeInput()
        try FileManager.default.createSymbolicLink(atPath: dir + "/dangling.npy", withDestinationPath: "missing/target.npy")
        let r = try RawCLI.run(Self.encode + ["--input", input, "--output", "dangling.npy"], cwd: dir)
        #expect(r.status == 2)
        #expect(r.stderr == "quantcheck: error: output 'dangling.npy' is a symbolic link to 'missing/target.npy', which does not exist; create the target or remove the link\n")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(kind(dir + "/dangling.npy") == S_IFLNK)
        #expect(!FileManager.default.fileExists(atPath: dir + "/missing"))
    }

    /// `/dev/null` is written, not replaced.
    @Test func characterDeviceIsWrittenInPlace() throws {
        let (input, _) = try makeInput()
        let r = try RawCLI.run(Self.encode + ["--input", input, "--output", "/dev/null"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(kind("/dev/null") == S_IFCHR)
    }

    /// A FIFO is opened for writing (waiting for its reader) and streamed into; it stays a FIFO.
    @Test func fifoIsStreamedToItsReader() throws {
        let (input, expected) = try makeInput()
        let fifo = dir + "/pipe.npy"
        #expect(mkfifo(fifo, 0o644) == 0)
        let reading = DispatchGroup()
        nonisolated(unsafe) var received = Data()
        DispatchQueue.global().async(group: reading) {
            // Blocks until the writer opens the FIFO, then reads until it closes it.
            if let h = FileHandle(forReadingAtPath: fifo) { received = h.readDataToEndOfFile() }
        }
        let r = try RawCLI.run(Self.encode + ["--input", input, "--output", fifo], cwd: dir)
        reading.wait()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(received == expected)
        #expect(kind(fifo) == S_IFIFO)
    }

    /// `-` writes stdout; `/dev/stdout` is the same descriptor (before the fix it was renamed
    /// over, turning /dev/stdout into a regular file and sending nothing down the pipe).
    @Test func stdoutByDashAndByDevStdout() throws {
        let (input, expected) = try makeInput()
        for output in ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"] {
            let r = try RawCLI.run(Self.encode + ["--input", input, "--output", output], cwd: dir)
            #expect(r.status == 0, "\(output): \(r.stderr)")
            #expect(r.stdout == expected, "\(output)")
        }
        #expect(kind("/dev/stdout") == S_IFLNK, "/dev/stdout is still the link to /proc/self/fd/1")
    }

    /// With stdout redirected to a file (`> out.npy`), `/dev/stdout` writes into that open file:
    /// same inode, nothing renamed over it.
    @Test func devStdoutRedirectedToAFileWritesThatFile() throws {
        let (input, expected) = try makeInput()
        let path = dir + "/redirected.npy"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        var before = stat()
        stat(path, &before)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        let r = try RawCLI.run(Self.encode + ["--input", input, "--output", "/dev/stdout"], cwd: dir, stdoutFile: handle)
        try handle.close()
        var after = stat()
        stat(path, &after)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(before.st_ino == after.st_ino)
        #expect(FileManager.default.contents(atPath: path) == expected)
        #expect(try leftovers(dir) == [])
    }

    /// `--input -` reads a `.npy` from stdin, or raw elements with --dtype; both ways at once
    /// (`--input - --output -`) too, for encode and decode.
    @Test func stdinBothWays() throws {
        let (input, expected) = try makeInput()
        let npy = try Data(contentsOf: URL(fileURLWithPath: input))
        let toFile = try RawCLI.run(Self.encode + ["--input", "-", "--output", "from-stdin.npy"], cwd: dir, stdin: npy)
        #expect(toFile.status == 0, "\(toFile.stderr)")
        #expect(FileManager.default.contents(atPath: dir + "/from-stdin.npy") == expected)
        let piped = try RawCLI.run(Self.encode + ["--input", "-", "--output", "-"], cwd: dir, stdin: npy)
        #expect(piped.status == 0 && piped.stdout == expected, "\(piped.stderr)")
        // Raw: the elements without the header, in and out.
        let headerLength = npy.count - Self.count * 4
        let raw = try RawCLI.run(Self.encode + ["--input", "-", "--dtype", "float32", "--output", "-"], cwd: dir, stdin: npy.dropFirst(headerLength))
        #expect(raw.status == 0 && raw.stdout == expected.dropFirst(expected.count - Self.count), "\(raw.stderr)")
        // Decode back through both pipes: the exact values of the codes.
        let back = try RawCLI.run(["decode", "--format", "e4m3fn", "--input", "-", "--output", "-"], cwd: dir, stdin: expected)
        #expect(back.status == 0, "\(back.stderr)")
        let decoded = try NPY.decode(back.stdout)
        let codes = try NPY.decode(expected)
        guard case .uint8(let c) = codes.storage else { Issue.record("codes are not uint8"); return }
        #expect(try decoded.float32().map(\.bitPattern) == NarrowFloatCodec(format: .e4m3fn).decode(c).map(\.bitPattern))
    }

    /// Malformed stdin: one line, exit 2, and a file output is not created.
    @Test func malformedStdinIsRefused() throws {
        let (input, _) = try makeInput()
        let npy = try Data(contentsOf: URL(fileURLWithPath: input))
        let declared = Self.count * 4
        let cases: [([String], Data, String)] = [
            ([], npy.dropLast(5), "'-': data is truncated: the header declares \(declared) bytes but the file holds \(declared - 5)"),
            ([], npy + Data([1, 2, 3]), "'-': header does not match the data: it declares \(declared) bytes but the file holds \(declared + 3)"),
            ([], Data("not an array".utf8), "'-': not a .npy file (bad magic; use --dtype for headerless data)"),
            ([], Data(), "'-': truncated .npy file: it ends inside the header"),
            (["--dtype", "float32"], Data([1, 2, 3, 4, 5, 6]), "'-': raw file size 6 is not a multiple of the element size 4"),
        ]
        for (extra, stdin, message) in cases {
            let r = try RawCLI.run(Self.encode + ["--input", "-", "--output", "o.npy"] + extra, cwd: dir, stdin: stdin)
            #expect(r.status == 2)
            #expect(r.stderr == "quantcheck: error: \(message)\n")
            #expect(!FileManager.default.fileExists(atPath: dir + "/o.npy"))
        }
        #expect(try leftovers(dir) == [])
    }

    /// A conversion that fails late (an invalid code in the last chunk) leaves an existing
    /// target — here behind a symlink — exactly as it was, and no temporary file anywhere.
    @Test func failedConversionNeverTouchesTheTarget() throws {
        var codes = [UInt8](repeating: 0x03, count: Self.count)
        codes[Self.count - 1] = 0x10  // not an E2M1FN code (4 bits)
        try NPY.write(try NPYArray(.uint8(codes)), to: dir + "/codes.npy")
        try FileManager.default.createDirectory(atPath: dir + "/t", withIntermediateDirectories: true)
        try Data("previous".utf8).write(to: URL(fileURLWithPath: dir + "/t/target.npy"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.npy", withDestinationPath: "t/target.npy")
        for output in ["link.npy", "t/target.npy"] {
            let r = try RawCLI.run(["decode", "--format", "e2m1fn", "--input", "codes.npy", "--output", output], cwd: dir)
            #expect(r.status == 2)
            #expect(r.stderr == "quantcheck: error: element \(Self.count - 1) holds code 0x10, which is not a valid e2m1fn code\n")
            #expect(FileManager.default.contents(atPath: dir + "/t/target.npy") == Data("previous".utf8))
            #expect(kind(dir + "/link.npy") == S_IFLNK)
        }
        #expect(try leftovers(dir) == [] && leftovers(dir + "/t") == [])
    }

    /// Every other command's outputs resolve the same way: `--json` through a link writes the
    /// target, `--json -` writes stdout, `--json` to a dangling link is refused before the run.
    @Test func jsonOutputsFollowTheSameRules() throws {
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/results.json"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.json", withDestinationPath: "results.json")
        let verify = ["verify", "--suite", "decode", "--format", "e2m1fn", "--quiet"]
        let linked = try RawCLI.run(verify + ["--json", "link.json"], cwd: dir)
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect(kind(dir + "/link.json") == S_IFLNK)
        let written = try ResultsFile.load(from: dir + "/results.json")
        #expect(written.suites.count > 0)
        let toStdout = try RawCLI.run(verify + ["--json", "-"], cwd: dir)
        #expect(toStdout.status == 0, "\(toStdout.stderr)")
        #expect(String(decoding: toStdout.stdout, as: UTF8.self).contains("\"suites\""))
        try FileManager.default.createSymbolicLink(atPath: dir + "/dangling.json", withDestinationPath: "nowhere/r.json")
        let dangling = try RawCLI.run(verify + ["--json", "dangling.json"], cwd: dir)
        #expect(dangling.status == 2)
        #expect(dangling.stderr.hasPrefix("quantcheck: error: output 'dangling.json' is a symbolic link to ") && dangling.stderr.split(separator: "\n").count == 1)
        #expect(try leftovers(dir) == [])
    }
}

/// `OutputTarget.resolve`, case by case, without a subprocess.
@Suite("Output targets")
struct OutputTargetTests {
    let dir = makeTempDirectory("outputtargets")

    @Test func classification() throws {
        let fm = FileManager.default
        try Data().write(to: URL(fileURLWithPath: dir + "/file"))
        try fm.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: dir + "/sub/rel", withDestinationPath: "../file")  // relative to sub/
        try fm.createSymbolicLink(atPath: dir + "/to-null", withDestinationPath: "/dev/null")
        try fm.createSymbolicLink(atPath: dir + "/to-dir", withDestinationPath: "sub")
        try fm.createSymbolicLink(atPath: dir + "/loop-a", withDestinationPath: "loop-b")
        try fm.createSymbolicLink(atPath: dir + "/loop-b", withDestinationPath: "loop-a")
        #expect(try OutputTarget.resolve("-") == .descriptor(1))
        #expect(try OutputTarget.resolve("/dev/stdout") == .descriptor(1))
        #expect(try OutputTarget.resolve("/dev/stderr") == .descriptor(2))
        #expect(try OutputTarget.resolve("/dev/fd/2") == .descriptor(2))
        #expect(try OutputTarget.resolve("/proc/self/fd/1") == .descriptor(1))
        #expect(try OutputTarget.resolve("/proc/\(getpid())/fd/2") == .descriptor(2))
        #expect(try OutputTarget.resolve("/dev/null") == .device(path: "/dev/null"))
        #expect(try OutputTarget.resolve(dir + "/to-null") == .device(path: "/dev/null"))
        #expect(try OutputTarget.resolve(dir + "/file") == .replace(path: dir + "/file"))
        #expect(try OutputTarget.resolve(dir + "/new") == .replace(path: dir + "/new"))
        #expect(try OutputTarget.resolve(dir + "/sub/rel") == .replace(path: dir + "/sub/../file"))
        #expect(throws: OutputError.pathIsDirectory(dir + "/sub")) { try OutputTarget.resolve(dir + "/sub") }
        #expect(throws: OutputError.pathIsDirectory(dir + "/to-dir")) { try OutputTarget.resolve(dir + "/to-dir") }
        #expect(throws: OutputError.unsupportedTarget(dir + "/loop-a", what: "more than 40 symbolic links (a loop?)")) {
            try OutputTarget.resolve(dir + "/loop-a")
        }
        #expect(throws: OutputError.unsupportedTarget("/proc/self/fd/987", what: "descriptor 987 is not open")) {
            try OutputTarget.resolve("/proc/self/fd/987")
        }
        // Negative control: a name that merely looks like a descriptor path is a file name.
        #expect(try OutputTarget.resolve(dir + "/dev/fd/1") == .replace(path: dir + "/dev/fd/1"))
    }

    /// `AtomicFile.write` through a symlink replaces the target and keeps the link; a list
    /// with a stream writes the files first, the stream last.
    @Test func atomicWriteThroughALink() throws {
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/target.txt"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.txt", withDestinationPath: "target.txt")
        try AtomicFile.write("new", to: dir + "/link.txt")
        #expect(FileManager.default.contents(atPath: dir + "/target.txt") == Data("new".utf8))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.txt")) == "target.txt")
        try AtomicFile.write([(Data("a".utf8), dir + "/a.txt"), (Data("x".utf8), "/dev/null"), (Data("b".utf8), dir + "/link.txt")])
        #expect(FileManager.default.contents(atPath: dir + "/a.txt") == Data("a".utf8))
        #expect(FileManager.default.contents(atPath: dir + "/target.txt") == Data("b".utf8))
    }
}
