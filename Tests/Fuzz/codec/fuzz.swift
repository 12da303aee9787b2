// libFuzzer target: the generic narrow-float codec (`NarrowFloatCodec`), scalar and bulk.
//
// Input layout (every byte string is a valid input; short ones are padded with zeros):
//   byte 0      format index (mod FloatFormat.all.count)
//   byte 1      rounding rule (mod 5), bit 3 overflow policy, bit 4 profile, bit 5 threads 2
//   byte 2      input kind: 0 Float32, 1 Float64, 2 Float16 bits, 3 BFloat16 bits, 4 codes
//   bytes 3–10  stochastic-rounding seed (little-endian)
//   rest        the payload: little-endian values of the chosen kind
//
// Properties checked for every element (a violation traps, which libFuzzer reports):
//   1. the bulk API (8-bit storage where the format fits, 16-bit always) equals the scalar API
//      element by element, stochastic rounding included (element i draws
//      SplitMix64.draw(seed:index:i));
//   2. every output is a valid code (< 2^bitWidth);
//   3. the decoded output is a neighbour of the input, from a reference model written here
//      from the definitions (not from the codec): for finite x within range, the decoded value
//      is the largest format value ≤ x or the smallest ≥ x, the one the rounding rule picks
//      (nearest with ties to the even code, toward zero, up, down; either for stochastic);
//      beyond max it is ±max, ±∞ or NaN as the overflow policy says; NaN, ±∞, zeros and
//      unsigned negatives follow the documented special-value rules;
//   4. Float16/BFloat16 inputs encode as their exact Float32 widening, and the two Float16
//      widenings in the package (codec, NPY) agree with the binary16 decode table;
//   5. bulk decode of arbitrary codes throws `.invalidCode` at exactly the first invalid code,
//      and otherwise equals the scalar decode.
// Nothing may trap except these checks: no format, rounding, overflow policy or profile may
// make the codec crash on any input.
import Formats
import Harness
import Quant

@inline(never)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("codec fuzz: " + message()) }
}

/// Sorted finite values of a format with their codes (the reference model's number line).
struct ValueLine {
    let values: [Double]  // ascending, distinct (−0 and +0 collapse to one 0)
    let codes: [UInt16]

    init(_ format: FloatFormat) {
        let codec = NarrowFloatCodec(format: format)
        var pairs: [(Double, UInt16)] = []
        for c in 0..<format.codeCount {
            let code = UInt16(c)
            let k = format.classify(code)
            if k == .nan || k == .infinity { continue }
            let v = codec.decodeDouble(code)
            if v == 0 && format.sign(of: code) { continue }  // keep +0 only
            pairs.append((v, code))
        }
        pairs.sort { $0.0 < $1.0 }
        values = pairs.map(\.0)
        codes = pairs.map(\.1)
    }

    /// Index of the largest value ≤ x (nil when x is below every value).
    func floorIndex(_ x: Double) -> Int? {
        var lo = 0, hi = values.count  // first index with value > x
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] <= x { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : lo - 1
    }
}

let lines: [String: ValueLine] = {
    var d: [String: ValueLine] = [:]
    for f in FloatFormat.all { d[f.name] = ValueLine(f) }
    return d
}()

/// Checks that `code` is an acceptable result of converting the exact value `x` (a Double: every
/// Float32/Float16/BFloat16 input widens exactly) under `codec`'s policy.
func checkNeighbour(_ x: Double, _ code: UInt16, _ codec: NarrowFloatCodec, label: String) {
    let f = codec.format
    let policy = codec.policy
    check(Int(code) < f.codeCount, "\(label): code \(code) out of range for \(f.name)")
    let d = codec.decodeDouble(code)
    let what = "\(label): \(f.name) \(policy) x=\(x) (0x\(String(x.bitPattern, radix: 16))) → code 0x\(String(code, radix: 16)) = \(d)"
    if x.isNaN {
        if f.nan != .none {
            check(d.isNaN, what + " (NaN must give NaN)")
        } else {
            check(d == 0, what + " (NaN in a NaN-free format gives a zero)")
            let negative = x.sign == .minus
            let wantNegativeZero = policy.profile.mlDtypesRelease != nil ? !negative : negative
            check((d.sign == .minus) == (wantNegativeZero && f.hasNegativeZero), what + " (sign of the NaN zero)")
        }
        return
    }
    let negative = x.sign == .minus
    if negative && !f.isSigned {
        check(d.isNaN, what + " (negative input to an unsigned format is NaN)")
        return
    }
    if x == 0 {
        if f.hasZero {
            check(d == 0, what + " (zero stays zero)")
            check((d.sign == .minus) == (negative && f.hasNegativeZero), what + " (sign of zero)")
        } else {
            check(d.isNaN, what + " (no zero in the format: NaN)")
        }
        return
    }
    if x.isInfinite {
        let saturate = (policy.overflow == .saturating && !f.rules(for: policy.profile).saturationKeepsInfinity)
            || (f.infinity == .none && f.nan == .none)
        if saturate {
            check(d == (negative ? -f.maxFinite : f.maxFinite), what + " (saturated ∞ is ±max)")
        } else if f.infinity == .ieee {
            check(d == x, what + " (∞ stays ∞)")
        } else {
            check(d.isNaN, what + " (∞ without infinities is NaN)")
        }
        return
    }
    // ml_dtypes rule 5: E8M0FNU reads its "subnormal target" result for positive Float32
    // subnormal inputs as a code — 0x01 above 2^−127, else 0x00 — in every rounding direction.
    if f.rules(for: policy.profile).smallValueRule == .aboveSmallestRoundsUp && !negative,
       let single = Float(exactly: x), single.isSubnormal {
        check(code == (single.bitPattern & 0x7F_FFFF > 0x40_0000 ? 1 : 0), what + " (ml_dtypes rule 5: E8M0 of a Float32 subnormal)")
        return
    }
    // Finite, non-zero.
    let line = lines[f.name]!
    if abs(x) > f.maxFinite {
        // Rounded first, then range-checked: anything past max becomes ±max, ±∞ or NaN.
        let maxSigned = negative ? -f.maxFinite : f.maxFinite
        let overflowed = d.isNaN || d == (negative ? -Double.infinity : .infinity)
        check(d == maxSigned || overflowed, what + " (beyond max: ±max, ±∞ or NaN)")
        if policy.overflow == .saturating || (f.infinity == .none && f.nan == .none) {
            check(d == maxSigned, what + " (saturating: ±max)")
        }
        if !policy.rounding.carriesOverflowAway(negative: negative) {
            check(d == maxSigned, what + " (directed rounding back toward zero: ±max)")
        }
        return
    }
    check(d.isFinite, what + " (in range: finite result)")
    let fi = line.floorIndex(x)
    let lo: Double? = fi.map { line.values[$0] }
    let hi: Double? = fi == nil ? line.values.first : (line.values[fi!] == x ? x : (fi! + 1 < line.values.count ? line.values[fi! + 1] : nil))
    if let lo, lo == x {
        check(d == x, what + " (exactly representable: unchanged)")
        return
    }
    // x strictly between lo and hi (hi exists since |x| ≤ max; lo may be missing for E8M0).
    guard let hi else { check(false, what + " (no value above x although |x| ≤ max)"); return }
    check(d == hi || d == lo, what + " (not a neighbour: lo=\(lo.map { "\($0)" } ?? "none") hi=\(hi))")
    if d == 0 {
        check((d.sign == .minus) == (negative && f.hasNegativeZero), what + " (a value rounding to zero keeps its sign where −0 exists)")
    }
    if lo == nil { return }  // E8M0 below 2^−127: the only candidate
    let up = d == hi
    let loCode = line.codes[fi!], hiCode = line.codes[fi! + 1]
    switch policy.rounding {
    case .toNearestOrEven:
        let mid = (lo! + hi) / 2  // exact: adjacent values of a ≤ 16-bit format, in binary64
        if x < mid { check(!up, what + " (RNE: below the midpoint rounds down)") }
        else if x > mid { check(up, what + " (RNE: above the midpoint rounds up)") }
        else {
            let tieUp: Bool
            // Ties on the significand (ml_dtypes) differ from the even code only without
            // mantissa bits, where every normal significand is 1: the tie goes up.
            if f.rules(for: policy.profile).tieBreak == .evenSignificand && f.mantissaBits == 0 {
                tieUp = true
            } else {
                // Ties to the even code. Values of one sign have monotone codes; compare the
                // magnitude codes (the one of 0 is 0).
                let mLo = loCode & f.magnitudeMask, mHi = hiCode & f.magnitudeMask
                check((mLo & 1 == 0) != (mHi & 1 == 0), what + " (neighbours with equal parity)")
                tieUp = mHi & 1 == 0
            }
            check(up == tieUp, what + " (RNE tie goes to the even code)")
        }
    case .towardZero: check(abs(d) < abs(x), what + " (RTZ: magnitude shrinks)")
    case .up: check(up, what + " (up)")
    case .down: check(!up, what + " (down)")
    case .stochastic: break  // either neighbour; frequencies are the stochastic suite's job
    }
}

/// The value the codec is defined to round: the input itself, except under the ml_dtypes
/// profile for formats where ml_dtypes goes through Float32 first (documented double rounding).
func referenceValue(_ x: Double, _ codec: NarrowFloatCodec) -> Double {
    if codec.format.rules(for: codec.policy.profile).roundsFloat64ThroughFloat32 {
        return Double(Float(x))
    }
    return x
}

struct Reader {
    let bytes: UnsafeRawBufferPointer
    func byte(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }
    func u64(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(byte(i + $1)) << (8 * UInt64($1)) } }
    func values<T: FixedWidthInteger>(from start: Int, as: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        guard bytes.count > start else { return [] }
        let n = (bytes.count - start) / size
        return (0..<n).map { i in
            var v: T = 0
            for b in 0..<size { v |= T(truncatingIfNeeded: bytes[start + i * size + b]) << (8 * b) }
            return v
        }
    }
}

let binary16Codec = NarrowFloatCodec(format: .binary16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let r = Reader(bytes: UnsafeRawBufferPointer(start: data, count: size))
    let format = FloatFormat.all[Int(r.byte(0)) % FloatFormat.all.count]
    let mode = r.byte(1)
    let rounding = RoundingRule.allCases[Int(mode & 7) % RoundingRule.allCases.count]
    let overflow: OverflowPolicy = mode & 8 != 0 ? .saturating : .nonSaturating
    let profile: CompatibilityProfile = mode & 16 == 0 ? .ocp : mode & 64 != 0 ? .mlDtypes0_6 : .mlDtypes0_7
    let threads = mode & 32 != 0 ? 2 : 1
    let kind = Int(r.byte(2)) % 5
    let seed = r.u64(3)
    let codec = NarrowFloatCodec(format: format, policy: ConversionPolicy(rounding: rounding, overflow: overflow, profile: profile))
    let narrow = format.bitWidth <= 8
    let label = "kind \(kind)"

    func draw(_ i: Int) -> UInt64 { SplitMix64.draw(seed: seed, index: UInt64(i)) }

    switch kind {
    case 0, 2, 3:
        let xs: [Float]
        switch kind {
        case 0: xs = r.values(from: 11, as: UInt32.self).map(Float.init(bitPattern:))
        case 2:
            let hs = r.values(from: 11, as: UInt16.self)
            for h in hs {
                let a = NarrowFloatCodec.float32Bits(fromFloat16Bits: h)
                let b = NPY.float(fromHalfBits: h).bitPattern
                let t = binary16Codec.decodeFloat(h).bitPattern
                // NaN payloads: the table holds a canonical NaN, so compare NaN-ness there.
                check(a == b, "Float16 0x\(String(h, radix: 16)): codec widening 0x\(String(a, radix: 16)) ≠ NPY 0x\(String(b, radix: 16))")
                let fa = Float(bitPattern: a)
                check(fa.isNaN ? Float(bitPattern: t).isNaN : a == t, "Float16 0x\(String(h, radix: 16)) widening ≠ binary16 decode table")
                check(codec.encode(float16Bits: h) == codec.encode(fa), "encode(float16Bits:) ≠ encode of the widening")
            }
            xs = hs.map { Float(bitPattern: NarrowFloatCodec.float32Bits(fromFloat16Bits: $0)) }
        default:
            let bs = r.values(from: 11, as: UInt16.self)
            for b in bs {
                let c = codec.encode(bfloat16Bits: b)
                if b & 0x7FFF > 0x7F80 && profile != .ocp && format == .binary16 {
                    // ml_dtypes rule 6: bfloat16 → float16 NaNs are canonical (Eigen), while a
                    // Float32 NaN keeps its payload (numpy); both are NaN codes.
                    check(c == format.codeForNaN(negative: b & 0x8000 != 0, profile: profile), "encode(bfloat16Bits:) of a NaN under ml_dtypes")
                } else {
                    check(c == codec.encode(Float(bitPattern: UInt32(b) << 16)), "encode(bfloat16Bits:) ≠ encode of the widening")
                }
            }
            xs = bs.map { Float(bitPattern: UInt32($0) << 16) }
        }
        let scalar: [UInt16] = xs.enumerated().map { i, x in
            rounding == .stochastic ? codec.encode(x, randomBits: draw(i)) : codec.encode(x)
        }
        for (i, x) in xs.enumerated() { checkNeighbour(Double(x), scalar[i], codec, label: label + " [\(i)]") }
        do {
            let wide = try codec.encodeWide(xs, seed: seed, threads: threads)
            check(wide == scalar, "bulk Float32 → UInt16 differs from scalar")
        } catch { check(false, "bulk Float32 → UInt16 threw \(error)") }
        do {
            let small = try codec.encode(xs, seed: seed, threads: threads)
            check(narrow, "bulk Float32 → UInt8 accepted a \(format.bitWidth)-bit format")
            check(small.map(UInt16.init) == scalar, "bulk Float32 → UInt8 differs from scalar")
        } catch let e {
            check(!narrow && e == .codeTypeTooNarrow(format: format.name, bits: format.bitWidth, codeTypeBits: 8),
                  "bulk Float32 → UInt8 threw \(e)")
        }
    case 1:
        let xs = r.values(from: 11, as: UInt64.self).map(Double.init(bitPattern:))
        var scalar: [UInt16] = []
        for (i, x) in xs.enumerated() {
            let c = rounding == .stochastic ? codec.encode(x, randomBits: draw(i)) : codec.encode(x)
            scalar.append(c)
            checkNeighbour(referenceValue(x, codec), c, codec, label: label + " [\(i)]")
        }
        xs.withUnsafeBufferPointer { input in
            var wide = [UInt16](repeating: 0xFFFF, count: xs.count)
            do {
                try wide.withUnsafeMutableBufferPointer { try codec.encode(input, into: $0, seed: seed, threads: threads) }
                check(wide == scalar, "bulk Float64 → UInt16 differs from scalar")
            } catch { check(false, "bulk Float64 → UInt16 threw \(error)") }
            var small = [UInt8](repeating: 0xFF, count: xs.count)
            do {
                try small.withUnsafeMutableBufferPointer { try codec.encode(input, into: $0, seed: seed, threads: threads) }
                check(narrow && small.map(UInt16.init) == scalar, "bulk Float64 → UInt8 differs from scalar")
            } catch let e {
                check(!narrow && e as? CodecError == .codeTypeTooNarrow(format: format.name, bits: format.bitWidth, codeTypeBits: 8),
                      "bulk Float64 → UInt8 threw \(e)")
            }
            // A length mismatch is a typed error, never a write past the buffer.
            if !xs.isEmpty {
                var short = [UInt16](repeating: 0, count: xs.count - 1)
                do {
                    try short.withUnsafeMutableBufferPointer { try codec.encode(input, into: $0, seed: seed, threads: threads) }
                    check(false, "length mismatch accepted")
                } catch let e { check(e as? CodecError == .lengthMismatch(input: xs.count, output: xs.count - 1), "length mismatch: \(e)") }
            }
        }
    default:
        // Arbitrary codes: bulk decode validates them.
        let codes8 = Array(r.bytes.dropFirst(11))
        let codes16 = r.values(from: 11, as: UInt16.self)
        func firstInvalid<C: BinaryInteger>(_ cs: [C]) -> Int? { cs.firstIndex { Int($0) >= format.codeCount } }
        do {
            let out = try codec.decode(codes16, threads: threads)
            check(firstInvalid(codes16) == nil, "decode accepted an invalid 16-bit code")
            for (c, v) in zip(codes16, out) {
                let s = codec.decodeFloat(c)
                check(v.bitPattern == s.bitPattern, "bulk decode ≠ scalar decode for code \(c)")
            }
        } catch let e {
            let i = firstInvalid(codes16)
            check(i != nil && e == .invalidCode(index: i!, code: codes16[i!], format: format.name), "decode16 threw \(e)")
        }
        do {
            let out = try codec.decode(codes8, threads: threads)
            check(narrow && firstInvalid(codes8) == nil, "decode accepted invalid 8-bit codes")
            for (c, v) in zip(codes8, out) { check(v.bitPattern == codec.decodeFloat(UInt16(c)).bitPattern, "bulk decode8 ≠ scalar") }
        } catch let e {
            if !narrow {
                check(e == .codeTypeTooNarrow(format: format.name, bits: format.bitWidth, codeTypeBits: 8), "decode8 threw \(e)")
            } else {
                let i = firstInvalid(codes8)
                check(i != nil && e == .invalidCode(index: i!, code: UInt16(codes8[i!]), format: format.name), "decode8 threw \(e)")
            }
        }
    }
    return 0
}
