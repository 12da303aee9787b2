import Formats
@testable import Oracle

/// An independent, naive reference for finite rounding: search the exact value table for the
/// nearest (or directed) candidate among all finite values plus the first value beyond max
/// (the overflow representative), with ties to the even code. It shares nothing with
/// `MagnitudeGrid` but the exact values. Returns nil when the result is the overflow value.
struct NaiveRounder {
    let format: FloatFormat
    /// Non-negative finite magnitudes with their codes, ascending.
    let magnitudes: [(value: Double, code: UInt16)]
    /// The first grid value above max finite (max + its quantum).
    let overflowValue: Double

    init(format: FloatFormat) {
        self.format = format
        let table = ExactValueTable(format: format)
        var m: [(Double, UInt16)] = []
        for v in table.values where (v.codeClass == .normal || v.codeClass == .subnormal || v.codeClass == .zero) && !v.isNegative {
            m.append((v.double, v.code))
        }
        m.sort { $0.0 < $1.0 }
        magnitudes = m.map { (value: $0.0, code: $0.1) }
        let maxV = magnitudes.last!.value
        let quantum = Double(sign: .plus, exponent: maxV.exponent - format.mantissaBits, significand: 1)
        overflowValue = maxV + quantum
    }

    enum Result: Equatable { case code(UInt16), overflow, belowSmallest }

    /// Rounds |x| (positive, finite) by search. `away` = round magnitude up when inexact.
    func roundMagnitude(_ x: Double, rule: RoundingRule, negative: Bool) -> Result {
        if !format.hasZero && x < magnitudes.first!.value { return .belowSmallest }
        var cands = magnitudes.map { (value: $0.value, code: Int($0.code)) }
        cands.append((overflowValue, -1))
        // Index of largest candidate ≤ x.
        var i = 0
        while i + 1 < cands.count && cands[i + 1].value <= x { i += 1 }
        let lo = cands[i]
        if lo.value == x || i + 1 == cands.count { return lo.code < 0 ? .overflow : .code(UInt16(lo.code)) }
        let hi = cands[i + 1]
        let pick: (value: Double, code: Int)
        switch rule {
        case .toNearestOrEven:
            let mid = (lo.value + hi.value) / 2        // exact: both on a grid of ≤ 53 bits
            if x < mid { pick = lo } else if x > mid { pick = hi } else {
                // Tie: the even code. Adjacent grid values have consecutive codes (the overflow
                // value continues the sequence after max), so exactly one of them is even.
                pick = lo.code % 2 == 0 ? lo : hi
            }
        case .towardZero: pick = lo
        case .up: pick = negative ? lo : hi
        case .down: pick = negative ? hi : lo
        case .stochastic: fatalError()
        }
        return pick.code < 0 ? .overflow : .code(UInt16(pick.code))
    }
}
