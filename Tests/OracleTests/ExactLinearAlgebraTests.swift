import Testing
import Formats
@testable import Oracle

/// Reference: every product exactly in MPFR (24+24 or 53+53 bits), then `mpfr_sum` at a
/// precision large enough to be exact, and `mpfr_sum` rounded to 53 bits.
private func mpfrReference(_ a: [Double], _ b: [Double], productPrecision: Int) -> (exact: MPFRNumber, rounded: Double) {
    var products: [MPFRNumber] = []
    for i in a.indices {
        let p = MPFRNumber(precision: productPrecision)
        let t = p.multiply(MPFRNumber(exactly: a[i]), MPFRNumber(exactly: b[i]), rounding: .nearestEven)
        precondition(t == 0)
        products.append(p)
    }
    let exact = MPFRNumber(precision: 5000)
    #expect(exact.setSum(products, rounding: .nearestEven) == 0)
    let r = MPFRNumber(precision: 53)
    r.setSum(products, rounding: .nearestEven)
    return (exact, r.double())
}

private func randomFloat(_ g: inout SplitMix64, exponents: ClosedRange<Int>) -> Float {
    let e = Int.random(in: exponents, using: &g)
    let sig = 1 + Float(g.next() % (1 << 23)) / Float(1 << 23)
    let x = Float(sign: g.next() % 2 == 0 ? .plus : .minus, exponent: e, significand: sig)
    return x
}

@Suite struct ExactAccumulation {
    @Test func float32AgainstMPFRSum() {
        var g = SplitMix64(seed: 100)
        for trial in 0..<300 {
            let n = Int.random(in: 1...64, using: &g)
            var a: [Float] = [], b: [Float] = []
            for _ in 0..<n {
                switch trial % 3 {
                case 0:   // ordinary magnitudes
                    a.append(randomFloat(&g, exponents: -20...20)); b.append(randomFloat(&g, exponents: -20...20))
                case 1:   // extreme exponents: subnormals and near max
                    a.append(g.next() % 2 == 0 ? Float(bitPattern: UInt32(g.next() % 0x80_0000) | (UInt32(g.next() % 2) << 31))
                                               : randomFloat(&g, exponents: 100...127))
                    b.append(g.next() % 2 == 0 ? Float(bitPattern: UInt32(g.next() % 0x80_0000))
                                               : randomFloat(&g, exponents: 100...127))
                default:  // anything finite
                    var x: Float
                    repeat { x = Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) } while !x.isFinite
                    a.append(x)
                    repeat { x = Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) } while !x.isFinite
                    b.append(x)
                }
            }
            let s = try! ExactLinearAlgebra.dot(a, b)
            let ref = mpfrReference(a.map(Double.init), b.map(Double.init), productPrecision: 48)
            #expect(s.exact() == ref.exact, "trial \(trial)")
            #expect(s.rounded.bitPattern == ref.rounded.bitPattern || (s.isZero && ref.rounded == 0), "trial \(trial)")
        }
    }

    /// Large terms that cancel exactly, leaving a tiny remainder: Double summation loses it.
    @Test func cancellationHeavy() {
        var g = SplitMix64(seed: 101)
        for _ in 0..<200 {
            var a: [Float] = [], b: [Float] = []
            for _ in 0..<20 {
                let x = randomFloat(&g, exponents: 60...120), y = randomFloat(&g, exponents: -10...5)
                a += [x, -x]; b += [y, y]
            }
            let tiny = randomFloat(&g, exponents: -149 ... -100)
            a.append(tiny); b.append(1)
            var idx = Array(a.indices); idx.shuffle(using: &g)
            let aa = idx.map { a[$0] }, bb = idx.map { b[$0] }
            let s = try! ExactLinearAlgebra.dot(aa, bb)
            #expect(s.rounded == Double(tiny))
            #expect(s.exact() == mpfrReference(aa.map(Double.init), bb.map(Double.init), productPrecision: 48).exact)
        }
    }

    @Test func extremesAndSigns() throws {
        let m = Float.greatestFiniteMagnitude, d = Float.leastNonzeroMagnitude
        let s = try ExactLinearAlgebra.dot([m, d, -d], [m, d, d])
        #expect(s.exact() == mpfrReference([Double(m), Double(d), Double(-d)], [Double(m), Double(d), Double(d)], productPrecision: 48).exact)
        #expect(s.rounded == Double(m) * Double(m))
        let tinySum = try ExactLinearAlgebra.dot([d, d], [d, -0.5 * 0x1p-148])  // 2^-298 − 2^-298 = 0
        #expect(tinySum.isZero && tinySum.rounded == 0)
        let neg = try ExactLinearAlgebra.dot([-3], [0.5])
        #expect(neg.rounded == -1.5 && neg.isNegative)
        // A sum of many maximal products stays exact (lanes are normalised on the way).
        var acc = Float32ProductAccumulator()
        for _ in 0..<40_000 { acc.add(m, times: m) }
        #expect(acc.sum.exact() == { let x = MPFRNumber(precision: 300); x.set(Double(m), rounding: .nearestEven); x.multiply(x, x, rounding: .nearestEven); x.multiply(x, MPFRNumber(exactly: 40_000), rounding: .nearestEven); return x }())
    }

    @Test func nonFiniteTerms() throws {
        #expect(try ExactLinearAlgebra.dot([Float.infinity, 1], [0, 1]).kind == .nan)
        #expect(try ExactLinearAlgebra.dot([Float.infinity, -.infinity], [1, 1]).kind == .nan)
        #expect(try ExactLinearAlgebra.dot([Float.infinity, 5], [-2, 1]).kind == .negativeInfinity)
        #expect(try ExactLinearAlgebra.dot([Float.nan], [1]).rounded.isNaN)
        #expect(try ExactLinearAlgebra.dot([Double.infinity, 1e300], [2, 1e300]).rounded == .infinity)
        #expect(throws: OracleError.self) { try ExactLinearAlgebra.dot([Float(1), 2], [1]) }
    }

    @Test func float64AgainstMPFRSum() {
        var g = SplitMix64(seed: 102)
        for trial in 0..<200 {
            let n = Int.random(in: 1...40, using: &g)
            var a: [Double] = [], b: [Double] = []
            for _ in 0..<n {
                var x: Double
                repeat { x = Double(bitPattern: g.next()) } while !x.isFinite
                var y: Double
                if trial % 2 == 0 {
                    y = Double(sign: .plus, exponent: Int.random(in: -40...40, using: &g), significand: 1 + Double(g.next() % (1 << 52)) / 0x1p52)
                    x = Double(sign: x.sign, exponent: Int.random(in: -40...40, using: &g), significand: 1.5)
                } else {
                    repeat { y = Double(bitPattern: g.next()) } while !y.isFinite
                }
                a.append(x); b.append(y)
            }
            if trial % 4 == 1 { a += a.map { -$0 }; b += b; a.append(0x1p-1074); b.append(0x1p-1074) }   // cancels to 2^-2148
            let s = try! ExactLinearAlgebra.dot(a, b)
            let ref = mpfrReference(a, b, productPrecision: 106)
            #expect(s.exact() == ref.exact, "trial \(trial)")
            #expect(s.rounded.bitPattern == ref.rounded.bitPattern || (s.isZero && ref.rounded == 0), "trial \(trial)")
        }
    }
}

@Suite struct ExactMatrixProducts {
    @Test func entriesAreExactDots() throws {
        var g = SplitMix64(seed: 200)
        let t = 5, k = 37, o = 70
        var a = (0..<(t * k)).map { _ in randomFloat(&g, exponents: -30...30) }
        let w = (0..<(o * k)).map { _ in randomFloat(&g, exponents: -30...30) }
        a[3 * k + 4] = .infinity        // row 3 takes the non-finite path
        let c = try ExactLinearAlgebra.matrixProduct(a, w, tokens: t, inFeatures: k, outFeatures: o)
        #expect(c.rows == t && c.columns == o)
        for r in 0..<t {
            for col in 0..<o {
                let d = try ExactLinearAlgebra.dot(Array(a[(r * k)..<((r + 1) * k)]), Array(w[(col * k)..<((col + 1) * k)]))
                #expect(c[r, col] == d)
            }
        }
        let c64 = try ExactLinearAlgebra.matrixProduct(a.map(Double.init), w.map(Double.init), tokens: t, inFeatures: k, outFeatures: o)
        for i in c.entries.indices where c.entries[i].kind == .finite {
            #expect(c64.entries[i].exact() == c.entries[i].exact())
        }
    }

    @Test func shapeErrors() {
        #expect(throws: OracleError.self) { try ExactLinearAlgebra.matrixProduct([Float](repeating: 1, count: 6), [Float](repeating: 1, count: 6), tokens: 2, inFeatures: 3, outFeatures: 3) }
        #expect(throws: OracleError.self) { try ExactLinearAlgebra.matrixProduct([Float](), [Float](), tokens: -1, inFeatures: 0, outFeatures: 0) }
        #expect(throws: OracleError.self) { try ExactLinearAlgebra.matrixProduct([Double](), [Double](), tokens: Int.max, inFeatures: 2, outFeatures: 1) }
    }
}

@Suite struct ExactMeanSquaredError {
    @Test func simpleValues() throws {
        let exact = [ExactLinearAlgebra.sum([Float(1)]), ExactLinearAlgebra.sum([Float(2)]), ExactLinearAlgebra.sum([Float(-3)])]
        #expect(try ExactLinearAlgebra.meanSquaredError([Float(1), 2, -3], exact: exact) == 0)
        #expect(try ExactLinearAlgebra.meanSquaredError([Float(2), 2, -1], exact: exact) == 5.0 / 3.0)
        #expect(throws: OracleError.self) { try ExactLinearAlgebra.meanSquaredError([Float(1)], exact: exact) }
        #expect(try ExactLinearAlgebra.meanSquaredError([Double.nan, 2, -3], exact: exact).isNaN)
        #expect(try ExactLinearAlgebra.meanSquaredError([Double.infinity, 2, -3], exact: exact) == .infinity)
    }

    /// The truncated 64-bit quotient lands exactly on a Double midpoint while the true mean is
    /// above it: it must round up.
    @Test func quotientRoundsOnce() {
        let s = MPFRNumber(precision: 200)
        s.set(significand: 3, exponent: 0, rounding: .nearestEven)
        let add = MPFRNumber(significand: 3, exponent: -53, precision: 200)
        s.add(s, add, rounding: .nearestEven)
        s.add(s, MPFRNumber(significand: 1, exponent: -100, precision: 200), rounding: .nearestEven)
        // s/3 = 1 + 2^-53 + 2^-100/3: just above the midpoint of 1 and 1 + 2^-52.
        #expect(ExactLinearAlgebra.quotientRoundedOnce(s, dividedBy: 3) == 1 + 0x1p-52)
        // A naive 64-bit quotient rounded again goes to 1.
        let q = MPFRNumber(precision: 64); q.divide(s, by: 3, rounding: .towardZero)
        #expect(q.double() == 1)
        // Subnormal tie: 4.5·2^-1074 / 3 = 1.5·2^-1074 → 2^-1073 (even).
        let sub = MPFRNumber(significand: 9, exponent: -1075)
        #expect(ExactLinearAlgebra.quotientRoundedOnce(sub, dividedBy: 3) == 0x1p-1073)
        // Random quotients against a 53-bit division in the normal range.
        var g = SplitMix64(seed: 300)
        for _ in 0..<2000 {
            let x = MPFRNumber(precision: 120)
            x.set(significand: Int(g.next() >> 2), exponent: Int.random(in: -200...200, using: &g), rounding: .nearestEven)
            x.multiply(x, MPFRNumber(significand: Int(g.next() >> 2), exponent: -62), rounding: .nearestEven)
            let n = UInt(g.next() % 100_000 + 1)
            let r = MPFRNumber(precision: 53); r.divide(x, by: n, rounding: .nearestEven)
            #expect(ExactLinearAlgebra.quotientRoundedOnce(x, dividedBy: n) == r.double())
        }
    }

    @Test func againstDirectMPFR() throws {
        var g = SplitMix64(seed: 301)
        let a = (0..<(4 * 16)).map { _ in randomFloat(&g, exponents: -5...5) }
        let w = (0..<(8 * 16)).map { _ in randomFloat(&g, exponents: -5...5) }
        let c = try ExactLinearAlgebra.matrixProduct(a, w, tokens: 4, inFeatures: 16, outFeatures: 8)
        let computed = c.rounded.map { Float($0) }
        let mse = try c.meanSquaredError(of: computed)
        let total = MPFRNumber(precision: 4000); total.setZero()
        for i in computed.indices {
            let d = MPFRNumber(precision: 2000)
            d.subtract(MPFRNumber(exactly: Double(computed[i])), c.entries[i].exact(), rounding: .nearestEven)
            d.multiply(d, d, rounding: .nearestEven)
            total.add(total, d, rounding: .nearestEven)
        }
        let ref = MPFRNumber(precision: 53); ref.divide(total, by: UInt(computed.count), rounding: .nearestEven)
        #expect(mse == ref.double())
        #expect(mse > 0)
    }
}

@Suite struct LinearAlgebraNegativeControls {
    /// Summing in Double loses a remainder that the exact accumulator keeps.
    @Test func doubleSummationIsCaught() throws {
        let a: [Float] = [0x1p100, 1, -0x1p100], b: [Float] = [1, 0x1p-20, 1]
        var naive = 0.0
        for i in a.indices { naive += Double(a[i]) * Double(b[i]) }
        let exact = try ExactLinearAlgebra.dot(a, b)
        #expect(naive == 0)
        #expect(exact.rounded == 0x1p-20)
    }

    /// A Kulisch accumulator that drops the upper piece of each product (a "lost carry") is
    /// caught by the mpfr_sum comparison at a named input.
    @Test func droppedUpperPieceIsCaught() {
        func broken(_ a: [Float], _ b: [Float]) -> ExactSum {
            var lanes = FixedPointLanes(laneCount: Float32ProductAccumulator.laneCount, unitExponent: Float32ProductAccumulator.unitExponent)
            for i in a.indices {
                let x = Float32ProductAccumulator.decode(a[i].bitPattern), y = Float32ProductAccumulator.decode(b[i].bitPattern)
                let m = x.m * y.m, p = Int(x.e + y.e), s = p & 31
                lanes.lanes[p >> 5] += (m & ((1 << (32 - s)) - 1)) << s      // hi piece dropped
            }
            return lanes.finish()
        }
        let a: [Float] = [3, 1.5], b: [Float] = [5, 0.25]
        let ref = mpfrReference(a.map(Double.init), b.map(Double.init), productPrecision: 48)
        #expect(ref.rounded == 15.375)
        #expect(broken(a, b).exact() != ref.exact)
        #expect((try! ExactLinearAlgebra.dot(a, b)).exact() == ref.exact)
    }

    /// MSE against the rounded reference misses an error of 2^-80 that the exact MSE sees.
    @Test func roundedReferenceMSEIsCaught() throws {
        let exact = ExactLinearAlgebra.sum([Float(1), 0x1p-80])        // 1 + 2^-80, not a Double
        #expect(exact.rounded == 1)
        let viaRounded = (1.0 - exact.rounded) * (1.0 - exact.rounded)
        #expect(viaRounded == 0)
        #expect(try ExactLinearAlgebra.meanSquaredError([Float(1)], exact: [exact]) == 0x1p-160)
    }
}
