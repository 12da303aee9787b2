import Formats
/// Every error the `Quant` module throws on bad user input.
///
/// Public entry points validate shapes, lengths, group sizes, α, percentiles and data before
/// doing any work, and throw one of these cases instead of trapping, clamping an argument or
/// truncating a result. Each case's `description` is a single line that names the offending
/// argument, what was expected and what was found, so it can be shown to a user verbatim.
///
/// The enum is shared by the whole module (codec, scaling, integer quantization, SmoothQuant,
/// kernels); cases are deliberately general (`what:` names the argument) so that new entry
/// points reuse them rather than add near-duplicates.
public enum QuantError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// A buffer or array has the wrong number of elements, e.g. an output buffer shorter than
    /// its input, or a value array that does not match its declared shape.
    case lengthMismatch(what: String, expected: Int, actual: Int)
    /// Two shapes that must agree do not (e.g. activations [4, 16] against weights [8, 12]).
    case shapeMismatch(what: String, expected: [Int], actual: [Int])
    /// A shape is itself invalid: a non-positive dimension, no dimensions, or an element count
    /// that overflows `Int`.
    case invalidShape(dimensions: [Int], reason: String)
    /// A tensor has the wrong rank for the operation (e.g. per-channel scaling needs 2-D).
    case rankMismatch(what: String, expected: String, actual: Int)
    /// A group or block size is not usable (non-positive, or not allowed by the format).
    case invalidGroupSize(Int, reason: String)
    /// SmoothQuant migration strength α outside [0, 1], or NaN. Never clamped.
    case alphaOutOfRange(Double)
    /// A percentile outside (0, 1], or NaN. Never clamped.
    case invalidPercentile(Double)
    /// An input value is NaN or ±∞ where only finite values are meaningful.
    case nonFiniteInput(what: String, index: Int, value: Double)
    /// An input value is finite but outside the range the operation accepts (e.g. an INT8
    /// weight of −128 in a kernel that assumes |q| ≤ 127, an E4M3 NaN code in FP8 weights).
    case valueOutOfRange(what: String, index: Int, value: Double, allowed: String)
    /// A calibrator was asked about a layer it has never seen.
    case unknownLayer(String)
    /// A batch for a known layer has a different feature (channel) count than before.
    case featureCountMismatch(layer: String, expected: Int, actual: Int)
    /// A scalar argument is invalid (non-positive thread count, negative margin, NaN ε, …).
    case invalidArgument(name: String, value: String, reason: String)
    /// The format cannot be used for this operation (e.g. a 16-bit format where 8-bit codes
    /// are required, an MX element format outside the OCP MX set).
    case unsupportedFormat(format: String, reason: String)
    /// A dimension exceeds a documented limit (e.g. W8A8 in_features above 2^17, the bound
    /// that keeps Int32 accumulation exact).
    case limitExceeded(what: String, value: Int, limit: Int)
    /// Two states cannot be merged because their configurations differ.
    case incompatibleMerge(reason: String)
    /// A collection that must not be empty is empty (no batches, no calibration data, …).
    case emptyInput(what: String)

    /// Equality and hashing go through the message, so cases carrying NaN (an α or a data
    /// value) still equal themselves — synthesized `Double` equality would make them unequal.
    public static func == (a: QuantError, b: QuantError) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .lengthMismatch(let what, let expected, let actual):
            return "\(what): expected \(expected) elements, got \(actual)"
        case .shapeMismatch(let what, let expected, let actual):
            return "\(what): expected shape \(expected), got \(actual)"
        case .invalidShape(let dimensions, let reason):
            return "invalid shape \(dimensions): \(reason)"
        case .rankMismatch(let what, let expected, let actual):
            return "\(what): expected rank \(expected), got rank \(actual)"
        case .invalidGroupSize(let size, let reason):
            return "invalid group size \(size): \(reason)"
        case .alphaOutOfRange(let alpha):
            return "SmoothQuant alpha must be in [0, 1], got \(alpha)"
        case .invalidPercentile(let p):
            return "percentile must be in (0, 1], got \(p)"
        case .nonFiniteInput(let what, let index, let value):
            return "\(what): non-finite value \(value) at index \(index)"
        case .valueOutOfRange(let what, let index, let value, let allowed):
            return "\(what): value \(value) at index \(index) is outside \(allowed)"
        case .unknownLayer(let name):
            return "unknown layer '\(name)'"
        case .featureCountMismatch(let layer, let expected, let actual):
            return "layer '\(layer)': expected \(expected) features, got \(actual)"
        case .invalidArgument(let name, let value, let reason):
            return "invalid \(name) \(value): \(reason)"
        case .unsupportedFormat(let format, let reason):
            return "format \(format) is not supported here: \(reason)"
        case .limitExceeded(let what, let value, let limit):
            return "\(what) = \(value) exceeds the limit \(limit)"
        case .incompatibleMerge(let reason):
            return "cannot merge: \(reason)"
        case .emptyInput(let what):
            return "\(what) is empty"
        }
    }
}
