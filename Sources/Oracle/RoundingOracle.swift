import CMPFR
import Formats

/// An input value of a conversion, by the bits of its source type.
public enum OracleInput: Sendable, Hashable, CustomStringConvertible {
    case float32(bits: UInt32)
    case float64(bits: UInt64)
    /// IEEE binary16 bits (decoded with the `FloatFormat.binary16` descriptor).
    case binary16(bits: UInt16)
    /// bfloat16 bits (decoded with the `FloatFormat.bfloat16` descriptor).
    case bfloat16(bits: UInt16)

    public static func float32(_ x: Float) -> OracleInput { .float32(bits: x.bitPattern) }
    public static func float64(_ x: Double) -> OracleInput { .float64(bits: x.bitPattern) }

    /// `float32 0x43fa0000`, `float64 0x…`, `binary16 0x3c00`, `bfloat16 0x3f80`.
    public var description: String {
        func hex<T: BinaryInteger>(_ v: T, _ digits: Int) -> String {
            let s = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
        }
        switch self {
        case .float32(let b): return "float32 " + hex(b, 8)
        case .float64(let b): return "float64 " + hex(b, 16)
        case .binary16(let b): return "binary16 " + hex(b, 4)
        case .bfloat16(let b): return "bfloat16 " + hex(b, 4)
        }
    }

    /// The exact value as a Double (every source type here embeds exactly in binary64), NaNs
    /// keeping their sign.
    public var exactValue: Double {
        switch self {
        case .float32(let b): return Double(Float(bitPattern: b))
        case .float64(let b): return Double(bitPattern: b)
        case .binary16(let b): return ExactValueTable.value(of: b, in: .binary16).double
        case .bfloat16(let b): return ExactValueTable.value(of: b, in: .bfloat16).double
        }
    }
}

/// What happened to one input, for explaining a counterexample.
public struct RoundingTrace: Sendable, Hashable, CustomStringConvertible {
    public enum Event: String, Sendable, Hashable {
        /// NaN input → `codeForNaN`.
        case nanInput = "nan"
        /// ±∞ input → `codeForInfinity`.
        case infinityInput = "infinity"
        /// ±0 input, or a value rounding to zero → `codeForZero`.
        case zero
        /// A negative value into an unsigned format → NaN.
        case negativeIntoUnsigned = "negative-into-unsigned"
        /// A positive value below the smallest value of a format without zero (E8M0FNU):
        /// the smallest code, in every direction.
        case belowSmallest = "below-smallest"
        /// The rounded magnitude exceeds max finite → `codeForOverflow`.
        case overflow
        /// An ordinary finite result.
        case finite
    }

    public let input: OracleInput
    /// The exact input value (NaN keeps its sign).
    public let inputValue: Double
    /// The value actually rounded: the Float32 of a Float64 input when the profile rounds
    /// through Float32 (else equal to `inputValue`).
    public let roundedFrom: Double
    /// Signed neighbouring grid values (unbounded exponent), when the value was on the grid.
    public let lowerNeighbour: Double?
    public let upperNeighbour: Double?
    public let wasExact: Bool
    public let wasTie: Bool
    public let event: Event
    public let code: UInt16

    public var description: String {
        var s = "\(input) = \(inputValue)"
        if roundedFrom != inputValue && !(roundedFrom.isNaN && inputValue.isNaN) {
            s += " (pre-rounded to \(roundedFrom))"
        }
        if let lo = lowerNeighbour, let hi = upperNeighbour {
            s += ", neighbours [\(lo), \(hi)]"
            if wasExact { s += " exact" } else if wasTie { s += " tie" }
        }
        return s + " → \(event.rawValue) code 0x" + String(code, radix: 16)
    }
}

/// Correct rounding of a single input into a format under a deterministic `ConversionPolicy`,
/// derived from the format definition in MPFR.
///
/// The profile's departures from the specification are data, `FloatFormat.rules(for:)`
/// (`ProfileRules`), the same the production codec reads; the oracle computes each of them on
/// its own, in MPFR: the Float32 pre-rounding of Float64 inputs (`roundsFloat64ThroughFloat32`),
/// the tie-break (`tieBreak`, on the grid) and the small-value rule of formats without zero
/// (`smallValueRule`). NaN/∞ codes come from `FloatFormat`'s special-value functions, which read
/// the same rules; `NaNPayload.keptFromFloat32AndFloat64` (numpy float16) is not modelled: the
/// oracle gives the canonical NaN.
///
/// For a finite non-zero input x (after the profile's pre-rounding):
///
/// 1. Unsigned format and x < 0 → NaN. No-zero format (E8M0FNU) and |x| below the smallest
///    value → the smallest code, in every direction.
/// 2. Find the neighbours n·2^q ≤ |x| < (n+1)·2^q on the format's grid with an unbounded
///    exponent (`MagnitudeGrid`), and the midpoint (2n+1)·2^(q−1), exactly in MPFR.
/// 3. Round: nearest (ties to the even code, or as the profile says), toward zero, or away
///    from zero, the last two from `.up`/`.down` and the sign.
/// 4. Rounded to zero → `codeForZero(negative:)` (fnuz formats give +0).
/// 5. Rounded magnitude > max finite → `codeForOverflow(negative:roundedAway:policy:)`, with
///    `roundedAway = rule.carriesOverflowAway(negative:)` (IEEE 754 §7.4). Range is checked
///    *after* rounding (OCP OFP8 rev 1.0 §5.2.1): E4M3FN 464 → 448, 464.0001 → overflow.
/// 6. Otherwise encode the grid point; the code's value is checked against the descriptor's
///    `finiteValue(of:)` on every call.
///
/// NaN, ±∞ and ±0 inputs go to `codeForNaN`, `codeForInfinity` and `codeForZero`.
///
/// The struct is immutable and `Sendable`; each call allocates its few MPFR temporaries, or
/// reuses a caller's through the batch functions.
public struct RoundingOracle: Sendable {
    public let format: FloatFormat
    public let policy: ConversionPolicy
    /// The profile's rules for `format`.
    public let rules: ProfileRules
    /// Max finite magnitude, from the exact value of `format.maxFiniteMagnitudeCode`.
    public let maxFinite: Double
    let grid: MagnitudeGrid
    /// `format.maxFiniteMagnitudeCode`, cached: the descriptor computes it by a search.
    let maxFiniteMagnitudeCode: UInt16

    /// Throws `OracleError.unsupportedRounding` for `.stochastic`.
    public init(format: FloatFormat, policy: ConversionPolicy = ConversionPolicy()) throws(OracleError) {
        guard RoundingRule.deterministic.contains(policy.rounding) else {
            throw .unsupportedRounding(policy.rounding)
        }
        self.format = format
        self.policy = policy
        self.rules = format.rules(for: policy.profile)
        self.maxFiniteMagnitudeCode = format.maxFiniteMagnitudeCode
        self.maxFinite = ExactValueTable.value(of: maxFiniteMagnitudeCode, in: format).double
        self.grid = MagnitudeGrid(format: format)
    }

    // MARK: - Single inputs

    public func code(forFloat32 x: Float) -> UInt16 { code(for: .float32(bits: x.bitPattern)) }
    public func code(forFloat32Bits bits: UInt32) -> UInt16 { code(for: .float32(bits: bits)) }
    public func code(forFloat64 x: Double) -> UInt16 { code(for: .float64(bits: x.bitPattern)) }
    public func code(forBinary16Bits bits: UInt16) -> UInt16 { code(for: .binary16(bits: bits)) }
    public func code(forBFloat16Bits bits: UInt16) -> UInt16 { code(for: .bfloat16(bits: bits)) }

    public func code(for input: OracleInput) -> UInt16 {
        trace(input, scratch: GridScratch()).code
    }

    /// The code with an explanation of how it was reached.
    public func trace(_ input: OracleInput) -> RoundingTrace {
        trace(input, scratch: GridScratch())
    }

    // MARK: - Batches (one set of MPFR temporaries)

    public func codes<S: Sequence>(for inputs: S) -> [UInt16] where S.Element == OracleInput {
        let scratch = GridScratch()
        return inputs.map { trace($0, scratch: scratch).code }
    }

    public func codes<S: Sequence>(forFloat32Bits inputs: S) -> [UInt16] where S.Element == UInt32 {
        let scratch = GridScratch()
        return inputs.map { trace(.float32(bits: $0), scratch: scratch).code }
    }

    // MARK: - The conversion

    func trace(_ input: OracleInput, scratch: GridScratch) -> RoundingTrace {
        let inputValue = input.exactValue
        var value = inputValue
        if case .float64 = input, rules.roundsFloat64ThroughFloat32 {
            value = Self.roundToFloat32NearestEven(inputValue, scratch: scratch)
        }
        let negative = value.sign == .minus

        func done(_ event: RoundingTrace.Event, _ code: UInt16, _ r: MagnitudeGrid.Rounded? = nil) -> RoundingTrace {
            func signed(_ p: MagnitudeGrid.Point) -> Double { negative ? -p.double : p.double }
            return RoundingTrace(
                input: input, inputValue: inputValue, roundedFrom: value,
                lowerNeighbour: r.map { signed($0.lower) }, upperNeighbour: r.map { signed($0.upper) },
                wasExact: r?.isExact ?? false, wasTie: r?.isTie ?? false, event: event, code: code)
        }

        if value.isNaN { return done(.nanInput, format.codeForNaN(negative: negative, profile: policy.profile)) }
        if value.isInfinite { return done(.infinityInput, format.codeForInfinity(negative: negative, policy: policy)) }
        if value == 0 { return done(.zero, format.codeForZero(negative: negative)) }
        if negative && !format.isSigned { return done(.negativeIntoUnsigned, format.canonicalNaN(negative: true)!) }

        let magnitude = scratch.input
        let t = magnitude.set(Swift.abs(value), rounding: .nearestEven)
        precondition(t == 0, "input must be exact in MPFR")

        let direction: MagnitudeGrid.Direction
        switch policy.rounding {
        case .toNearestOrEven:
            switch rules.tieBreak {
            case .evenCode: direction = .nearest(.evenCode)
            case .evenSignificand: direction = .nearest(.evenSignificand)
            }
        case .towardZero: direction = .towardZero
        case .up: direction = negative ? .towardZero : .awayFromZero
        case .down: direction = negative ? .awayFromZero : .towardZero
        case .stochastic: preconditionFailure("rejected in init")
        }

        if rules.smallValueRule == .aboveSmallestRoundsUp, policy.rounding == .toNearestOrEven,
           !format.hasZero, !negative {
            // value < 2^(minNormal+1): code 0 at or below 2^minNormal, else code 1 (see
            // ProfileRules.SmallValueRule).
            let smallest = Double(sign: .plus, exponent: format.minNormalExponent, significand: 1)
            if value < 2 * smallest {
                return value <= smallest ? done(.belowSmallest, 0) : done(.finite, 1)
            }
        }

        guard let r = grid.round(magnitude, direction, scratch: scratch) else {
            // No-zero format, |x| below the smallest value 2^minNormalExponent.
            let smallest: UInt16 = (negative ? format.signMask : 0)
            return done(.belowSmallest, smallest)
        }
        let p = r.chosen
        if p.significand == 0 { return done(.zero, format.codeForZero(negative: negative), r) }

        // Range check after rounding, exactly: rounded magnitude vs max finite.
        scratch.result.set(significand: p.significand, exponent: p.quantumExponent, rounding: .nearestEven)
        if scratch.result.compare(to: maxFinite)! > 0 {
            let away = policy.rounding.carriesOverflowAway(negative: negative)
            return done(.overflow, format.codeForOverflow(negative: negative, roundedAway: away, policy: policy), r)
        }

        let magnitudeCode = grid.extendedCode(p)
        precondition(magnitudeCode >= 0 && magnitudeCode <= Int(maxFiniteMagnitudeCode), "encoding out of range")
        let code = (negative ? format.signMask : 0) | UInt16(magnitudeCode)
        // The encoding must decode, by the descriptor's definition, to the rounded value.
        guard let decoded = format.finiteValue(of: code),
              FloatFormat.double(decoded) == (negative ? -p.double : p.double) else {
            preconditionFailure("\(format.name) code \(code) does not decode to the rounded value")
        }
        return done(.finite, code, r)
    }

    /// IEEE 754 binary32 round-to-nearest-even of a Double, by the same grid construction
    /// (precision 24, min normal 2^−126, subnormals, overflow to ±∞): the profile's pre-rounding.
    static func roundToFloat32NearestEven(_ x: Double, scratch: GridScratch) -> Double {
        if !x.isFinite || x == 0 { return x }
        let negative = x < 0
        scratch.input.set(Swift.abs(x), rounding: .nearestEven)
        let r = MagnitudeGrid.binary32.round(scratch.input, .nearest(.evenCode), scratch: scratch)!
        var m = r.chosen.double
        // Largest binary32: (2 − 2^−23)·2^127; a rounded magnitude above it is ∞.
        if m > Double(Float.greatestFiniteMagnitude) { m = .infinity }
        return negative ? -m : m
    }
}
