import Foundation
import Testing
import Formats
import Oracle
import Quant
@testable import Conformance

/// Negative control for the MX reference (issue 10): the fp8-scaling suite's MX reference derives
/// emax_elem from the element format's descriptor (`MXReference.elementEmax`), so a quantizer
/// built on a wrong emax must fail the suite. Before the reference moved to the Oracle it read
/// `MXElementFormat.emax` — the production table — so a wrong entry in that table changed the
/// quantizer and the reference alike, and passed.
///
/// The seam: `Quant`'s MX quantizer with emax_elem as a parameter, built from `Quant`'s own pieces
/// (the saturating RNE codec, the OCP shared-exponent rule and E8M0 encoding of `MXQuantizer`).
/// With `Quant`'s table it reproduces `MXQuantizer.quantize` bit for bit (checked below), so the
/// wrong-emax variants differ from production in emax only. The seam cannot reach the table the
/// old reference read; that the reference reads no production table at all is what
/// `quantsTableAgreesWithTheDerivedEmax` (the table against the derivation) and the Oracle's
/// `ReferenceModelTests` (the derivation against the specification) pin.
@Suite struct MXEmaxNegativeControlTests {
    typealias MXFunction = @Sendable ([Float], TensorShape, MXElementFormat, MXScaleRule) throws -> (codes: [UInt8], scaleCodes: [UInt8])

    /// `MXQuantizer.quantize` for the OCP rule with emax_elem from `emax` (other rules: production;
    /// TE's round-up rule reads the element maximum, not emax).
    static func quantizer(emax: @escaping @Sendable (MXElementFormat) -> Int) -> MXFunction {
        { x, shape, element, rule in
            guard rule == .ocp else { return try FP8ScalingSuite.Implementation.production.mx(x, shape, element, rule) }
            let codec = NarrowFloatCodec(format: element.format, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
            var codes = [UInt8](repeating: 0, count: x.count)
            var scaleCodes: [UInt8] = []
            for row in 0..<shape.rows {
                for start in stride(from: 0, to: shape.columns, by: MXTensor.blockSize) {
                    let base = row * shape.columns
                    let block = (base + start)..<(base + min(start + MXTensor.blockSize, shape.columns))
                    let k: Int?
                    if x[block].contains(where: { !$0.isFinite }) {
                        k = nil
                    } else {
                        let amax = x[block].reduce(0) { max($0, abs($1)) }
                        k = amax == 0 ? -127 : min(127, max(-127, Int(amax.exponent) - emax(element)))
                    }
                    scaleCodes.append(k.map { UInt8($0 + 127) } ?? 0xFF)
                    for i in block {
                        codes[i] = UInt8(k.map { codec.encode(Double(x[i]) * Double(sign: .plus, exponent: -$0, significand: 1)) } ?? codec.encode(x[i]))
                    }
                }
            }
            return (codes, scaleCodes)
        }
    }

    /// The suite's MX cases against an implementation whose MX quantizer is `mx`.
    static func mxResults(_ mx: @escaping MXFunction) throws -> [SuiteResult] {
        var impl = FP8ScalingSuite.Implementation.production
        impl.mx = mx
        return try FP8ScalingSuite.run(sizes: AccuracyFixtures.fp8Sizes, implementation: impl).filter { $0.caseName.hasPrefix("mx/") }
    }

    @Test func seamReproducesQuantsQuantizer() throws {
        let (x, shape) = try FP8ScalingSuite.data(sizes: AccuracyFixtures.fp8Sizes, seed: FP8ScalingSuite.seed)
        let special = FP8ScalingSuite.specialRows(columns: shape.columns)
        let all = special.x + x
        let allShape = try TensorShape(rows: special.shape.rows + shape.rows, columns: shape.columns)
        let seam = Self.quantizer { $0.emax }
        for element in MXElementFormat.allCases {
            let production = try MXQuantizer.quantize(all, shape: allShape, element: element, rule: .ocp)
            let got = try seam(all, allShape, element, .ocp)
            #expect(got.scaleCodes == production.scaleCodes, "\(element.rawValue) scale codes")
            #expect(got.codes == production.elementCodes(), "\(element.rawValue) element codes")
        }
    }

    @Test func quantsTableAgreesWithTheDerivedEmax() {
        for element in MXElementFormat.allCases {
            #expect(element.emax == MXReference.elementEmax(element.format), "\(element.rawValue)")
        }
    }

    @Test func correctEmaxPasses() throws {
        let rs = try Self.mxResults(Self.quantizer { MXReference.elementEmax($0.format) })
        #expect(rs.count == MXElementFormat.allCases.count * MXScaleRule.allCases.count)
        #expect(AccuracyFixtures.failed(rs).isEmpty, "\(AccuracyFixtures.describe(rs))")
    }

    /// One wrong table entry at a time (one binade too small or too large): exactly that
    /// element's OCP case fails, with scale mismatches.
    @Test(arguments: [(MXElementFormat.mxfp8E4M3, 7), (.mxfp8E4M3, 9), (.mxfp4E2M1, 1), (.mxfp8E5M2, 16), (.mxfp6E3M2, 3)])
    func wrongEmaxFails(element wrong: MXElementFormat, emax wrongEmax: Int) throws {
        let rs = try Self.mxResults(Self.quantizer { $0 == wrong ? wrongEmax : $0.emax })
        let failed = AccuracyFixtures.failed(rs)
        #expect(failed.map(\.caseName) == ["mx/\(wrong.rawValue)/ocp"], "\(AccuracyFixtures.describe(rs))")
        let r = try #require(failed.first)
        #expect(r.mismatches > 0)
        #expect(r.counterexamples.contains { $0.inputBits.hasPrefix("scale of block") })
    }
}
