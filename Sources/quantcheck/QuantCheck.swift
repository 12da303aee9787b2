import ArgumentParser
import Formats
import Foundation

/// `quantcheck`: verify narrow-float quantization against the MPFR oracle, benchmark it,
/// report and gate releases.
///
/// Exit codes (every subcommand): 0 pass, 1 a check failed or a regression was found,
/// 2 usage or input error (one line on stderr).
struct QuantCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantcheck",
        abstract: "Exhaustive conformance, accuracy and performance checks for narrow-float quantization.",
        subcommands: QuantCheck.allSubcommands)
}

@main
enum Main {
    static func main() {
        // Before anything opens a descriptor (see StandardStreams.ensureOpen).
        StandardStreams.ensureOpen()
        do {
            var command = try QuantCheck.parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = QuantCheck.exitCode(for: error)
            if code == .success {
                QuantCheck.exit(withError: error)  // --help, --version
            }
            // Usage errors from ArgumentParser (normally 64) and our typed input errors both
            // exit 2 with one line on stderr.
            let message = QuantCheck.message(for: error)
                .split(separator: "\n").first.map(String.init) ?? "\(error)"
            StandardStreams.writeError("quantcheck: error: \(message)\n")
            Foundation.exit(2)
        }
    }
}

extension ParsableCommand {
    /// Writes one line to stderr.
    static func warn(_ line: String) {
        StandardStreams.writeError("quantcheck: \(line)\n")
    }
}
