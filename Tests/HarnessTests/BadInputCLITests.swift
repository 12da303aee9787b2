import Foundation
import Testing
import Conformance
@testable import Harness

/// The bad-input campaign at the command line: the built `quantcheck` binary is run as a
/// subprocess on every bad input a user can give, and must exit 2 with exactly the one line
/// shown on stderr (these lines are quoted verbatim in the README's "Reliability" table), leave
/// no output file and no temporary file behind, and leave an existing output untouched.
///
/// Inputs are created in a fresh directory that is also the working directory, so messages
/// name relative paths and are stable.
@Suite("Bad input: quantcheck CLI", .serialized)
struct BadInputCLITests {
    let dir = makeTempDirectory("badinput")

    /// A `.npy` image with a hand-written header (what a broken producer would write).
    static func npy(descr: String, shape: String, fortran: Bool = false, version: UInt8 = 1, data: [UInt8] = []) -> Data {
        var h = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        let prefix = version == 1 ? 10 : 12
        h += String(repeating: " ", count: (64 - (prefix + h.utf8.count + 1) % 64) % 64) + "\n"
        var out = Data(NPY.magic + [version, 0])
        let n = h.utf8.count
        out.append(contentsOf: version == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : (0..<4).map { UInt8((n >> (8 * $0)) & 0xFF) })
        out.append(contentsOf: Array(h.utf8))
        out.append(contentsOf: data)
        return out
    }

    func put(_ name: String, _ data: Data) {
        FileManager.default.createFile(atPath: dir + "/" + name, contents: data)
    }

    func makeInputs() throws {
        let f32 = NPY.encode(try NPYArray(.float32((0..<12).map(Float.init)), shape: [3, 4]))
        put("good.npy", f32)
        put("codes.npy", NPY.encode(try NPYArray(.uint8([0, 15, 16, 255]))))
        put("truncated.npy", f32.prefix(f32.count - 7))
        put("truncated-header.npy", f32.prefix(40))
        put("lying.npy", Self.npy(descr: "<f4", shape: "(1000,)", data: [UInt8](repeating: 0, count: 12)))
        put("huge.npy", Self.npy(descr: "<f4", shape: "(4294967296, 4294967296)"))
        put("int32.npy", Self.npy(descr: "<i4", shape: "(1,)", data: [0, 0, 0, 0]))
        put("complex.npy", Self.npy(descr: "<c8", shape: "(1,)", data: [UInt8](repeating: 0, count: 8)))
        put("fortran.npy", Self.npy(descr: "<f4", shape: "(2, 2)", fortran: true, data: [UInt8](repeating: 0, count: 16)))
        put("big-endian.npy", Self.npy(descr: ">f4", shape: "(1,)", data: [0x3F, 0x80, 0, 0]))
        put("version9.npy", Data(NPY.magic + [9, 0, 0, 0]))
        put("text.npy", Data("hello, world\n".utf8))
        put("odd.raw", Data([1, 2, 3]))
        put("a-file", Data("x".utf8))
        put("existing.npy", Data("previous contents".utf8))
        try FileManager.default.createDirectory(atPath: dir + "/a-dir", withIntermediateDirectories: true)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let args: [String]
        let message: String
        var testDescription: String { args.joined(separator: " ") }
    }

    static let encode = ["encode", "--format", "e4m3fn"]

    /// Every case: arguments → the exact stderr line after "quantcheck: error: ".
    static let cases: [Case] = [
        // Names.
        Case(args: ["verify", "--format", "e9m9"], message: "unknown format 'e9m9'; known: e4m3fn, e5m2, e4m3fnuz, e5m2fnuz, e4m3b11fnuz, e4m3, e3m4, e8m0fnu, e2m3fn, e3m2fn, e2m1fn, binary16, bfloat16"),
        Case(args: ["verify", "--suite", "nope"], message: "unknown suite 'nope'; known: \(knownSuites)"),
        Case(args: encode + ["--mode", "saturate", "--input", "good.npy", "--output", "o.npy"], message: "--mode 'saturate' is not one of: sat, nonsat"),
        Case(args: encode + ["--rounding", "nearest", "--input", "good.npy", "--output", "o.npy"], message: "--rounding 'nearest' is not one of: rne, rtz, up, down, stochastic"),
        Case(args: encode + ["--profile", "torch", "--input", "good.npy", "--output", "o.npy"], message: "--profile 'torch' is not one of: ocp, ml_dtypes-0.6, ml_dtypes-0.7, ml_dtypes (= ml_dtypes-0.7)"),
        // Shards and threads.
        Case(args: ["verify", "--shard", "0/0"], message: "invalid shard: the shard count must be at least 1"),
        Case(args: ["verify", "--shard", "3/2"], message: "invalid shard 3/2: shards are numbered 1…2"),
        Case(args: ["verify", "--shard", "1/0"], message: "invalid shard: the shard count must be at least 1"),
        Case(args: ["verify", "--shard", "0/4"], message: "invalid shard 0/4: shards are numbered 1…4"),
        Case(args: ["verify", "--shard", "a/b"], message: "invalid shard 'a/b': expected K/N with 1 ≤ K ≤ N (e.g. 1/4), or 'auto'"),
        Case(args: ["verify", "--shard", "1/2/3"], message: "invalid shard '1/2/3': expected K/N with 1 ≤ K ≤ N (e.g. 1/4), or 'auto'"),
        Case(args: ["verify", "--shard", "1/4294967297"], message: "cannot split 4294967296 inputs into 4294967297 non-empty shards"),
        Case(args: ["verify", "--shard", "1/4", "--shard-count", "3"], message: "inconsistent shard settings: shard '1/4' says 4 shards but --shard-count is 3"),
        Case(args: ["verify", "--threads", "0"], message: "--threads must be at least 1 (got 0)"),
        Case(args: ["verify", "--threads=-2"], message: "--threads must be at least 1 (got -2)"),
        Case(args: ["verify", "--threads", "two"], message: "The value 'two' is invalid for '--threads <threads>'"),
        Case(args: encode + ["--threads", "0", "--input", "good.npy", "--output", "o.npy"], message: "thread count must be at least 1 (got 0)"),
        // .npy inputs.
        Case(args: encode + ["--input", "missing.npy", "--output", "o.npy"], message: "'missing.npy': cannot read: no such file"),
        Case(args: encode + ["--input", "a-dir", "--output", "o.npy"], message: "'a-dir': cannot read: is a directory"),
        Case(args: encode + ["--input", "truncated.npy", "--output", "o.npy"], message: "'truncated.npy': data is truncated: the header declares 48 bytes but the file holds 41"),
        Case(args: encode + ["--input", "truncated-header.npy", "--output", "o.npy"], message: "'truncated-header.npy': truncated .npy file: it ends inside the header"),
        Case(args: encode + ["--input", "lying.npy", "--output", "o.npy"], message: "'lying.npy': data is truncated: the header declares 4000 bytes but the file holds 12"),
        Case(args: encode + ["--input", "huge.npy", "--output", "o.npy"], message: "'huge.npy': declared shape [4294967296, 4294967296] exceeds the limit of 8589934592 elements"),
        Case(args: encode + ["--input", "int32.npy", "--output", "o.npy"], message: "'int32.npy': unsupported dtype '<i4' (supported: float16, float32, float64, uint8, uint16, and ml_dtypes' <V2 bfloat16 and <V1 codes)"),
        Case(args: encode + ["--input", "complex.npy", "--output", "o.npy"], message: "'complex.npy': unsupported dtype '<c8' (supported: float16, float32, float64, uint8, uint16, and ml_dtypes' <V2 bfloat16 and <V1 codes)"),
        Case(args: encode + ["--input", "fortran.npy", "--output", "o.npy"], message: "'fortran.npy': Fortran-ordered array is not supported; save np.ascontiguousarray(arr)"),
        Case(args: encode + ["--input", "big-endian.npy", "--output", "o.npy"], message: "'big-endian.npy': big-endian dtype '>f4' is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))"),
        Case(args: encode + ["--input", "version9.npy", "--output", "o.npy"], message: "'version9.npy': .npy format version 9.0 is not supported (1.0, 2.0, 3.0 are)"),
        Case(args: encode + ["--input", "text.npy", "--output", "o.npy"], message: "'text.npy': not a .npy file (bad magic; use --dtype for headerless data)"),
        Case(args: encode + ["--input", "codes.npy", "--output", "o.npy"], message: "input dtype '|u1' is not one of: float16, bfloat16, float32, float64"),
        Case(args: encode + ["--input", "odd.raw", "--dtype", "float32", "--output", "o.raw"], message: "'odd.raw': raw file size 3 is not a multiple of the element size 4"),
        Case(args: encode + ["--input", "odd.raw", "--dtype", "int7", "--output", "o.raw"], message: "unsupported dtype 'int7' (supported: float16, float32, float64, uint8, uint16, and ml_dtypes' <V2 bfloat16 and <V1 codes)"),
        Case(args: ["decode", "--format", "e2m1fn", "--input", "codes.npy", "--output", "o.npy"], message: "element 2 holds code 0x10, which is not a valid e2m1fn code"),
        Case(args: ["decode", "--format", "bfloat16", "--input", "codes.npy", "--output", "o.npy"], message: "bfloat16 codes are 16 bits wide and do not fit 8-bit storage"),
        Case(args: ["decode", "--format", "e4m3fn", "--input", "good.npy", "--output", "o.npy"], message: "input dtype '<f4' is not one of: uint8, uint16"),
        // Outputs.
        Case(args: encode + ["--input", "good.npy", "--output", "a-file/o.npy"], message: "'a-file' is a file, not a directory"),
        Case(args: encode + ["--input", "good.npy", "--output", "a-dir"], message: "output path 'a-dir' is a directory; give a file path"),
        Case(args: encode + ["--input", "good.npy", "--output", "no/such/dir/o.npy"], message: "output directory 'no/such/dir' does not exist"),
        Case(args: ["verify", "--suite", "decode", "--json", "a-dir"], message: "cannot write 'a-dir': it is a directory"),
        Case(args: ["verify", "--suite", "decode", "--json", "a-file/r.json"], message: "cannot write 'a-file/r.json': 'a-file' is not a directory"),
        Case(args: ["verify", "--suite", "decode", "--json", "no/such/r.json"], message: "cannot write 'no/such/r.json': directory 'no/such' does not exist"),
        Case(args: ["merge", "good.npy", "--json", "m.json"], message: "results file 'good.npy' is not valid JSON: Invalid value around character 0."),
        Case(args: ["report", "--input", "a-file"], message: "results file 'a-file' is not valid JSON: Invalid value around character 0."),
        Case(args: ["gate", "--config", "good.npy"], message: "gate configuration 'good.npy': not valid JSON: Invalid value around character 0."),
        // conform on files (the file host) and the input sets.
        Case(args: conformFiles, message: "no files to check: give --inputs with --outputs, --f32-codes, --f16-codes, --bf16-codes or --decoded"),
        Case(args: conformFiles + ["--outputs", "codes.npy"], message: "--outputs needs --inputs (the inputs the outputs were computed from)"),
        Case(args: conformFiles + ["--inputs", "good.npy"], message: "--inputs needs --outputs (or --library, to run the library on them)"),
        Case(args: conformFiles + ["--inputs", "good.npy", "--outputs", "codes.npy"],
             message: "'good.npy' holds 12 inputs but 'codes.npy' holds 4 outputs: they must correspond element by element"),
        Case(args: conformFiles + ["--inputs", "codes.npy", "--outputs", "codes.npy"],
             message: "'codes.npy': inputs must be float32, float64, float16 or bfloat16 (found |u1)"),
        Case(args: conformFiles + ["--f32-codes", "good.npy"], message: "'good.npy': codes must be uint8, uint16 or <V1 (found <f4)"),
        Case(args: conformFiles + ["--decoded", "codes.npy"], message: "'codes.npy': decoded values must be float32 (found |u1)"),
        Case(args: conformFiles + ["--f32-codes", "truncated.npy"], message: "'truncated.npy': data is truncated: the header declares 48 bytes but the file holds 41"),
        Case(args: conformFiles + ["--f32-codes", "codes.npy", "--suite", "float64"],
             message: "suite float64 needs outputs for f64 inputs, which no file given holds"),
        Case(args: conformFiles + ["--f32-codes", "codes.npy", "--nan", "maybe"], message: "--nan 'maybe' is not one of: class, sign, canonical"),
        Case(args: conformFiles + ["--f32-codes", "codes.npy", "--symbol", "x"], message: "--symbol names entry points of a --library"),
        Case(args: conformFiles + ["--f32-codes", "codes.npy", "--timeout", "5"], message: "--timeout limits a --library's calls; files take no time limit"),
        Case(args: conformFiles + ["--library", "a-file", "--outputs", "codes.npy"],
             message: "--outputs names a file of outputs to check; with --library the library computes the outputs (give one or the other)"),
        Case(args: ["inputs", "--set", "nope", "--output", "o.npy"],
             message: "--set 'nope' is not one of: exhaustive-f32, exhaustive-f16, exhaustive-bf16, float64, boundaries, roundtrip, decode"),
        Case(args: ["inputs", "--set", "float64", "--output", "o.npy"], message: "the float64 set needs --format"),
        Case(args: ["inputs", "--set", "decode", "--format", "e4m3fn", "--mode", "sat", "--output", "o.npy"],
             message: "--mode does not apply to the decode set"),
        Case(args: ["inputs", "--set", "exhaustive-f16", "--format", "e4m3fn", "--output", "o.npy"],
             message: "--format does not apply to the exhaustive-f16 set"),
        Case(args: ["inputs", "--set", "exhaustive-f32", "--shard", "3/2", "--output", "o.npy"],
             message: "invalid shard 3/2: shards are numbered 1…2"),
    ]

    static let conformFiles = ["conform", "--format", "e4m3fn", "--mode", "sat", "--quiet"]

    static var knownSuites: String { ConformanceRunner.suiteNames.joined(separator: ", ") }

    /// Files in the directory other than the inputs (an output or a `.tmp-` leftover).
    func strayFiles() throws -> [String] {
        let inputs: Set = ["good.npy", "codes.npy", "truncated.npy", "truncated-header.npy", "lying.npy", "huge.npy",
                           "int32.npy", "complex.npy", "fortran.npy", "big-endian.npy", "version9.npy", "text.npy",
                           "odd.raw", "a-file", "existing.npy", "a-dir", "unrelated.c", "libunrelated.so"]
        return try FileManager.default.contentsOfDirectory(atPath: dir).filter { !inputs.contains($0) }.sorted()
            + FileManager.default.contentsOfDirectory(atPath: dir + "/a-dir").map { "a-dir/" + $0 }
    }

    @Test(arguments: cases)
    func badInputExitsTwoWithOneLine(_ c: Case) throws {
        try makeInputs()
        let r = try CLI.run(c.args, cwd: dir)
        #expect(r.status == 2, "status \(r.status); stderr: \(r.stderr)")
        #expect(r.stderr == "quantcheck: error: \(c.message)\n")
        #expect(try strayFiles() == [], "left behind")
    }

    /// The suite list quoted above is the runner's (keeps the table honest as suites land).
    @Test func knownSuitesAreCurrent() throws {
        let r = try CLI.run(["verify", "--suite", "nope"], cwd: dir)
        #expect(r.stderr.hasPrefix("quantcheck: error: unknown suite 'nope'; known: "))
    }

    /// A failed run leaves an existing output file exactly as it was.
    @Test func failedRunKeepsTheExistingOutput() throws {
        try makeInputs()
        for input in ["truncated.npy", "lying.npy", "huge.npy", "codes.npy"] {
            let r = try CLI.run(Self.encode + ["--input", input, "--output", "existing.npy"], cwd: dir)
            #expect(r.status == 2)
            #expect(FileManager.default.contents(atPath: dir + "/existing.npy") == Data("previous contents".utf8))
        }
        let r = try CLI.run(["decode", "--format", "e2m1fn", "--input", "codes.npy", "--output", "existing.npy"], cwd: dir)
        #expect(r.status == 2)
        #expect(FileManager.default.contents(atPath: dir + "/existing.npy") == Data("previous contents".utf8))
        #expect(try strayFiles() == [])
    }

    /// Empty arrays are valid input: encode and decode keep the (empty) shape.
    @Test func emptyArraysRoundTrip() throws {
        for shape in [[0], [3, 0], [0, 5]] {
            let path = dir + "/empty.npy"
            try NPY.write(try NPYArray(.float32([]), shape: shape), to: path)
            let e = try CLI.run(Self.encode + ["--input", "empty.npy", "--output", "codes-out.npy"], cwd: dir)
            #expect(e.status == 0, "\(e.stderr)")
            let codes = try NPY.read(path: dir + "/codes-out.npy")
            #expect(codes.shape == shape && codes.dtype == .uint8 && codes.count == 0)
            let d = try CLI.run(["decode", "--format", "e4m3fn", "--input", "codes-out.npy", "--output", "back.npy"], cwd: dir)
            #expect(d.status == 0, "\(d.stderr)")
            let back = try NPY.read(path: dir + "/back.npy")
            #expect(back.shape == shape && back.dtype == .float32 && back.count == 0)
        }
    }

    /// `conform` with a library that cannot be checked: missing, a directory, not a shared
    /// library, no entry points, a named symbol it lacks, bad limits. (Plugins that crash,
    /// hang or write past their buffers are failing *cases*, exit 1: PluginTests.)
    @Test func pluginLibraryErrors() throws {
        try makeInputs()
        put("unrelated.c", Data("int unrelated_function(int x) { return x + 1; }\n".utf8))
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-o", dir + "/libunrelated.so", dir + "/unrelated.c"]
        try cc.run()
        cc.waitUntilExit()
        try #require(cc.terminationStatus == 0, "cc is needed to build the test library")
        let claim = ["--format", "e4m3fn", "--mode", "sat", "--quiet"]
        let cases: [([String], String)] = [
            (["--library", "missing.so"], "library 'missing.so' not found"),
            (["--library", "a-dir"], "'a-dir' is not a shared library: it is a directory"),
            (["--library", "good.npy"], "'good.npy' is not a shared library: not an ELF file"),
            (["--library", "./libunrelated.so"],
             "'./libunrelated.so' exports none of the entry points f32_to_e4m3fn, f64_to_e4m3fn, f16_to_e4m3fn, bf16_to_e4m3fn, e4m3fn_to_f32 (use --symbol NAME)"),
            (["--library", "./libunrelated.so", "--symbol", "my_encoder"], "symbol 'my_encoder' (f32 entry point) not found in './libunrelated.so'"),
            (["--library", "./libunrelated.so", "--symbol", "unrelated_function", "--suite", "decode"],
             "suite 'decode' needs one of e4m3fn_to_f32, which the library does not export"),
            (["--library", "./libunrelated.so", "--symbol", "zz=foo"], "--symbol key 'zz' is not one of: f32, f64, f16, bf16, decode"),
            (["--library", "./libunrelated.so", "--rounding", "stochastic"], "--rounding 'stochastic' is not one of: rne, rtz, up, down"),
            (["--library", "./libunrelated.so", "--timeout", "0"], "--timeout must be a positive number of seconds (got 0.0)"),
            (["--library", "./libunrelated.so", "--timeout", "nan"], "--timeout must be a positive number of seconds (got nan)"),
            (["--library", "./libunrelated.so", "--threads", "0"], "--threads must be at least 1 (got 0)"),
        ]
        for (args, message) in cases {
            let r = try CLI.run(["conform"] + args + claim, cwd: dir)
            #expect(r.status == 2, "\(args): status \(r.status)")
            #expect(r.stderr == "quantcheck: error: \(message)\n", "\(args)")
        }
    }

    /// `--shard auto` with a broken environment.
    @Test func shardAutoEnvironment() throws {
        var env = ProcessInfo.processInfo.environment
        for k in env.keys where k.hasPrefix("SLURM_") || k.hasPrefix("QUANTCHECK_SHARD") || k == "JOB_COMPLETION_INDEX" { env[k] = nil }
        let cases: [([String: String], String)] = [
            ([:], "--shard auto: none of QUANTCHECK_SHARD_INDEX, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX is set"),
            (["QUANTCHECK_SHARD_INDEX": "x", "QUANTCHECK_SHARD_COUNT": "2"], "--shard auto: QUANTCHECK_SHARD_INDEX='x' is not a valid shard number"),
            (["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "2"], "invalid shard 4/2: shards are numbered 1…2"),
            (["JOB_COMPLETION_INDEX": "0"], "--shard auto: JOB_COMPLETION_INDEX is set; give the number of completions with --shard-count"),
        ]
        for (extra, message) in cases {
            let r = try CLI.run(["verify", "--shard", "auto"], cwd: dir, environment: env.merging(extra) { $1 })
            #expect(r.status == 2)
            #expect(r.stderr == "quantcheck: error: \(message)\n", "\(extra)")
        }
    }
}
