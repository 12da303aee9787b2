import Dispatch
import Formats

/// The code of every Float32 input under one (format, policy), as maximal runs of bit patterns.
///
/// Bit patterns are ordered as unsigned integers: `0x00000000…0x7FFFFFFF` are +0, the positive
/// subnormals and normals by increasing magnitude, +∞ (`0x7F800000`) and the positive NaNs;
/// `0x80000000…0xFFFFFFFF` the same for the negative sign. The intervals are sorted, disjoint,
/// cover all 2^32 patterns exactly once (`validatePartition()`), and adjacent intervals have
/// different codes.
///
/// Derivation (no input is rounded one by one): rounding is monotone in the magnitude, so the
/// code can only change at a *threshold* between two neighbouring grid values a < b of the
/// format (unbounded exponent, plus the first value beyond max): the midpoint (a+b)/2 for
/// round-to-nearest, b when the magnitude is rounded toward zero, a when away from zero. Every
/// threshold of every format here is exactly a Float32 (they need at most 12 significant bits
/// and lie in the Float32 range, or beyond it: then no finite input reaches them). For each
/// threshold t with first pattern P(t) = min{p : value(p) ≥ t}, a run can start at P(t) or
/// P(t)+1; so can the grid values themselves (profile adjustments act there), and the
/// patterns +0, the smallest subnormal, +∞ and the first NaN. The
/// code of each candidate run is the direct MPFR rounding (`RoundingOracle`) of its first
/// pattern, and checked at its last pattern; equal neighbours are merged.
public struct RoundingIntervalTable: Sendable, Hashable {
    /// Patterns `lo...hi` (inclusive) all map to `code`.
    public struct Interval: Sendable, Hashable {
        public let lo: UInt32
        public let hi: UInt32
        public let code: UInt16

        public init(lo: UInt32, hi: UInt32, code: UInt16) {
            self.lo = lo
            self.hi = hi
            self.code = code
        }

        /// Number of patterns, `hi − lo + 1` (up to 2^32).
        public var count: UInt64 { UInt64(hi) - UInt64(lo) + 1 }
    }

    public let format: FloatFormat
    public let policy: ConversionPolicy
    /// Sorted by `lo`; a partition of `0...UInt32.max`.
    public let intervals: [Interval]

    /// Builds the table from thresholds and the direct oracle (see the type's documentation).
    /// Throws `OracleError.unsupportedRounding` for `.stochastic`.
    public init(format: FloatFormat, policy: ConversionPolicy = ConversionPolicy()) throws(OracleError) {
        let oracle = try RoundingOracle(format: format, policy: policy)
        self.format = format
        self.policy = policy
        let grid = Self.gridMagnitudes(format: format, maxFinite: oracle.maxFinite)

        // The two sign halves are independent: build them on both cores.
        var halves: [[Interval]] = [[], []]
        let lock = DispatchQueue(label: "RoundingIntervalTable.halves")
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            let negative = half == 1
            let runs = Self.buildHalf(oracle: oracle, grid: grid, negative: negative)
            lock.sync { halves[half] = runs }
        }
        intervals = Self.merged(halves[0] + halves[1])
    }

    /// Memberwise, for tables read back from TSV (validated there).
    init(format: FloatFormat, policy: ConversionPolicy, intervals: [Interval]) {
        self.format = format
        self.policy = policy
        self.intervals = intervals
    }

    // MARK: - Lookup

    /// The code of one Float32 input pattern (binary search, O(log intervals)).
    public func code(forFloat32Bits bits: UInt32) -> UInt16 {
        var lo = 0, hi = intervals.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if intervals[mid].lo <= bits { lo = mid } else { hi = mid - 1 }
        }
        return intervals[lo].code
    }

    public func code(forFloat32 x: Float) -> UInt16 { code(forFloat32Bits: x.bitPattern) }

    /// The interval containing `bits`.
    public func interval(containing bits: UInt32) -> Interval {
        var lo = 0, hi = intervals.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if intervals[mid].lo <= bits { lo = mid } else { hi = mid - 1 }
        }
        return intervals[lo]
    }

    // MARK: - Partition check

    /// Throws `OracleError.notAPartition` unless the intervals are non-empty, sorted,
    /// contiguous, start at 0x00000000, end at 0xFFFFFFFF, have `lo ≤ hi`, codes inside the
    /// format, and pattern counts summing to exactly 2^32.
    public func validatePartition() throws(OracleError) {
        guard let first = intervals.first, let last = intervals.last else { throw .notAPartition("no intervals") }
        guard first.lo == 0 else { throw .notAPartition("first interval starts at \(Self.hex32(first.lo))") }
        guard last.hi == UInt32.max else { throw .notAPartition("last interval ends at \(Self.hex32(last.hi))") }
        var total: UInt64 = 0
        for (i, r) in intervals.enumerated() {
            guard r.lo <= r.hi else { throw .notAPartition("interval \(i) is empty: \(Self.hex32(r.lo))…\(Self.hex32(r.hi))") }
            guard Int(r.code) < format.codeCount else { throw .notAPartition("interval \(i) has code \(r.code) outside \(format.name)") }
            if i > 0 {
                let prev = intervals[i - 1]
                guard prev.hi < UInt32.max, r.lo == prev.hi + 1 else {
                    throw .notAPartition("interval \(i) starts at \(Self.hex32(r.lo)) after \(Self.hex32(prev.hi))")
                }
            }
            total += r.count
        }
        guard total == 1 << 32 else { throw .notAPartition("counts sum to \(total), not 2^32") }
    }

    // MARK: - TSV (Golden/rounding/<format>-<mode>.tsv)

    /// File name for the golden table: `e4m3fn-rne-nonsat.tsv`, `e4m3fn-rne-sat-ml_dtypes.tsv`.
    public var goldenFileName: String {
        var s = "\(format.name)-\(policy.rounding.rawValue)-\(policy.overflow.rawValue)"
        if policy.profile != .ocp { s += "-\(policy.profile.rawValue)" }
        return s + ".tsv"
    }

    /// One comment line naming the table, a header row, then one row per interval:
    ///
    ///     lo	hi	code	value
    ///     0x00000000	0x3a800000	0x00	0
    ///
    /// `value` is the exact decimal value of the code (`nan`/`-nan`, `inf`/`-inf` for those).
    public func tsv() -> String {
        var out = Self.headerComment(format: format, policy: policy) + "\n" + Self.columns + "\n"
        var cache: [UInt16: String] = [:]
        for r in intervals {
            let value: String
            if let v = cache[r.code] { value = v } else {
                value = ExactValueTable.value(of: r.code, in: format).exactDecimal
                cache[r.code] = value
            }
            out += Self.hex32(r.lo) + "\t" + Self.hex32(r.hi) + "\t" + ExactValueTable.hex(code: r.code, in: format)
                + "\t" + value + "\n"
        }
        return out
    }

    /// Reads a table written by `tsv()` for the given format and policy. Checks the header,
    /// every field, the value column against the code's exact value, that adjacent intervals
    /// differ, and the partition. Throws `OracleError.malformedTable` / `.notAPartition`.
    public init(parsing text: String, format: FloatFormat, policy: ConversionPolicy) throws(OracleError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let expectedComment = Self.headerComment(format: format, policy: policy)
        guard lines.count >= 2 else { throw .malformedTable(line: 1, reason: "missing header") }
        guard lines[0] == expectedComment else {
            throw .malformedTable(line: 1, reason: "expected '\(expectedComment)'")
        }
        guard lines[1] == Self.columns else { throw .malformedTable(line: 2, reason: "expected column header '\(Self.columns)'") }
        var rows: [Interval] = []
        var cache: [UInt16: String] = [:]
        for (i, line) in lines.enumerated().dropFirst(2) {
            let lineNumber = i + 1
            if line.isEmpty {
                guard i == lines.count - 1 else { throw .malformedTable(line: lineNumber, reason: "empty line") }
                continue
            }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 4 else { throw .malformedTable(line: lineNumber, reason: "expected 4 tab-separated fields") }
            guard let lo = Self.parseHex(fields[0], maxDigits: 8).flatMap(UInt32.init(exactly:)),
                  let hi = Self.parseHex(fields[1], maxDigits: 8).flatMap(UInt32.init(exactly:)) else {
                throw .malformedTable(line: lineNumber, reason: "bad pattern '\(fields[0])' or '\(fields[1])'")
            }
            guard let c = Self.parseHex(fields[2], maxDigits: 4), c < UInt64(format.codeCount) else {
                throw .malformedTable(line: lineNumber, reason: "bad \(format.name) code '\(fields[2])'")
            }
            let code = UInt16(c)
            let value: String
            if let v = cache[code] { value = v } else {
                value = ExactValueTable.value(of: code, in: format).exactDecimal
                cache[code] = value
            }
            guard fields[3] == value else {
                throw .malformedTable(line: lineNumber, reason: "value '\(fields[3])' is not the value \(value) of code \(fields[2])")
            }
            if let prev = rows.last, prev.code == code {
                throw .malformedTable(line: lineNumber, reason: "same code as the previous interval (runs must be maximal)")
            }
            rows.append(Interval(lo: lo, hi: hi, code: code))
        }
        self.init(format: format, policy: policy, intervals: rows)
        try validatePartition()
    }

    // MARK: - Construction details

    static let columns = "lo\thi\tcode\tvalue"

    static func headerComment(format: FloatFormat, policy: ConversionPolicy) -> String {
        "# QuantCheck rounding intervals: float32 bit patterns -> \(format.name) codes, policy \(policy)"
    }

    static func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    static func parseHex(_ s: Substring, maxDigits: Int) -> UInt64? {
        guard s.hasPrefix("0x") else { return nil }
        let digits = s.dropFirst(2)
        guard !digits.isEmpty, digits.count <= maxDigits,
              digits.allSatisfy({ $0.isHexDigit && ($0.isNumber || $0.isLowercase) }) else { return nil }
        return UInt64(digits, radix: 16)
    }

    /// Non-negative grid magnitudes in increasing order: zero (if the format has it), every
    /// positive finite value, and the first grid value beyond max finite (max + its quantum).
    static func gridMagnitudes(format: FloatFormat, maxFinite: Double) -> [Double] {
        var values: [Double] = []
        let scratch = MPFRNumber(precision: 64)
        for c in 0..<format.codeCount {
            let v = ExactValueTable.value(of: UInt16(c), in: format, scratch: scratch)
            let finite = v.codeClass == .zero || v.codeClass == .subnormal || v.codeClass == .normal
            if finite && !v.isNegative { values.append(v.double) }
        }
        values = Array(Set(values)).sorted()
        let quantum = Double(sign: .plus, exponent: maxFinite.exponent - format.mantissaBits, significand: 1)
        values.append(maxFinite + quantum)
        return values
    }

    /// First pattern (within the positive half) whose value is ≥ t; `0x7F800000` (+∞) when no
    /// finite Float32 reaches t. `t` is a non-negative Double.
    static func firstPattern(atLeast t: Double) -> UInt32 {
        if t > Double(Float.greatestFiniteMagnitude) { return 0x7F80_0000 }
        var f = Float(t)                                   // correctly rounded to nearest
        if Double(f) < t { f = f.nextUp }                  // exact comparison in Double
        return f.bitPattern
    }

    static func buildHalf(oracle: RoundingOracle, grid: [Double], negative: Bool) -> [Interval] {
        enum Threshold { case midpoint, upper, lower }
        let which: Threshold
        switch oracle.policy.rounding {
        case .toNearestOrEven, .stochastic: which = .midpoint
        case .towardZero: which = .upper
        case .up: which = negative ? .upper : .lower
        case .down: which = negative ? .lower : .upper
        }
        var starts: [UInt32] = [0, 1, 0x7F80_0000, 0x7F80_0001]
        starts.reserveCapacity(2 * grid.count + 4)
        for (a, b) in zip(grid, grid.dropFirst()) {
            let t: Double
            switch which {
            case .midpoint: t = (a + b) / 2                 // exact: a and b have ≤ 12 significant bits
            case .upper: t = b
            case .lower: t = a
            }
            for threshold in [t, a] {
                // The grid value a is a candidate under every rule: profile adjustments (E8M0
                // small values under `.mlDtypes0_6`) may change the code there.
                let p = firstPattern(atLeast: threshold)
                if p < 0x7F80_0000 { starts.append(p); starts.append(p + 1) }
            }
        }
        starts = Array(Set(starts)).sorted()

        let signBit: UInt32 = negative ? 0x8000_0000 : 0
        let scratch = GridScratch()
        var runs: [Interval] = []
        runs.reserveCapacity(starts.count)
        for (i, start) in starts.enumerated() {
            let end: UInt32 = i + 1 < starts.count ? starts[i + 1] - 1 : 0x7FFF_FFFF
            let lo = start | signBit, hi = end | signBit
            let code = oracle.trace(.float32(bits: lo), scratch: scratch).code
            if hi != lo {
                let codeAtEnd = oracle.trace(.float32(bits: hi), scratch: scratch).code
                precondition(codeAtEnd == code,
                             "\(oracle.format.name) \(oracle.policy): run \(hex32(lo))…\(hex32(hi)) is not constant")
            }
            runs.append(Interval(lo: lo, hi: hi, code: code))
        }
        return runs
    }

    static func merged(_ runs: [Interval]) -> [Interval] {
        var out: [Interval] = []
        out.reserveCapacity(runs.count)
        for r in runs {
            if let last = out.last, last.code == r.code, last.hi &+ 1 == r.lo {
                out[out.count - 1] = Interval(lo: last.lo, hi: r.hi, code: r.code)
            } else {
                out.append(r)
            }
        }
        return out
    }
}
