import Formats

/// Errors the oracle reports for bad arguments or bad files. Internal invariants trap instead.
public enum OracleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The oracle computes deterministic roundings only (`RoundingRule.deterministic`).
    case unsupportedRounding(RoundingRule)
    /// Tensor shapes or lengths that do not agree.
    case shapeMismatch(String)
    /// A golden TSV that does not parse or does not describe what it claims.
    case malformedTable(line: Int, reason: String)
    /// An interval table that does not cover every Float32 bit pattern exactly once.
    case notAPartition(String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .unsupportedRounding(let rule):
            return "the oracle rounds deterministically; '\(rule.rawValue)' is not one of "
                + RoundingRule.deterministic.map(\.rawValue).joined(separator: ", ")
        case .shapeMismatch(let what):
            return "shape mismatch: \(what)"
        case .malformedTable(let line, let reason):
            return "malformed table at line \(line): \(reason)"
        case .notAPartition(let what):
            return "interval table is not a partition of the 2^32 Float32 bit patterns: \(what)"
        }
    }
}
