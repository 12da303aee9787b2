/// Rounding direction of a conversion. Values a rule produces (to an integer grid, ties shown):
///
/// | rule               | −1.5 | −0.5 | 0.5 | 0.7 | 1.2 | 2.5 |
/// |--------------------|------|------|-----|-----|-----|-----|
/// | `.toNearestOrEven` | −2   | −0   | 0   | 1   | 1   | 2   |
/// | `.towardZero`      | −1   | −0   | 0   | 0   | 1   | 2   |
/// | `.up`              | −1   | −0   | 1   | 1   | 2   | 3   |
/// | `.down`            | −2   | −1   | 0   | 0   | 1   | 2   |
/// | `.stochastic`      | −1 w.p. ½ … | | | 1 w.p. 0.7 | 2 w.p. 0.2 | 3 w.p. ½ |
///
/// Ties under `.toNearestOrEven` go to the even *code* (for formats with a mantissa this is the
/// even significand; for E8M0FNU, which has none, the even biased exponent).
/// `.stochastic` rounds up with probability (x − lo)/(hi − lo), from a seeded generator.
public enum RoundingRule: String, CaseIterable, Sendable, Hashable, Codable {
    case toNearestOrEven = "rne"
    case towardZero = "rtz"
    case up = "up"
    case down = "down"
    case stochastic = "stochastic"

    /// The deterministic rules (everything but `.stochastic`).
    public static let deterministic: [RoundingRule] = [.toNearestOrEven, .towardZero, .up, .down]

    /// Whether this rule carries an overflow of a value with the given sign to ∞ (NONSAT) rather
    /// than to ±max (IEEE 754 §7.4). Round-to-nearest, and stochastic rounding, always do.
    public func carriesOverflowAway(negative: Bool) -> Bool {
        switch self {
        case .toNearestOrEven, .stochastic: return true
        case .towardZero: return false
        case .up: return !negative
        case .down: return negative
        }
    }
}

/// Overflow policy of OCP OFP8 rev 1.0 §5.2.1 / Table 3. The value is rounded to the target
/// precision *first*, then range-checked.
///
/// - `.saturating` (SAT): a rounded magnitude above max, and ±∞, become ±max.
/// - `.nonSaturating` (NONSAT): overflow becomes ±∞ where the format has infinities, else NaN.
///   Directed rounding follows IEEE 754 §7.4: toward zero, and away from the overflow's
///   direction, overflow goes to ±max instead.
///
/// Formats with neither infinity nor NaN (E2M3FN, E3M2FN, E2M1FN) always saturate.
public enum OverflowPolicy: String, CaseIterable, Sendable, Hashable, Codable {
    case saturating = "sat"
    case nonSaturating = "nonsat"
}

/// Which implementation's choices to reproduce where the spec leaves them open or where a
/// popular library deviates from it.
///
/// - `.ocp`: the specification (default).
/// - `.mlDtypes0_6`, `.mlDtypes0_7`: the exact output codes of ml_dtypes 0.6.0 / 0.7.0
///   `astype`, each release's rules as data (`MLDtypesRelease`, evidence in
///   `Golden/mldtypes/README.md`; README "Profiles").
///
/// The raw value, which results and case names carry, always spells the exact release;
/// `init?(name:)` also accepts the alias `ml_dtypes` for the newest release (`.mlDtypes`).
public enum CompatibilityProfile: String, CaseIterable, Sendable, Hashable, Codable {
    case ocp = "ocp"
    case mlDtypes0_6 = "ml_dtypes-0.6"
    case mlDtypes0_7 = "ml_dtypes-0.7"

    /// The newest ml_dtypes release modelled: what `--profile ml_dtypes` means.
    public static let mlDtypes = CompatibilityProfile.mlDtypes0_7

    /// Names accepted besides the raw values, and what they stand for.
    public static let aliases: [(name: String, profile: CompatibilityProfile)] = [("ml_dtypes", .mlDtypes)]

    /// A profile from its raw value or an alias (`ml_dtypes` → `ml_dtypes-0.7`); nil otherwise.
    public init?(name: String) {
        if let p = CompatibilityProfile(rawValue: name) {
            self = p
        } else if let a = Self.aliases.first(where: { $0.name == name }) {
            self = a.profile
        } else {
            return nil
        }
    }

    /// Every accepted name, for help texts and errors: `ocp, ml_dtypes-0.6, ml_dtypes-0.7,
    /// ml_dtypes (= ml_dtypes-0.7)`.
    public static var acceptedNames: [String] {
        allCases.map(\.rawValue) + aliases.map { "\($0.name) (= \($0.profile.rawValue))" }
    }

    /// The ml_dtypes release this profile reproduces; nil for `.ocp`.
    public var mlDtypesRelease: MLDtypesRelease? {
        switch self {
        case .ocp: return nil
        case .mlDtypes0_6: return .v0_6
        case .mlDtypes0_7: return .v0_7
        }
    }
}

/// The full description of one conversion's behaviour.
public struct ConversionPolicy: Sendable, Hashable, Codable, CustomStringConvertible {
    public var rounding: RoundingRule
    public var overflow: OverflowPolicy
    public var profile: CompatibilityProfile

    public init(
        rounding: RoundingRule = .toNearestOrEven, overflow: OverflowPolicy = .nonSaturating,
        profile: CompatibilityProfile = .ocp
    ) {
        self.rounding = rounding
        self.overflow = overflow
        self.profile = profile
    }

    public var description: String { "\(rounding.rawValue)/\(overflow.rawValue)/\(profile.rawValue)" }
}
