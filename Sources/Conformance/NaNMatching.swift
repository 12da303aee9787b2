import Formats

/// Which NaN codes an implementation claims to produce where the oracle's answer is a NaN: part
/// of the claim checked, like the overflow policy.
///
/// The encoding of a NaN result is not fixed by the specifications: OCP OFP8 v1.0 gives E5M2
/// three NaN encodings per sign (Table 1) and leaves the encoding and sign of a converted NaN to
/// the implementation (`Docs/formats.md` §1), and IEEE 754-2019 §6.3 does not specify the sign
/// of a NaN result except for the sign-bit operations. Implementations differ in practice
/// (E5M2: ml_dtypes gives 0x7E, onnxruntime 0x7F). So a conformance claim has to say how
/// strictly NaNs compare:
///
/// - `anyNaN` (`class`): any NaN code of the format matches a NaN answer; what the
///   specifications require. The default for `conform` under the `ocp` profile.
/// - `sign`: a NaN code with the answer's sign bit (for formats with a sign).
/// - `canonical`: exactly the oracle's code (the quiet NaN of `FloatFormat.codeForNaN`, or the
///   profile's): bit parity with a reference library. The default under the `ml_dtypes`
///   profiles, whose purpose is bit parity, and for QuantCheck's own codec (`verify`).
///
/// A non-NaN answer is matched exactly under every rule, and a NaN never matches a number.
public enum NaNMatching: String, CaseIterable, Sendable, Hashable, Codable {
    case anyNaN = "class"
    case sign
    case canonical

    /// The default of a claim under `profile` (see the type's documentation for why).
    public static func `default`(for profile: CompatibilityProfile) -> NaNMatching {
        profile == .ocp ? .anyNaN : .canonical
    }

    /// One line for reports: what a NaN answer accepts.
    public var summary: String {
        switch self {
        case .anyNaN: return "any NaN code matches a NaN answer"
        case .sign: return "a NaN code of the same sign matches a NaN answer"
        case .canonical: return "NaN answers are matched code for code"
        }
    }
}

/// Compares an implementation's code with the oracle's under a `NaNMatching` rule.
public struct CodeMatcher: Sendable {
    public let rule: NaNMatching
    /// `isNaN[c]` for every code c of the format.
    private let isNaN: [Bool]
    private let signMask: UInt16
    /// True when the rule accepts only the oracle's code (canonical, or a format with at most
    /// one NaN code per sign under `sign`, at most one NaN code under `anyNaN`): the exact
    /// comparison is then the whole check, and fast paths may use it.
    public let isExact: Bool

    public init(format: FloatFormat, rule: NaNMatching) {
        self.rule = rule
        let nan = (0..<format.codeCount).map { format.classify(UInt16($0)) == .nan }
        isNaN = nan
        signMask = format.signMask
        let nanCodes = (0..<format.codeCount).filter { nan[$0] }.map(UInt16.init)
        switch rule {
        case .canonical: isExact = true
        case .sign: isExact = Set(nanCodes.filter { $0 & format.signMask == 0 }).count <= 1
            && Set(nanCodes.filter { $0 & format.signMask != 0 }).count <= 1
        case .anyNaN: isExact = nanCodes.count <= 1
        }
    }

    /// True when `got` is the oracle's `expected` code, or both are NaN codes the rule equates.
    @inline(__always)
    public func matches(expected e: UInt16, got g: UInt16) -> Bool {
        if e == g { return true }
        guard !isExact, Int(g) < isNaN.count, isNaN[Int(e)], isNaN[Int(g)] else { return false }
        return rule == .anyNaN || (e & signMask) == (g & signMask)
    }

    /// True when `expected` is a NaN code whose match is not exact under the rule (the sweep
    /// takes its element-wise path over such runs).
    public func isLenient(_ expected: UInt16) -> Bool { !isExact && isNaN[Int(expected)] }
}
