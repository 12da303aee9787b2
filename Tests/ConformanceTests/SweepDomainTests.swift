import Testing
import Formats
import Quant
@testable import Conformance

/// The exhaustive sweep refuses patterns its implementation cannot produce with a typed error,
/// before any work: a range past 2^32 is an input error, never a trap or a silent partial sweep.
struct SweepDomainTests {
    @Test func patternsOutsideTheDomainAreATypedError() throws {
        let impl = CodecUnderTest(NarrowFloatCodec(format: .e2m1fn))
        let beyond: Range<UInt64> = (1 << 32) - 4 ..< (1 << 32) + 4
        #expect(throws: OutsideSweepDomain.self) {
            try ExhaustiveFloat32Suite.run(impl, patterns: beyond, threads: 1)
        }
        do {
            _ = try ExhaustiveFloat32Suite.run(impl, patterns: beyond, threads: 1)
        } catch let e as OutsideSweepDomain {
            #expect(!e.description.contains("\n"))
            #expect(e.description.contains("outside the implementation's domain 0..<4294967296"))
        }
        // The edge of the domain itself is accepted and fully covered.
        let edge: Range<UInt64> = (1 << 32) - 4 ..< (1 << 32)
        let r = try ExhaustiveFloat32Suite.run(impl, patterns: edge, threads: 1)
        #expect(r.covered == 4 && r.passed)
    }
}
