import Foundation
import Testing
@testable import Harness

/// Options that do not apply to what was asked are refused — exit 2, one line — instead of
/// being silently ignored (issue 11, item 6). Each case is run through the built binary; the
/// same command without the refused option is run too and must not fail on parsing (the
/// negative control: the refusal is the option's, not the command's).
@Suite("Refused options", .serialized)
struct RefusedOptionsTests {
    let dir = makeTempDirectory("refusedoptions")

    struct Case: Sendable, CustomTestStringConvertible {
        let args: [String]
        let refused: [String]
        let message: String
        var testDescription: String { (args + refused).joined(separator: " ") }
    }

    static let decode = ["decode", "--format", "e4m3fn", "--input", "codes.npy", "--output", "out.npy"]
    static let encode = ["encode", "--format", "e4m3fn", "--input", "x.npy", "--output", "out.npy"]
    static let decodeReason = "does not apply to decode: decoding is exact (every code has one value, whatever the encode policy)"

    static let cases: [Case] = [
        Case(args: decode, refused: ["--mode", "sat"], message: "--mode \(decodeReason)"),
        Case(args: decode, refused: ["--rounding", "rtz"], message: "--rounding \(decodeReason)"),
        Case(args: decode, refused: ["--seed", "7"], message: "--seed \(decodeReason)"),
        Case(args: decode, refused: ["--profile", "ml_dtypes"], message: "--profile \(decodeReason)"),
        Case(args: encode, refused: ["--seed", "7"], message: "--seed applies only to --rounding stochastic (rounding is rne)"),
        Case(args: encode + ["--rounding", "up"], refused: ["--seed", "7"], message: "--seed applies only to --rounding stochastic (rounding is up)"),
        Case(args: ["encode", "--format", "e4m3fn", "--input", "x.npy", "--output", "-"], refused: ["--sync"],
             message: "--sync applies to a file output; '-' is a stream, written in place"),
        Case(args: ["verify", "--suite", "decode", "--format", "e2m1fn", "--quiet"], refused: ["--shard-count", "2"],
             message: "--shard-count applies only with --shard (e.g. --shard auto)"),
        Case(args: ["bench", "--filter", "^memcpy/cache/t1$", "--quick", "--quiet"], refused: ["--history-dir", "h"],
             message: "--history-dir applies only with --record"),
        Case(args: ["bench", "--list"], refused: ["--json", "b.json"], message: "--json does not apply with --list (which measures nothing)"),
        Case(args: ["bench", "--list"], refused: ["--repetitions", "3"], message: "--repetitions does not apply with --list (which measures nothing)"),
        Case(args: ["bench", "--list"], refused: ["--quick"], message: "--quick does not apply with --list (which measures nothing)"),
        Case(args: ["report", "--input", "r.json", "--output", "rep"], refused: ["--threshold", "3%"],
             message: "--threshold applies only with --baseline"),
    ]

    func makeInputs() throws {
        try NPY.write(try NPYArray(.uint8([0x38, 0x40])), to: dir + "/codes.npy")
        try NPY.write(try NPYArray(.float32([1, 2])), to: dir + "/x.npy")
        try ResultsFile(stamp: fixedStamp(), suites: [sampleSuite()]).write(to: dir + "/r.json")
    }

    @Test(arguments: cases)
    func refusedWithOneLine(_ c: Case) throws {
        try makeInputs()
        let refused = try CLI.run(c.args + c.refused, cwd: dir)
        #expect(refused.status == 2)
        #expect(refused.stderr == "quantcheck: error: \(c.message)\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.npy"), "nothing written")
        let control = try CLI.run(c.args, cwd: dir)
        #expect(control.status == 0, "without \(c.refused): \(control.stderr)")
    }

    /// decode's help no longer lists the encode policy (they are hidden, present only to be
    /// refused by name); encode's still does.
    @Test func helpListsOnlyWhatApplies() throws {
        let d = try CLI.run(["decode", "--help"])
        for option in ["--mode <", "--rounding <", "--seed <", "--profile <"] { #expect(!d.stdout.contains(option), "\(option)") }
        let e = try CLI.run(["encode", "--help"])
        for option in ["--mode <", "--rounding <", "--seed <", "--profile <"] { #expect(e.stdout.contains(option), "\(option)") }
    }

    /// `bench --list` honours --filter (it applies: it selects what is listed).
    @Test func listHonoursTheFilter() throws {
        let r = try CLI.run(["bench", "--list", "--filter", "^file\\.encode/"])
        #expect(r.status == 0)
        let names = r.stdout.split(separator: "\n")
        #expect(!names.isEmpty && names.allSatisfy { $0.hasPrefix("file.encode/") })
    }
}
