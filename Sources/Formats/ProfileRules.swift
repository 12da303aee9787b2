/// Which library implements a conversion (`numpy.ndarray.astype`) into a format in the
/// ml_dtypes ecosystem. It decides which of an ml_dtypes profile's rules apply.
public enum MLDtypesCast: String, Sendable, Hashable, Codable {
    /// ml_dtypes' own casts (`ConvertImpl` in `float8.h`, registered through `NPyCast`, which
    /// converts via `float` in 0.6): every ml_dtypes type, `bfloat16` included.
    case mlDtypes = "ml_dtypes"
    /// numpy's own casts (`npy_floatbits_to_halfbits`, `npy_doublebits_to_halfbits`): numpy's
    /// `float16`.
    case numpy
}

/// How one compatibility profile converts into one format, where it departs from the
/// specification (OCP OFP8 rev 1.0 §5.2.1, OCP MX v1.0 §5.3, IEEE 754 §4.3): the profile's rules
/// as data. This is the one place they live; the production codec (`Quant`), the MPFR oracle
/// (`Oracle`) and the profile suite (`Conformance`) all read `FloatFormat.rules(for:)` and each
/// computes the conversion on its own.
///
/// `.ocp` is the specification (`ProfileRules.specification`). `.mlDtypes0_6` and `.mlDtypes0_7`
/// reproduce ml_dtypes 0.6.0 / 0.7.0 `astype` code for code, from the format's descriptor and
/// the release's data (`MLDtypesRelease`); the rule numbers below are those of
/// `Golden/mldtypes/README.md`, which holds the evidence (sources read, every golden table of
/// each release measured, and the two releases diffed against each other).
public struct ProfileRules: Sendable, Hashable, CustomStringConvertible {
    /// How round-to-nearest breaks an exact tie between two neighbours.
    public enum TieBreak: String, Sendable, Hashable {
        /// IEEE 754 roundTiesToEven on the code: the neighbour whose code is even (even
        /// significand; for a format without mantissa bits, the even biased exponent).
        case evenCode = "even-code"
        /// The neighbour whose integer significand, implicit bit included, is even: ml_dtypes'
        /// `RoundBitsToNearestEven`, whose tie bit is the target's last significand bit. Equal
        /// to `evenCode` wherever the format has mantissa bits; without them (E8M0FNU) every
        /// normal significand is the implicit 1, so every tie rounds away from zero (rule 5).
        case evenSignificand = "even-significand"
    }

    /// How round-to-nearest treats positive values below twice the smallest value
    /// s = 2^minNormalExponent of a format without zero.
    public enum SmallValueRule: String, Sendable, Hashable {
        /// The specification: below s → s (the only candidate); [s, 2s) rounds on the grid
        /// {s, 2s} like any other binade.
        case grid
        /// ml_dtypes (rule 5): x ≤ s → s (code 0), s < x < 2s → 2s (code 1). Its conversion
        /// rounds a Float32 subnormal onto the subnormal grid {0, 2^−126} of a format that has
        /// none and reads the result 0/1 as a code.
        case aboveSmallestRoundsUp = "above-smallest-rounds-up"
    }

    /// What a NaN input becomes in a format without a NaN encoding (E2M3FN, E3M2FN, E2M1FN).
    public enum NaNWithoutEncoding: String, Sendable, Hashable {
        /// The zero of the NaN's sign (a documented choice: OCP MX v1.0 leaves it open).
        case zeroOfSameSign = "zero-same-sign"
        /// The zero of the opposite sign (rule 4: ml_dtypes' `quiet_NaN()` of the MX types is
        /// the −0 code and its negation flips the sign bit).
        case zeroOfOppositeSign = "zero-opposite-sign"
    }

    /// What a NaN input's payload becomes in a format with IEEE NaNs.
    public enum NaNPayload: String, Sendable, Hashable {
        /// The canonical quiet NaN of the input's sign (`FloatFormat.canonicalNaN`).
        case canonical
        /// Float32 and Float64 NaNs keep their payload, unquieted (rule 6, numpy float16):
        /// s | exponent all-ones | (fraction ≫ (input fraction bits − mantissa bits)), made
        /// …01 if that is the infinity pattern. Float16 and bfloat16 inputs stay canonical.
        case keptFromFloat32AndFloat64 = "kept-from-float32-and-float64"
    }

    /// Rule 1: a Float64 input is first rounded to Float32 (round to nearest even, binary32
    /// range) and the Float32 is converted: rounded twice (ml_dtypes 0.6; PR #401).
    public var roundsFloat64ThroughFloat32: Bool
    /// Tie-breaking of `.toNearestOrEven` (rule 5).
    public var tieBreak: TieBreak
    /// Small values of a format without zero under `.toNearestOrEven` (rule 5).
    public var smallValueRule: SmallValueRule
    /// NaN into a format without NaN (rule 4).
    public var nanWithoutEncoding: NaNWithoutEncoding
    /// NaN payloads (rule 6).
    public var nanPayload: NaNPayload
    /// Whether ±∞ stays ∞ (or NaN) under the saturating policy instead of becoming ±max as OCP
    /// OFP8 Table 3 says (ml_dtypes' `ConvertFrom<kSaturate>` handles ∞ before saturating).
    public var saturationKeepsInfinity: Bool

    public init(
        roundsFloat64ThroughFloat32: Bool = false, tieBreak: TieBreak = .evenCode,
        smallValueRule: SmallValueRule = .grid, nanWithoutEncoding: NaNWithoutEncoding = .zeroOfSameSign,
        nanPayload: NaNPayload = .canonical, saturationKeepsInfinity: Bool = false
    ) {
        self.roundsFloat64ThroughFloat32 = roundsFloat64ThroughFloat32
        self.tieBreak = tieBreak
        self.smallValueRule = smallValueRule
        self.nanWithoutEncoding = nanWithoutEncoding
        self.nanPayload = nanPayload
        self.saturationKeepsInfinity = saturationKeepsInfinity
    }

    /// The specification: every input rounded directly, ties to the even code, NaN payloads
    /// dropped, OCP Table 3 for ∞ under saturation.
    public static let specification = ProfileRules()

    public var description: String {
        "float64→float32 first: \(roundsFloat64ThroughFloat32), ties: \(tieBreak.rawValue), "
            + "small values: \(smallValueRule.rawValue), NaN without encoding: \(nanWithoutEncoding.rawValue), "
            + "NaN payload: \(nanPayload.rawValue), sat keeps ∞: \(saturationKeepsInfinity)"
    }
}

/// What distinguishes one ml_dtypes release's `astype` from another's, as data: the facts
/// measured by diffing the releases' golden tables and every Float32 input
/// (`Golden/mldtypes/README.md`, "What changed in 0.7.0"). Everything else — ties of a format
/// without mantissa bits on the significand, NaN into FP6/FP4, numpy's float16, ∞ under
/// saturation — is the same in both releases and follows from the format's descriptor.
public struct MLDtypesRelease: Sendable, Hashable, CustomStringConvertible {
    /// The release, e.g. `0.7.0`.
    public let version: String
    /// Whether ml_dtypes' own casts round a Float64 input to Float32 first (rule 1: `NPyCast`
    /// converts through `float`, so the value is rounded twice; PR #401).
    public let castsFloat64ThroughFloat32: Bool
    /// Whether a Float32 subnormal converted into a format without zero or mantissa bits
    /// (E8M0FNU) takes `ConvertImpl`'s target-subnormal path (rule 5,
    /// `SmallValueRule.aboveSmallestRoundsUp`) instead of rounding on the grid {s, 2s}.
    public let float32SubnormalsTakeSubnormalPath: Bool

    /// ml_dtypes 0.6.0 (the tables of `Golden/mldtypes/0.6/`).
    public static let v0_6 = MLDtypesRelease(version: "0.6.0", castsFloat64ThroughFloat32: true, float32SubnormalsTakeSubnormalPath: true)
    /// ml_dtypes 0.7.0 (`Golden/mldtypes/0.7/`): Float64 rounded once, from its exact value, and
    /// Float32 subnormals into E8M0FNU rounded to nearest (ties up, as every E8M0FNU tie).
    public static let v0_7 = MLDtypesRelease(version: "0.7.0", castsFloat64ThroughFloat32: false, float32SubnormalsTakeSubnormalPath: false)

    /// `major.minor`, the name of the profile (`ml_dtypes-0.7`) and of its golden directory.
    public var shortVersion: String { version.split(separator: ".").prefix(2).joined(separator: ".") }

    public var description: String {
        "ml_dtypes \(version) (float64 via float32: \(castsFloat64ThroughFloat32), "
            + "float32 subnormals on the subnormal path: \(float32SubnormalsTakeSubnormalPath))"
    }
}

extension FloatFormat {
    /// The rules of `profile` for conversions into this format.
    public func rules(for profile: CompatibilityProfile) -> ProfileRules {
        guard let release = profile.mlDtypesRelease else { return .specification }
        return mlDtypesRules(release)
    }

    /// ml_dtypes `astype` into this format in `release`, derived from the descriptor, the
    /// library that implements the cast (`mlDtypesCast`) and the release's data:
    /// - ml_dtypes' casts round with `RoundBitsToNearestEven` (rule 5: ties on the significand);
    ///   in releases that cast through Float32, Float64 inputs are rounded twice (rule 1), and a
    ///   format without zero or mantissa bits (E8M0FNU) takes the subnormal path's small-value
    ///   rule for Float32 subnormals (rule 5).
    /// - numpy's float16 casts round Float64 directly and keep NaN payloads (rule 6).
    /// - Every cast: NaN into a format without NaN gives the zero of the opposite sign (rule 4);
    ///   ∞ under saturation stays ∞/NaN.
    func mlDtypesRules(_ release: MLDtypesRelease) -> ProfileRules {
        let viaMLDtypes = mlDtypesCast == .mlDtypes
        let subnormalPath = viaMLDtypes && release.float32SubnormalsTakeSubnormalPath && !hasZero && mantissaBits == 0
        return ProfileRules(
            roundsFloat64ThroughFloat32: viaMLDtypes && release.castsFloat64ThroughFloat32,
            tieBreak: viaMLDtypes ? .evenSignificand : .evenCode,
            smallValueRule: subnormalPath ? .aboveSmallestRoundsUp : .grid,
            nanWithoutEncoding: .zeroOfOppositeSign,
            nanPayload: mlDtypesCast == .numpy && nan == .ieee ? .keptFromFloat32AndFloat64 : .canonical,
            saturationKeepsInfinity: true)
    }
}
