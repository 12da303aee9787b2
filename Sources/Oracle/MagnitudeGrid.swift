import CMPFR
import Formats

/// The magnitudes a binary format can round to, with the exponent unbounded above so that a
/// value beyond the format's range is rounded first and range-checked afterwards (OCP OFP8
/// rev 1.0 §5.2.1).
///
/// With `M` mantissa bits, a positive x with 2^E ≤ x < 2^(E+1) lies on the grid of quantum
///
///     2^q,  q = max(E, minNormalExponent) − M     (formats with a zero: below the normal
///                                                   range the quantum stays fixed, giving
///                                                   the subnormals, or just 0 when M = 0)
///     2^q,  q = E − M                             (formats without zero, E ≥ minNormal)
///
/// so its neighbours are n·2^q and (n+1)·2^q with n = ⌊x / 2^q⌋ < 2^(M+1). Grid points are
/// written `significand · 2^quantumExponent`.
struct MagnitudeGrid: Sendable, Hashable {
    let mantissaBits: Int
    /// The smallest normal magnitude is 2^minNormalExponent.
    let minNormalExponent: Int
    /// Whether the grid continues below the normal range with fixed quantum down to zero
    /// (`FloatFormat.hasZero`).
    let hasZero: Bool
    /// Exponent bias, used only to number grid points like codes (tie-to-even-code parity).
    let bias: Int

    init(format: FloatFormat) {
        mantissaBits = format.mantissaBits
        minNormalExponent = format.minNormalExponent
        hasZero = format.hasZero
        bias = format.bias
    }

    init(mantissaBits: Int, minNormalExponent: Int, hasZero: Bool, bias: Int) {
        self.mantissaBits = mantissaBits
        self.minNormalExponent = minNormalExponent
        self.hasZero = hasZero
        self.bias = bias
    }

    /// IEEE 754 binary32: 23 fraction bits, min normal 2^−126, subnormals, bias = emax = 127
    /// (§3.3) — the parameters of Swift's `Float`, which is binary32.
    static let binary32 = MagnitudeGrid(
        mantissaBits: Float.significandBitCount, minNormalExponent: Int(Float.leastNormalMagnitude.exponent),
        hasZero: true, bias: Int(Float.greatestFiniteMagnitude.exponent))

    /// A grid point `significand · 2^quantumExponent`, normalised so that a normal point has
    /// 2^M ≤ significand < 2^(M+1).
    struct Point: Sendable, Hashable {
        var significand: Int
        var quantumExponent: Int

        var double: Double {
            Double(sign: .plus, exponent: quantumExponent, significand: Double(significand))
        }
    }

    /// Moves the carry of a round-up out of the top of a binade: (2^(M+1)) · 2^q = 2^M · 2^(q+1).
    func normalised(_ p: Point) -> Point {
        if p.significand == 1 << (mantissaBits + 1) {
            return Point(significand: 1 << mantissaBits, quantumExponent: p.quantumExponent + 1)
        }
        return p
    }

    /// The code a grid point would have in a format with this grid and an unbounded exponent
    /// field: `(e << M) | m` with e = q + M + bias for normal points, `n` for subnormal points.
    /// Its lowest bit is the lowest mantissa bit (or, for M = 0, the lowest exponent bit), which
    /// is what "ties to the even code" compares.
    func extendedCode(_ p: Point) -> Int {
        let M = mantissaBits
        if p.significand < 1 << M { return p.significand }   // zero or subnormal
        return ((p.quantumExponent + M + bias) << M) | (p.significand - (1 << M))
    }

    /// How a magnitude is rounded.
    enum Direction: Sendable, Hashable {
        case nearest(TieBreak)
        case towardZero
        case awayFromZero
    }

    /// How `nearest` breaks an exact tie between two grid points.
    enum TieBreak: Sendable, Hashable {
        /// The grid point whose (extended) code is even: IEEE 754 roundTiesToEven.
        case evenCode
        /// The grid point whose integer significand (implicit bit included) is even. The same
        /// as `evenCode` for M ≥ 1; for M = 0 every normal significand is 1, so ties go up.
        case evenSignificand
    }

    /// The result of rounding one positive magnitude onto the grid.
    struct Rounded: Sendable, Hashable {
        var lower: Point
        /// `lower` plus one quantum (normalised).
        var upper: Point
        var chosen: Point
        var isExact: Bool
        var isTie: Bool
    }

    /// Rounds the positive finite magnitude `x` (any MPFR number) onto the grid: the neighbours
    /// and the midpoint are built exactly in MPFR and compared with `x` exactly. Returns nil
    /// for a grid without zero when x < 2^minNormalExponent (there is no lower neighbour).
    func round(_ x: MPFRNumber, _ direction: Direction, scratch: GridScratch) -> Rounded? {
        precondition(x.isFinite && x.signum > 0, "grid rounding takes a positive finite magnitude")
        let M = mantissaBits
        let E = x.exponent - 1                              // 2^E ≤ x < 2^(E+1)
        if !hasZero && E < minNormalExponent { return nil }
        let q = (hasZero ? max(E, minNormalExponent) : E) - M

        // n = ⌊x / 2^q⌋: the scaling by 2^−q is exact, the floor is one directed rounding.
        scratch.scaled.resetPrecision(max(x.precision, 2))
        let exactScale = scratch.scaled.multiply(x, byPowerOfTwo: -q, rounding: .nearestEven)
        precondition(exactScale == 0, "exponent scaling must be exact")
        let n = mpfr_get_si(scratch.scaled.pointer, MPFR_RNDD)
        precondition(n >= 0 && n < 1 << (M + 1), "neighbour significand out of range")

        // lower = n·2^q, midpoint = (2n+1)·2^(q−1), both exact with 64-bit precision.
        scratch.lower.set(significand: n, exponent: q, rounding: .nearestEven)
        scratch.midpoint.set(significand: 2 * n + 1, exponent: q - 1, rounding: .nearestEven)
        let vsLower = MPFRNumber.compare(x, scratch.lower)!
        precondition(vsLower >= 0, "x below its lower neighbour")
        let vsMid = MPFRNumber.compare(x, scratch.midpoint)!

        let lower = Point(significand: n, quantumExponent: q)
        let upper = normalised(Point(significand: n + 1, quantumExponent: q))
        let isExact = vsLower == 0
        let isTie = vsMid == 0
        var takeUpper: Bool
        if isExact {
            takeUpper = false
        } else {
            switch direction {
            case .towardZero: takeUpper = false
            case .awayFromZero: takeUpper = true
            case .nearest(let tie):
                if vsMid != 0 {
                    takeUpper = vsMid > 0
                } else {
                    switch tie {
                    case .evenSignificand: takeUpper = lower.significand & 1 != 0
                    case .evenCode: takeUpper = extendedCode(lower) & 1 != 0
                    }
                }
            }
        }
        let chosen = takeUpper ? upper : normalised(lower)
        return Rounded(lower: normalised(lower), upper: upper, chosen: chosen, isExact: isExact, isTie: isTie)
    }
}

/// MPFR temporaries for `MagnitudeGrid.round`, reused across calls (one per thread).
final class GridScratch {
    let input = MPFRNumber(precision: 64)
    let scaled = MPFRNumber(precision: 64)
    let lower = MPFRNumber(precision: 64)
    let midpoint = MPFRNumber(precision: 64)
    let result = MPFRNumber(precision: 64)
    init() {}
}
