import Testing
@testable import Formats

@Suite struct DescriptorBasics {
    @Test func unknownNameIsATypedError() {
        #expect(throws: FormatError.unknownFormat("e9m9")) { try FloatFormat(named: "e9m9") }
    }

    /// Error messages quote user text; control characters in it must not break the one-line
    /// promise (the npy and gate fuzzers found keys with line feeds doing so).
    @Test(arguments: [
        ("e9\nm9", "unknown format 'e9\\nm9'"),
        ("a\r\tb\u{0}\u{2028}", "unknown format 'a\\r\\tb\\u{0}\\u{2028}'"),
    ])
    func unknownNameWithControlCharactersStaysOneLine(name: String, prefix: String) {
        let text = FormatError.unknownFormat(name).description
        #expect(text.hasPrefix(prefix))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x2028 })
    }

    @Test func oneLineEscapingIsIdempotent() {
        let once = DiagnosticText.oneLine("x\ny\\n\u{85}")
        #expect(once == "x\\ny\\n\\u{85}")
        #expect(DiagnosticText.oneLine(once) == once)
    }

    @Test func specialCodes() {
        #expect(FloatFormat.e4m3fn.canonicalNaN(negative: false) == 0x7F)
        #expect(FloatFormat.e4m3fn.canonicalNaN(negative: true) == 0xFF)
        #expect(FloatFormat.e5m2.canonicalNaN(negative: false) == 0x7E)
        #expect(FloatFormat.e5m2.infinityCode(negative: true) == 0xFC)
        #expect(FloatFormat.e4m3fnuz.canonicalNaN(negative: false) == 0x80)
        #expect(FloatFormat.e8m0fnu.canonicalNaN(negative: false) == 0xFF)
        #expect(FloatFormat.e4m3.canonicalNaN(negative: false) == 0x7C)
        #expect(FloatFormat.e3m4.canonicalNaN(negative: false) == 0x78)
        #expect(FloatFormat.e2m1fn.canonicalNaN(negative: false) == nil)
        #expect(FloatFormat.e4m3fn.maxFiniteMagnitudeCode == 0x7E)
        #expect(FloatFormat.e5m2.maxFiniteMagnitudeCode == 0x7B)
        #expect(FloatFormat.e4m3fnuz.maxFiniteMagnitudeCode == 0x7F)
        #expect(FloatFormat.e8m0fnu.maxFiniteMagnitudeCode == 0xFE)
        #expect(FloatFormat.e2m1fn.maxFiniteMagnitudeCode == 0x7)
    }

    @Test(arguments: FloatFormat.all)
    func classCountsMatchTheRules(_ f: FloatFormat) {
        var nan = 0, inf = 0, zero = 0
        for c in 0..<f.codeCount {
            switch f.classify(UInt16(c)) {
            case .nan: nan += 1
            case .infinity: inf += 1
            case .zero: zero += 1
            default: break
            }
        }
        let sign = f.isSigned ? 2 : 1
        switch f.nan {
        case .none: #expect(nan == 0)
        case .negativeZero: #expect(nan == 1)
        case .allOnes: #expect(nan == sign)
        case .ieee: #expect(nan == sign * ((1 << f.mantissaBits) - 1))
        }
        #expect(inf == (f.infinity == .ieee ? 2 : 0))
        #expect(zero == (f.hasZero ? (f.hasNegativeZero ? 2 : 1) : 0))
    }
}
