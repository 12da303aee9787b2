import CMPFR

/// A GNU MPFR number owned by Swift: `mpfr_init2` in `init`, `mpfr_clear` in `deinit`.
///
/// Every value has an explicit precision (bits of significand) and every operation that can
/// round names its rounding. Operations write their result into `self` and return MPFR's
/// *ternary value*: 0 when the stored result equals the exact result, > 0 when it is above the
/// exact result, < 0 when below — so exactness is checkable, not assumed.
///
/// Operands may alias `self` (`x.add(x, y)`): MPFR allows it, and since the storage is an owned
/// pointer rather than a Swift `inout` there is no exclusivity conflict.
///
/// Some MPFR entry points are macros in `mpfr.h` (`mpfr_sgn`, `mpfr_set_ui`, `mpfr_cmp_ui`,
/// `mpfr_init_set_*`); this wrapper calls only the real functions (`mpfr_cmp`,
/// `mpfr_set_si_2exp`, `mpfr_signbit`, …).
///
/// Thread safety: an instance is a mutable object — use it from one thread at a time. Distinct
/// instances may be used concurrently (MPFR keeps its flags and caches in thread-local storage;
/// `mpfr_buildopt_tls_p()` is checked by the tests).
public final class MPFRNumber: CustomStringConvertible {
    /// The underlying `mpfr_t`, for callers who need an MPFR function this wrapper lacks
    /// (`import CMPFR`). Valid for the lifetime of `self`.
    public let pointer: UnsafeMutablePointer<__mpfr_struct>

    /// Rounding of an MPFR operation (`mpfr_rnd_t`).
    public enum Rounding: Sendable, Hashable, CaseIterable {
        /// `MPFR_RNDN`: to nearest, ties to even.
        case nearestEven
        /// `MPFR_RNDZ`.
        case towardZero
        /// `MPFR_RNDU`: toward +∞.
        case up
        /// `MPFR_RNDD`: toward −∞.
        case down
        /// `MPFR_RNDA`.
        case awayFromZero

        @usableFromInline var mpfr: mpfr_rnd_t {
            switch self {
            case .nearestEven: return MPFR_RNDN
            case .towardZero: return MPFR_RNDZ
            case .up: return MPFR_RNDU
            case .down: return MPFR_RNDD
            case .awayFromZero: return MPFR_RNDA
            }
        }
    }

    /// Valid precisions: `MPFR_PREC_MIN` (1) … a bound far above anything QuantCheck needs.
    public static let precisionRange: ClosedRange<Int> = 1...(1 << 24)

    // MARK: - Initialisers

    /// A number of `precision` bits whose value is NaN (MPFR's initial value).
    public init(precision: Int) {
        precondition(Self.precisionRange.contains(precision), "MPFR precision \(precision) out of range")
        pointer = UnsafeMutablePointer<__mpfr_struct>.allocate(capacity: 1)
        mpfr_init2(pointer, mpfr_prec_t(precision))
    }

    deinit {
        mpfr_clear(pointer)
        pointer.deallocate()
    }

    /// The exact value of `x` (±0, ±∞ and NaN included). Traps if `precision` < 53 would round.
    public convenience init(exactly x: Double, precision: Int = 53) {
        self.init(precision: precision)
        let t = set(x, rounding: .nearestEven)
        precondition(t == 0, "\(x) is not exact at precision \(precision)")
    }

    /// The exact value of `x`. Traps if `precision` < 24 would round.
    public convenience init(exactly x: Float, precision: Int = 24) {
        self.init(precision: precision)
        let t = set(x, rounding: .nearestEven)
        precondition(t == 0, "\(x) is not exact at precision \(precision)")
    }

    /// The exact integer `n`. Traps if `precision` is too small for it.
    public convenience init(exactly n: Int, precision: Int = 64) {
        self.init(precision: precision)
        let t = set(n, rounding: .nearestEven)
        precondition(t == 0, "\(n) is not exact at precision \(precision)")
    }

    /// The exact value `significand · 2^exponent`. Traps if `precision` is too small.
    public convenience init(significand: Int, exponent: Int, precision: Int = 64) {
        self.init(precision: precision)
        let t = set(significand: significand, exponent: exponent, rounding: .nearestEven)
        precondition(t == 0, "\(significand)·2^\(exponent) is not exact at precision \(precision)")
    }

    /// A copy of `other` at `precision` (default: the same), rounded with `rounding`.
    public convenience init(_ other: MPFRNumber, precision: Int? = nil, rounding: Rounding = .nearestEven) {
        self.init(precision: precision ?? other.precision)
        set(other, rounding: rounding)
    }

    // MARK: - Precision

    public var precision: Int { Int(mpfr_get_prec(pointer)) }

    /// Changes the precision and sets the value to NaN (`mpfr_set_prec`).
    public func resetPrecision(_ precision: Int) {
        precondition(Self.precisionRange.contains(precision), "MPFR precision \(precision) out of range")
        mpfr_set_prec(pointer, mpfr_prec_t(precision))
    }

    /// Rounds the current value to `precision` bits in place (`mpfr_prec_round`).
    @discardableResult
    public func round(toPrecision precision: Int, rounding: Rounding) -> Int {
        precondition(Self.precisionRange.contains(precision), "MPFR precision \(precision) out of range")
        return Int(mpfr_prec_round(pointer, mpfr_prec_t(precision), rounding.mpfr))
    }

    // MARK: - Setting

    @discardableResult
    public func set(_ other: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_set(pointer, other.pointer, rounding.mpfr))
    }

    @discardableResult
    public func set(_ x: Double, rounding: Rounding) -> Int {
        Int(mpfr_set_d(pointer, x, rounding.mpfr))
    }

    @discardableResult
    public func set(_ x: Float, rounding: Rounding) -> Int {
        Int(mpfr_set_flt(pointer, x, rounding.mpfr))
    }

    @discardableResult
    public func set(_ n: Int, rounding: Rounding) -> Int {
        Int(mpfr_set_si_2exp(pointer, n, 0, rounding.mpfr))
    }

    /// Sets `significand · 2^exponent` (`mpfr_set_si_2exp`).
    @discardableResult
    public func set(significand: Int, exponent: Int, rounding: Rounding) -> Int {
        Int(mpfr_set_si_2exp(pointer, significand, mpfr_exp_t(exponent), rounding.mpfr))
    }

    public func setZero(negative: Bool = false) { mpfr_set_zero(pointer, negative ? -1 : 1) }
    public func setInfinity(negative: Bool = false) { mpfr_set_inf(pointer, negative ? -1 : 1) }
    public func setNaN() { mpfr_set_nan(pointer) }

    // MARK: - Arithmetic (result in self)

    /// self = a + b.
    @discardableResult
    public func add(_ a: MPFRNumber, _ b: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_add(pointer, a.pointer, b.pointer, rounding.mpfr))
    }

    /// self = a − b.
    @discardableResult
    public func subtract(_ a: MPFRNumber, _ b: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_sub(pointer, a.pointer, b.pointer, rounding.mpfr))
    }

    /// self = a · b.
    @discardableResult
    public func multiply(_ a: MPFRNumber, _ b: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_mul(pointer, a.pointer, b.pointer, rounding.mpfr))
    }

    /// self = a / b.
    @discardableResult
    public func divide(_ a: MPFRNumber, _ b: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_div(pointer, a.pointer, b.pointer, rounding.mpfr))
    }

    /// self = a / n for an unsigned integer n (`mpfr_div_ui`): one rounding of the exact quotient.
    @discardableResult
    public func divide(_ a: MPFRNumber, by n: UInt, rounding: Rounding) -> Int {
        Int(mpfr_div_ui(pointer, a.pointer, n, rounding.mpfr))
    }

    /// self = a · b + c with a single rounding (`mpfr_fma`).
    @discardableResult
    public func fusedMultiplyAdd(_ a: MPFRNumber, _ b: MPFRNumber, _ c: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_fma(pointer, a.pointer, b.pointer, c.pointer, rounding.mpfr))
    }

    /// self = a · 2^k (`mpfr_mul_2si`; exact unless the result leaves MPFR's exponent range).
    @discardableResult
    public func multiply(_ a: MPFRNumber, byPowerOfTwo k: Int, rounding: Rounding) -> Int {
        Int(mpfr_mul_2si(pointer, a.pointer, k, rounding.mpfr))
    }

    /// self = −a.
    @discardableResult
    public func negate(_ a: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_neg(pointer, a.pointer, rounding.mpfr))
    }

    /// self = |a|.
    @discardableResult
    public func absoluteValue(_ a: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_abs(pointer, a.pointer, rounding.mpfr))
    }

    /// self = a², one rounding.
    @discardableResult
    public func square(_ a: MPFRNumber, rounding: Rounding) -> Int {
        Int(mpfr_sqr(pointer, a.pointer, rounding.mpfr))
    }

    /// self = Σ terms with a single rounding (`mpfr_sum`, correctly rounded for any number of
    /// terms, whatever their exponents and signs). An empty sum is +0.
    @discardableResult
    public func setSum(_ terms: [MPFRNumber], rounding: Rounding) -> Int {
        var pointers: [UnsafeMutablePointer<__mpfr_struct>?] = terms.map { $0.pointer }
        return withExtendedLifetime(terms) {
            Int(pointers.withUnsafeMutableBufferPointer { buffer in
                mpfr_sum(pointer, buffer.baseAddress, UInt(buffer.count), rounding.mpfr)
            })
        }
    }

    // MARK: - Queries

    public var isNaN: Bool { mpfr_nan_p(pointer) != 0 }
    public var isInfinite: Bool { mpfr_inf_p(pointer) != 0 }
    public var isZero: Bool { mpfr_zero_p(pointer) != 0 }
    /// Neither NaN nor ±∞.
    public var isFinite: Bool { mpfr_number_p(pointer) != 0 }
    /// The sign bit (also meaningful for ±0, ±∞ and NaN).
    public var signBit: Bool { mpfr_signbit(pointer) != 0 }
    /// −1, 0 or +1 (`mpfr_sgn`, via `mpfr_cmp_si_2exp` since `mpfr_sgn` is a macro); 0 for NaN.
    public var signum: Int {
        if isNaN { return 0 }
        return Int(mpfr_cmp_si_2exp(pointer, 0, 0)).signum()
    }

    /// MPFR's exponent `e` of a non-zero finite number: |x| ∈ [2^(e−1), 2^e).
    public var exponent: Int {
        precondition(isFinite && !isZero, "exponent of a zero or non-finite MPFR number")
        return Int(mpfr_get_exp(pointer))
    }

    /// Whether the value is an integer (`mpfr_integer_p`).
    public var isInteger: Bool { mpfr_integer_p(pointer) != 0 }

    // MARK: - Exact comparison

    /// Exact three-way comparison: −1, 0 or +1; `nil` when either side is NaN.
    public static func compare(_ a: MPFRNumber, _ b: MPFRNumber) -> Int? {
        if a.isNaN || b.isNaN { return nil }
        return Int(mpfr_cmp(a.pointer, b.pointer)).signum()
    }

    /// Exact comparison with a Double: −1, 0 or +1; `nil` when either side is NaN.
    public func compare(to x: Double) -> Int? {
        if isNaN || x.isNaN { return nil }
        return Int(mpfr_cmp_d(pointer, x)).signum()
    }

    /// Exact comparison of magnitudes: −1, 0 or +1; `nil` when either side is NaN.
    public static func compareMagnitudes(_ a: MPFRNumber, _ b: MPFRNumber) -> Int? {
        if a.isNaN || b.isNaN { return nil }
        return Int(mpfr_cmpabs(a.pointer, b.pointer)).signum()
    }

    // MARK: - Output

    /// The value rounded to a Double (`mpfr_get_d`): exact when the value is a Double.
    public func double(rounding: Rounding = .nearestEven) -> Double {
        mpfr_get_d(pointer, rounding.mpfr)
    }

    /// The value rounded to a Float (`mpfr_get_flt`).
    public func float(rounding: Rounding = .nearestEven) -> Float {
        mpfr_get_flt(pointer, rounding.mpfr)
    }

    /// The value as a Double if it is exactly one, else nil.
    public var exactDouble: Double? {
        let d = double(rounding: .nearestEven)
        if isNaN { return d }
        return compare(to: d) == 0 ? d : nil
    }

    /// The exact value in positional decimal: `448`, `-0.001953125`, `-0`, `inf`, `-inf`, `nan`.
    /// Every binary number has a finite decimal expansion; this prints all of it.
    public var exactDecimalString: String {
        if let special = specialString { return special }
        // |x| = M·2^(e−p) with an integer M < 2^p. When e ≥ p, |x| is an integer below 2^e: at
        // most ⌈e·log10 2⌉ significant digits. When e < p, |x|·10^k with k = p − e is the
        // integer M·5^k < 2^p·5^k: at most ⌈p·log10 2 + k·log10 5⌉ digits. mpfr_get_str with
        // that many digits is therefore exact (trailing zeros are trimmed).
        let p = precision, e = exponent
        let bound = e >= p
            ? (e * 30103) / 100000 + 3
            : (p * 30103 + (p - e) * 69898) / 100000 + 3
        let (digits, pointPosition) = mpfrDigits(base: 10, count: bound)
        var trimmed = Substring(digits)
        while trimmed.count > 1 && trimmed.last == "0" { trimmed = trimmed.dropLast() }
        return (signBit ? "-" : "") + Self.positional(digits: trimmed, pointPosition: pointPosition)
    }

    /// Decimal rounded to `significantDigits` significant digits (round to nearest), in
    /// scientific notation `d.ddde±x`.
    public func decimalString(significantDigits: Int) -> String {
        precondition(significantDigits >= 1, "need at least one digit")
        if let special = specialString { return special }
        let (digits, pointPosition) = mpfrDigits(base: 10, count: significantDigits)
        let mantissa = digits.count > 1
            ? "\(digits.first!).\(digits.dropFirst())" : String(digits)
        let e = pointPosition - 1
        return (signBit ? "-" : "") + mantissa + "e" + (e < 0 ? "-" : "+") + String(abs(e))
    }

    /// The exact value as a normalised hex-float: `0x1.cp+8`, `-0x1p-9`, `0x0p+0`, `-0x0p+0`,
    /// `inf`, `-inf`, `nan`. Unlike C's `%a` on a Double, subnormal Doubles are normalised too
    /// (`0x1p-1074`), so a value prints the same whatever format holds it.
    public var hexFloatString: String {
        if isZero { return signBit ? "-0x0p+0" : "0x0p+0" }
        if let special = specialString { return special }
        // Base-2 digits with precision digits are exact: x = 0.b1b2…bp · 2^e with b1 = 1.
        let (bits, e) = mpfrDigits(base: 2, count: precision)
        var fraction = Array(bits.utf8.dropFirst())
        while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        while fraction.count % 4 != 0 { fraction.append(UInt8(ascii: "0")) }
        var hex = ""
        var i = 0
        while i < fraction.count {
            var nibble = 0
            for j in 0..<4 { nibble = nibble << 1 | Int(fraction[i + j] - UInt8(ascii: "0")) }
            hex.append(String(nibble, radix: 16))
            i += 4
        }
        let binaryExponent = e - 1
        return (signBit ? "-" : "") + "0x1" + (hex.isEmpty ? "" : "." + hex)
            + "p" + (binaryExponent < 0 ? "-" : "+") + String(abs(binaryExponent))
    }

    /// Exact decimal (see `exactDecimalString`).
    public var description: String { exactDecimalString }

    // MARK: - Helpers

    private var specialString: String? {
        if isNaN { return "nan" }
        if isInfinite { return signBit ? "-inf" : "inf" }
        if isZero { return signBit ? "-0" : "0" }
        return nil
    }

    /// Digits of |x| from `mpfr_get_str` (rounded to nearest to `count` digits), and the
    /// position of the radix point: |x| ≈ 0.d1d2… · base^pointPosition. The MPFR-allocated
    /// string is freed with `mpfr_free_str`.
    private func mpfrDigits(base: Int32, count: Int) -> (String, Int) {
        var exp: mpfr_exp_t = 0
        guard let raw = mpfr_get_str(nil, &exp, base, count, pointer, MPFR_RNDN) else {
            preconditionFailure("mpfr_get_str failed")
        }
        defer { mpfr_free_str(raw) }
        var s = String(cString: raw)
        if s.hasPrefix("-") { s.removeFirst() }
        return (s, Int(exp))
    }

    /// `0.digits · 10^pointPosition` as a positional decimal string without exponent.
    private static func positional(digits: Substring, pointPosition: Int) -> String {
        let n = digits.count
        if pointPosition <= 0 {
            return "0." + String(repeating: "0", count: -pointPosition) + digits
        }
        if pointPosition >= n {
            return digits + String(repeating: "0", count: pointPosition - n)
        }
        let cut = digits.index(digits.startIndex, offsetBy: pointPosition)
        return digits[..<cut] + "." + digits[cut...]
    }
}

extension MPFRNumber: Equatable, Comparable {
    /// Exact equality (`mpfr_equal_p`): false when either side is NaN; +0 == −0.
    public static func == (a: MPFRNumber, b: MPFRNumber) -> Bool {
        mpfr_equal_p(a.pointer, b.pointer) != 0
    }

    /// Exact ordering (`mpfr_less_p`): false when either side is NaN.
    public static func < (a: MPFRNumber, b: MPFRNumber) -> Bool {
        mpfr_less_p(a.pointer, b.pointer) != 0
    }
}

/// Build options of the linked MPFR, for reports.
public enum MPFRLibrary {
    /// `mpfr_get_version()`, e.g. `4.2.0`.
    public static var version: String { String(cString: mpfr_get_version()) }
    /// Whether MPFR keeps its global state in thread-local storage (needed for parallel use).
    public static var isThreadSafe: Bool { mpfr_buildopt_tls_p() != 0 }

    /// Frees the calling thread's MPFR caches (`mpfr_free_cache`). Transcendental functions
    /// (`mpfr_pow`, `mpfr_exp`, `mpfr_log`) cache constants such as log 2 in thread-local
    /// storage; on a worker thread that later exits they would be lost (LeakSanitizer reports
    /// them). Call it when a thread is done with such functions.
    public static func freeThreadCaches() { mpfr_free_cache() }
}
