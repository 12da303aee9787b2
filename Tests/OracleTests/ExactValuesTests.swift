import Foundation
import Testing
import Formats
@testable import Oracle

@Suite struct ExactValues {
    /// The MPFR value of every finite code agrees with the descriptor's integer definition.
    @Test(arguments: FloatFormat.all)
    func everyCodeMatchesTheDescriptor(_ f: FloatFormat) {
        let table = ExactValueTable(format: f)
        #expect(table.values.count == f.codeCount)
        for v in table.values {
            #expect(v.codeClass == f.classify(v.code))
            switch v.codeClass {
            case .nan: #expect(v.double.isNaN && (v.double.sign == .minus) == f.sign(of: v.code))
            case .infinity: #expect(v.double == (f.sign(of: v.code) ? -.infinity : .infinity))
            case .zero: #expect(v.double == 0 && (v.double.sign == .minus) == f.sign(of: v.code))
            default: #expect(v.double == FloatFormat.double(f.finiteValue(of: v.code)!))
            }
        }
        #expect(table.maxFinite == f.maxFinite)
    }

    /// Anchors from OCP OFP8 Table 1 / MX §5.4, written as literals.
    @Test func anchors() {
        func v(_ f: FloatFormat, _ c: UInt16) -> Double { ExactValueTable.value(of: c, in: f).double }
        #expect(v(.e4m3fn, 0x7E) == 448)
        #expect(v(.e4m3fn, 0x01) == 0x1p-9)
        #expect(v(.e4m3fn, 0x08) == 0x1p-6)
        #expect(v(.e4m3fn, 0xFD) == -416)
        #expect(v(.e4m3fn, 0x7F).isNaN)
        #expect(v(.e5m2, 0x7B) == 57344)
        #expect(v(.e5m2, 0x7C) == .infinity)
        #expect(v(.e5m2, 0x01) == 0x1p-16)
        #expect(v(.e4m3fnuz, 0x7F) == 240)
        #expect(v(.e4m3fnuz, 0x80).isNaN)
        #expect(v(.e8m0fnu, 0x00) == 0x1p-127)
        #expect(v(.e8m0fnu, 0x7F) == 1)
        #expect(v(.e8m0fnu, 0xFE) == 0x1p127)
        #expect(v(.e2m1fn, 0x7) == 6)
        #expect(v(.e2m1fn, 0x1) == 0.5)
        #expect(v(.e3m2fn, 0x1F) == 28)
        #expect(v(.e2m3fn, 0x1F) == 7.5)
    }

    /// binary16 and bfloat16 decoded from the descriptors agree with the hardware types.
    @Test func sixteenBitFormatsAgreeWithHardwareDecoding() {
        let h = ExactValueTable(format: .binary16)
        let b = ExactValueTable(format: .bfloat16)
        for c in 0...UInt16.max {
            let hw = Double(Float16(bitPattern: c))
            let bw = Double(Float(bitPattern: UInt32(c) << 16))
            #expect(h[c].double == hw || (h[c].double.isNaN && hw.isNaN))
            #expect(b[c].double == bw || (b[c].double.isNaN && bw.isNaN))
            #expect(h[c].double.sign == hw.sign && b[c].double.sign == bw.sign)
        }
    }

    @Test func goldenTSVRows() {
        let tsv = ExactValueTable(format: .e4m3fn).goldenTSV()
        let lines = tsv.split(separator: "\n").map(String.init)
        #expect(lines.count == 2 + 256)
        #expect(lines[0].hasPrefix("# QuantCheck exact values of e4m3fn"))
        #expect(lines[1] == "code\tclass\tdecimal\thexfloat")
        #expect(lines[2] == "0x00\tzero\t0\t0x0p+0")
        #expect(lines[2 + 0x01] == "0x01\tsubnormal\t0.001953125\t0x1p-9")
        #expect(lines[2 + 0x7E] == "0x7e\tnormal\t448\t0x1.cp+8")
        #expect(lines[2 + 0x7F] == "0x7f\tnan\tnan\tnan")
        #expect(lines[2 + 0x80] == "0x80\tzero\t-0\t-0x0p+0")
        #expect(lines[2 + 0xFF] == "0xff\tnan\t-nan\t-nan")
        let e5 = ExactValueTable(format: .e5m2).goldenTSV().split(separator: "\n")
        #expect(e5[2 + 0x7C] == "0x7c\tinfinity\tinf\tinf")
        #expect(e5[2 + 0xFC] == "0xfc\tinfinity\t-inf\t-inf")
        let h = ExactValueTable(format: .binary16).goldenTSV().split(separator: "\n")
        #expect(h[2 + 0x3C00] == "0x3c00\tnormal\t1\t0x1p+0")
        #expect(h[2 + 0x7BFF] == "0x7bff\tnormal\t65504\t0x1.ffcp+15")
        let u = ExactValueTable(format: .e2m1fn).goldenTSV().split(separator: "\n")
        #expect(u[2 + 0xF] == "0xf\tnormal\t-6\t-0x1.8p+2")
    }

    /// The decimal column reads back to the exact value for every code of every format.
    @Test(arguments: FloatFormat.all.filter { $0.bitWidth <= 8 })
    func decimalAndHexColumnsReadBack(_ f: FloatFormat) {
        for v in ExactValueTable(format: f).values where v.codeClass != .nan {
            #expect(Double(v.exactDecimal) == v.double)
            #expect(Double(v.hexFloat) == v.double)
        }
    }
}
