import Foundation
import Support
import Testing
@testable import Oracle

@Suite struct MPFRWrapper {
    @Test func libraryIsThreadSafe() {
        #expect(MPFRLibrary.isThreadSafe)
        #expect(!MPFRLibrary.version.isEmpty)
    }

    @Test func exactSetAndGet() {
        let x = MPFRNumber(exactly: 0.1)
        #expect(x.double() == 0.1)
        #expect(x.precision == 53)
        let f = MPFRNumber(exactly: Float(0.1))
        #expect(f.float() == Float(0.1))
        let p = MPFRNumber(significand: -3, exponent: -1074)
        #expect(p.double() == -3 * 0x1p-1074)
        // A precision too small to hold the value rounds, and the ternary value says how.
        let small = MPFRNumber(precision: 2)
        #expect(small.set(7, rounding: .nearestEven) > 0)   // 7 → 8
        #expect(small.double() == 8)
        #expect(small.set(7, rounding: .towardZero) < 0)    // 7 → 6
        #expect(small.double() == 6)
    }

    @Test func aliasingOperandsIsAllowed() {
        let x = MPFRNumber(exactly: 3.0, precision: 64)
        x.add(x, x, rounding: .nearestEven)
        #expect(x.double() == 6)
        x.multiply(x, x, rounding: .nearestEven)
        #expect(x.double() == 36)
        x.fusedMultiplyAdd(x, x, x, rounding: .nearestEven)
        #expect(x.double() == 36 * 36 + 36)
    }

    /// fma rounds once: (1 + 2^-30)(1 − 2^-30) − 1 = −2^-60 exactly, which two roundings to
    /// 53 bits lose.
    @Test func fusedMultiplyAddRoundsOnce() {
        let a = MPFRNumber(exactly: 1 + 0x1p-30), b = MPFRNumber(exactly: 1 - 0x1p-30)
        let c = MPFRNumber(exactly: -1.0)
        let r = MPFRNumber(precision: 53)
        #expect(r.fusedMultiplyAdd(a, b, c, rounding: .nearestEven) == 0)
        #expect(r.double() == -0x1p-60)
        r.multiply(a, b, rounding: .nearestEven)
        r.add(r, c, rounding: .nearestEven)
        #expect(r.double() == 0)
    }

    @Test func exactComparison() {
        let a = MPFRNumber(significand: 1, exponent: 0, precision: 200)
        let b = MPFRNumber(precision: 200)
        b.set(significand: 1, exponent: 0, rounding: .nearestEven)
        let tiny = MPFRNumber(significand: 1, exponent: -150, precision: 200)
        b.add(b, tiny, rounding: .nearestEven)       // 1 + 2^-150 exactly
        #expect(MPFRNumber.compare(a, b) == -1)
        #expect(a < b && a != b)
        #expect(b.compare(to: 1.0) == 1)              // a Double comparison would say equal
        let nan = MPFRNumber(precision: 10)
        #expect(MPFRNumber.compare(nan, a) == nil)
        #expect(!(nan == nan))
        let z = MPFRNumber(precision: 10); z.setZero(negative: true)
        let pz = MPFRNumber(precision: 10); pz.setZero()
        #expect(z == pz && z.signBit && !pz.signBit)
    }

    @Test func exactDecimalStrings() {
        #expect(MPFRNumber(exactly: 0.1).exactDecimalString
            == "0.1000000000000000055511151231257827021181583404541015625")
        #expect(MPFRNumber(exactly: 448.0).exactDecimalString == "448")
        #expect(MPFRNumber(exactly: -0x1p-9).exactDecimalString == "-0.001953125")
        #expect(MPFRNumber(exactly: 0x1p127).exactDecimalString == "170141183460469231731687303715884105728")
        #expect(MPFRNumber(exactly: -0.0).exactDecimalString == "-0")
        #expect(MPFRNumber(exactly: Double.infinity).exactDecimalString == "inf")
        // 2^-1074 has 751 significant digits; check length and both ends.
        let s = MPFRNumber(exactly: 0x1p-1074).exactDecimalString
        #expect(s.hasPrefix("0.000") && s.hasSuffix("625"))
        // 2^-1074 ≈ 4.94e-324: "0." then 323 zeros then 751 significant digits.
        #expect(s.count == 2 + 323 + 751)
        #expect(s.dropFirst(2 + 323).hasPrefix("494065645841246544"))
        // Round trip of the exact decimal through strtod.
        var g = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let d = Double(bitPattern: g.next() & ~(0x7FF << 52) | (UInt64.random(in: 1...2045, using: &g) << 52))
            #expect(Double(MPFRNumber(exactly: d).exactDecimalString) == d)
        }
    }

    @Test func scientificDecimal() {
        #expect(MPFRNumber(exactly: 448.0).decimalString(significantDigits: 3) == "4.48e+2")
        #expect(MPFRNumber(exactly: 0.1).decimalString(significantDigits: 5) == "1.0000e-1")
    }

    /// For normal Doubles the normalised hex-float agrees with C's `%a`.
    @Test func hexFloatMatchesPrintfForNormals() {
        #expect(MPFRNumber(exactly: 448.0).hexFloatString == "0x1.cp+8")
        #expect(MPFRNumber(exactly: -0x1p-9).hexFloatString == "-0x1p-9")
        #expect(MPFRNumber(exactly: 0x1p-1074).hexFloatString == "0x1p-1074")
        #expect(MPFRNumber(exactly: 0.0).hexFloatString == "0x0p+0")
        var g = SplitMix64(seed: 11)
        for _ in 0..<1000 {
            let bits = g.next() & ~(UInt64(0x7FF) << 52) | (UInt64.random(in: 1...2046, using: &g) << 52)
            let d = Double(bitPattern: bits)
            #expect(MPFRNumber(exactly: d).hexFloatString == String(format: "%a", d))
        }
    }

    /// Many short-lived numbers and strings, to run under a leak checker. valgrind 3.19 cannot
    /// run the swift-testing runner (it crashes in libdispatch's main-thread signal wait), so
    /// use LSan: `swift build --build-tests --sanitize=address --scratch-path .build-asan`, then
    /// `ASAN_OPTIONS=detect_leaks=1 .build-asan/debug/QuantCheckPackageTests.xctest
    /// --testing-library swift-testing --filter OracleTests`.
    @Test func churn() {
        var total = 0
        for i in 0..<2000 {
            let x = MPFRNumber(exactly: Double(i) * 0.37, precision: 80)
            let y = MPFRNumber(x, precision: 120)
            y.multiply(y, x, rounding: .nearestEven)
            total += y.exactDecimalString.count + y.hexFloatString.count
            total += y.decimalString(significantDigits: 8).count
            let s = MPFRNumber(precision: 300)
            s.setSum([x, y, x], rounding: .nearestEven)
            total += s.isFinite ? 1 : 0
        }
        #expect(total > 0)
    }
}

/// The shared hex-float spelling (`Support.HexFloat`) and the oracle's agree on every Double,
/// subnormals, zeros and specials included.
@Test func hexFloatSpellingsAgree() {
    var g = SplitMix64(seed: 12)
    var samples: [Double] = [0, -0, .infinity, -.infinity, .nan, 0x1p-1074, -0x1.8p-1070,
                             .leastNormalMagnitude, .greatestFiniteMagnitude, 448, -0x1p-9]
    for _ in 0..<2000 { samples.append(Double(bitPattern: g.next())) }
    for _ in 0..<500 { samples.append(Double(bitPattern: g.next() & 0x800F_FFFF_FFFF_FFFF)) }  // subnormals
    for d in samples {
        let oracle = d.isNaN ? "nan" : MPFRNumber(exactly: d).hexFloatString
        #expect(HexFloat.string(d) == oracle, "\(d.bitPattern)")
    }
}
