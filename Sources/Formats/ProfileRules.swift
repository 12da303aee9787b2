/// Which library implements a conversion (`numpy.ndarray.astype`) into a format in the
/// ml_dtypes ecosystem. It decides which of the `.mlDtypes` profile's rules apply.
public enum MLDtypesCast: String, Sendable, Hashable, Codable {
    /// ml_dtypes' own casts (`ConvertImpl` in `float8.h`, registered through `NPyCast`, which
    /// converts via `float`): every ml_dtypes type, `bfloat16` included.
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
/// `.ocp` is the specification (`ProfileRules.specification`). `.mlDtypes` reproduces ml_dtypes
/// 0.6 `astype` code for code; the rule numbers below are those of `Golden/mldtypes/README.md`,
/// which holds the evidence (sources read and every golden table measured).
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
    /// range) and the Float32 is converted: rounded twice (ml_dtypes PR #401).
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

extension FloatFormat {
    /// The rules of `profile` for conversions into this format.
    public func rules(for profile: CompatibilityProfile) -> ProfileRules {
        switch profile {
        case .ocp: return .specification
        case .mlDtypes: return mlDtypesRules
        }
    }

    /// ml_dtypes 0.6 `astype` into this format, derived from the descriptor and the library
    /// that implements the cast (`mlDtypesCast`):
    /// - ml_dtypes' casts go through Float32 (rule 1) and round with `RoundBitsToNearestEven`
    ///   (rule 5: ties on the significand); a format without zero or mantissa bits (E8M0FNU)
    ///   takes the subnormal path's small-value rule (rule 5).
    /// - numpy's float16 casts round Float64 directly and keep NaN payloads (rule 6).
    /// - Every cast: NaN into a format without NaN gives the zero of the opposite sign (rule 4);
    ///   ∞ under saturation stays ∞/NaN.
    var mlDtypesRules: ProfileRules {
        let viaMLDtypes = mlDtypesCast == .mlDtypes
        return ProfileRules(
            roundsFloat64ThroughFloat32: viaMLDtypes,
            tieBreak: viaMLDtypes ? .evenSignificand : .evenCode,
            smallValueRule: viaMLDtypes && !hasZero && mantissaBits == 0 ? .aboveSmallestRoundsUp : .grid,
            nanWithoutEncoding: .zeroOfOppositeSign,
            nanPayload: mlDtypesCast == .numpy && nan == .ieee ? .keptFromFloat32AndFloat64 : .canonical,
            saturationKeepsInfinity: true)
    }
}
