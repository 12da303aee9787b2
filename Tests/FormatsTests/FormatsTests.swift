import Testing
@testable import Formats

@Suite struct DescriptorLimits {
    /// Limits from OCP OFP8 Table 1, OCP MX §5.3 and Docs/formats.md, written independently of the
    /// descriptor arithmetic: (max finite, min normal, min positive).
    static let table: [(String, Double, Double, Double)] = [
        ("e4m3fn", 448, 0x1p-6, 0x1p-9),
        ("e5m2", 57344, 0x1p-14, 0x1p-16),
        ("e4m3fnuz", 240, 0x1p-7, 0x1p-10),
        ("e5m2fnuz", 57344, 0x1p-15, 0x1p-17),
        ("e4m3b11fnuz", 30, 0x1p-10, 0x1p-13),
        ("e4m3", 240, 0x1p-6, 0x1p-9),
        ("e3m4", 15.5, 0x1p-2, 0x1p-6),
        ("e8m0fnu", 0x1p127, 0x1p-127, 0x1p-127),
        ("e2m3fn", 7.5, 1, 0x1p-3),
        ("e3m2fn", 28, 0x1p-2, 0x1p-4),
        ("e2m1fn", 6, 1, 0.5),
        ("binary16", 65504, 0x1p-14, 0x1p-24),
        ("bfloat16", 0x1.FEp127, 0x1p-126, 0x1p-133),
    ]

    @Test(arguments: table.indices)
    func limits(_ i: Int) throws {
        let (name, maxFinite, minNormal, minPositive) = Self.table[i]
        let f = try FloatFormat(named: name)
        #expect(f.maxFinite == maxFinite)
        #expect(f.minNormal == minNormal)
        #expect(f.minPositive == minPositive)
        #expect(try FloatFormat(named: f.mlDtypesName) == f)
    }

    @Test func everyFormatIsInTheTable() {
        #expect(Set(FloatFormat.all.map(\.name)) == Set(Self.table.map(\.0)))
    }

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
