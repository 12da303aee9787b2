import Formats
import Oracle

/// The inputs a suite checks, for writing out (`quantcheck inputs`): a framework computes its
/// outputs for them, and `conform` checks the pairs (or the exhaustive-order files) with the
/// same suites. Each set is the suite's own input list, not a copy of it.
public enum SuiteInputs {
    /// Every interval boundary of the oracle's rounding table for (format, policy) and the
    /// toward-zero table (whose boundaries are the format's values), with the Float32 patterns
    /// one ulp below and above each: every value and every midpoint of the format ±1 ulp, both
    /// signs, in ascending pattern order.
    public static func boundaries(format: FloatFormat, policy: ConversionPolicy) throws -> [Float] {
        var truncating = policy
        truncating.rounding = .towardZero
        var patterns = Set<UInt32>()
        for p in [policy, truncating] {
            for iv in try RoundingIntervalTable(format: format, policy: p).intervals {
                patterns.insert(iv.lo)
                if iv.lo > 0 { patterns.insert(iv.lo - 1) }
                if iv.lo < .max { patterns.insert(iv.lo + 1) }
            }
        }
        return patterns.sorted().map(Float.init(bitPattern:))
    }

    /// The round-trip suite's inputs: the exact value of every code, in code order.
    public static func roundTrip(format: FloatFormat) -> [Float] {
        RoundTripSuite.inputs(format).map { Float($0) }
    }

    /// The Float64 suite's probes (midpoints ±1, ±2 ulps and the seeded random doubles).
    public static func float64(format: FloatFormat, randomCount: Int) -> [Double] {
        Float64Suite.probes(format: format, randomCount: randomCount, seed: Float64Suite.seed)
    }
}
