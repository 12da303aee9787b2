import Formats

/// Round-to-nearest-even with saturation of an exact quotient p/d (d > 0) to a format without
/// infinities, by exact comparisons instead of a division: p/d is rounded to the format value v
/// with d·v the nearest to |p|, ties (|p| = d·(v + v')/2) to the even code, and anything above
/// the largest finite value to it.
///
/// Exactness: every product d·v and d·(v + v')/2 with v, v' format values and d a narrow-float
/// value (a few significant bits each) is exact in binary64, so every comparison is exact.
public struct RationalRounding: Sendable {
    public let format: FloatFormat
    /// Non-negative finite values ascending, with their codes (from the descriptor).
    public let ladder: [(value: Double, code: UInt16)]

    public init(format: FloatFormat) {
        self.format = format
        var l: [(Double, UInt16)] = []
        for c in 0..<format.codeCount {
            let code = UInt16(c)
            if let v = format.finiteValue(of: code), !v.negative { l.append((FloatFormat.double(v), code)) }
        }
        ladder = l.sorted { $0.0 < $1.0 }
    }

    /// The code of RN_sat(p / d), d > 0; the sign of p is the sign of the code.
    public func code(numerator p: Double, denominator d: Double) -> UInt16 {
        let a = abs(p)
        var i = 0
        while i + 1 < ladder.count && d * ladder[i + 1].value <= a { i += 1 }
        var pick = ladder[i]
        if i + 1 < ladder.count {
            let mid = d * ((ladder[i].value + ladder[i + 1].value) / 2)
            if a > mid || (a == mid && ladder[i].code & 1 == 1) { pick = ladder[i + 1] }
        }
        return (p.sign == .minus ? format.signMask : 0) | pick.code
    }
}
