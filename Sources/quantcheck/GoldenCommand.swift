import ArgumentParser
import Conformance
import Foundation
import Harness

/// `quantcheck golden write|check`: the oracle's reference tables under `Golden/`.
struct GoldenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "golden", abstract: "Write or check the oracle's golden tables (Golden/formats, Golden/rounding).",
        subcommands: [Write.self, Check.self])

    struct Write: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Regenerate the golden tables from the MPFR oracle.")
        @Option(help: "Golden directory.") var directory: String = "Golden"

        func run() throws {
            let files = try GoldenFiles.expected()
            for f in files {
                let path = URL(fileURLWithPath: directory).appendingPathComponent(f.path).path
                try AtomicFile.ensureDirectory((path as NSString).deletingLastPathComponent)
                try AtomicFile.write(f.contents, to: path)
            }
            print("golden: wrote \(files.count) files under \(directory)/")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare the golden tables with the oracle (exit 1 on any difference).")
        @Option(help: "Golden directory.") var directory: String = "Golden"

        func run() throws {
            let results = try GoldenFiles.check(directory: directory)
            let bad = results.filter { !$0.passed }
            for r in bad {
                let c = r.counterexamples.first
                print("FAIL  \(r.caseName): \(c.map { "\($0.inputBits): oracle '\($0.expectedCode)' vs file '\($0.gotCode)'" } ?? "")")
            }
            print("golden: \(results.count - bad.count)/\(results.count) files match the oracle")
            if !bad.isEmpty { throw ExitCode(1) }
        }
    }
}
