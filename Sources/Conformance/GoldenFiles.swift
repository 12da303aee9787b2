import Foundation
import Formats
import Oracle

/// The checked-in reference data written by the oracle:
/// `Golden/formats/<format>.tsv` (every code: class, exact decimal, hex-float) and
/// `Golden/rounding/<format>-rne-<mode>.tsv` (the Float32 interval table of RNE under sat and
/// nonsat). They guard the descriptors: a changed bias, NaN rule or limit changes the files.
///
/// The 8-bit-and-narrower formats are written; binary16 and bfloat16 (65,536 codes, megabytes of
/// text) are left out and checked against MPFR by the decode and sweep suites on every run.
public enum GoldenFiles {
    public static var formats: [FloatFormat] { FloatFormat.all.filter { $0.bitWidth <= 8 } }

    public static let roundingPolicies: [ConversionPolicy] = [
        ConversionPolicy(overflow: .saturating), ConversionPolicy(overflow: .nonSaturating),
    ]

    /// Every golden file as (path relative to the Golden directory, exact contents).
    public static func expected() throws -> [(path: String, contents: String)] {
        var files: [(String, String)] = []
        for f in formats {
            files.append(("formats/\(f.name).tsv", ExactValueTable(format: f).goldenTSV()))
            for p in roundingPolicies {
                let table = try RoundingIntervalTable(format: f, policy: p)
                files.append(("rounding/\(table.goldenFileName)", table.tsv()))
            }
        }
        return files
    }

    /// Compares the files under `directory` with what the oracle computes now. One case per
    /// file; a missing or different file is a mismatch with its first differing line.
    public static func check(directory: String) throws -> [SuiteResult] {
        try expected().map { file in
            let t0 = Date()
            let url = URL(fileURLWithPath: directory).appendingPathComponent(file.path)
            let onDisk = try? String(contentsOf: url, encoding: .utf8)
            var example: [Counterexample] = []
            if let onDisk, onDisk != file.contents {
                let a = onDisk.split(separator: "\n", omittingEmptySubsequences: false)
                let b = file.contents.split(separator: "\n", omittingEmptySubsequences: false)
                let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                example.append(Counterexample(
                    inputBits: "line \(i + 1)", inputValue: file.path,
                    expectedCode: i < b.count ? String(b[i]) : "<end of file>", expectedValue: "oracle",
                    gotCode: i < a.count ? String(a[i]) : "<end of file>", gotValue: "on disk"))
            } else if onDisk == nil {
                example.append(Counterexample(
                    inputBits: "-", inputValue: file.path, expectedCode: "file", expectedValue: "oracle",
                    gotCode: "missing", gotValue: "run `quantcheck golden write`"))
            }
            return SuiteResult(
                suite: "golden", caseName: file.path, passed: example.isEmpty, covered: 1, expected: 1,
                mismatches: example.isEmpty ? 0 : 1, counterexamples: example, wallSeconds: Date().timeIntervalSince(t0))
        }
    }
}
