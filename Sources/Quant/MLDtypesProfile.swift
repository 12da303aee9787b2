import Formats

/// The finite-rounding choices of ml_dtypes 0.6 that differ from the OCP rules (its special-value
/// choices live in `FloatFormat`'s special-value rules). Reproduced under profile `.mlDtypes`
/// so a team leaving ml_dtypes can check bit-for-bit against it. Evidence and the full list:
/// `Golden/mldtypes/README.md`.
public enum MLDtypesProfile {
    /// Rule 1: `astype` from Float64 rounds to Float32 first (ml_dtypes `NPyCast` goes through
    /// `float`; issue #401: −431.99999999999994 → E4M3FN gives −448, not −416) — for every
    /// ml_dtypes target, E8M0FNU and bfloat16 included. numpy's own float16 rounds directly.
    public static func float64GoesThroughFloat32(_ format: FloatFormat) -> Bool {
        format != .binary16
    }

    /// Rule 5: ml_dtypes decides ties on the significand's last bit, which for a format without
    /// mantissa bits (E8M0FNU) is the implicit 1: every tie 1.5·2^k rounds up instead of to the
    /// even code (1.5·2^127 → NaN under NONSAT).
    public static func tiesOnSignificand(_ format: FloatFormat) -> Bool {
        format.mantissaBits == 0
    }

    /// Rule 5: for E8M0FNU, ml_dtypes takes its generic "subnormal target" path for Float32
    /// subnormal inputs and reads the result 0/1 as a code: every x in (2^−127, 2^−126) gives
    /// 0x01, every x ≤ 2^−127 gives 0x00. Returns the code, or nil when the rule does not apply.
    static func float32SubnormalCode(_ format: FloatFormat, fraction: UInt32) -> UInt16? {
        guard format.mantissaBits == 0 && !format.hasSubnormals else { return nil }
        return fraction > 0x40_0000 ? 1 : 0
    }

    /// Rule 6: numpy's float16 keeps NaN payloads: s | 0x7C00 | (fraction >> shift), made a NaN
    /// (…01) if the payload shifted out entirely.
    static func binary16NaN(negative: Bool, payload: UInt64) -> UInt16 {
        var h = UInt16(0x7C00) | UInt16(truncatingIfNeeded: payload & 0x3FF)
        if h == 0x7C00 { h = 0x7C01 }
        return h | (negative ? 0x8000 : 0)
    }

    /// Formats whose ml_dtypes profile the vectorised kernels do not model (they use the
    /// scalar steps in bulk calls).
    static func needsScalarPath(_ format: FloatFormat) -> Bool {
        format == .binary16 || (format.mantissaBits == 0 && !format.hasSubnormals)
    }
}
