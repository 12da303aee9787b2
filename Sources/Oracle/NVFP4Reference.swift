import Formats

/// Reference model of NVFP4 two-level scaling: blocks of 16 E2M1 elements, one E4M3 decode
/// scale per block and one binary32 encode scale per tensor (NVIDIA Transformer Engine /
/// Model-Optimizer NVFP4 recipe).
///
///     S_enc = RN₃₂( (E4M3_max · E2M1_max) / amax )                (current-scaling rule, margin 0)
///     d_b   = E4M3_sat( RN₃₂( RN₃₂(bamax / E2M1_max) · S_enc ) )   the block's decode scale code
///     q_i   = E2M1_sat( x_i · S_enc / d_b )                        one rounding of the exact quotient
///
/// E4M3_max = 448 and E2M1_max = 6 are the descriptors' largest finite values, never constants.
/// The element rounding compares x·S_enc (exact in binary64) with d_b times the E2M1 rounding
/// boundaries (`RationalRounding`); a zero decode scale gives code 0.
public struct NVFP4Reference {
    /// Elements per block sharing one decode scale.
    public static let blockSize = 16
    public static let elementFormat = FloatFormat.e2m1fn
    public static let scaleFormat = FloatFormat.e4m3fn

    private let scaleOracle: RoundingOracle
    private let scaleValues: ExactValueTable
    private let elementRounding: RationalRounding

    public init() throws(OracleError) {
        scaleOracle = try RoundingOracle(format: Self.scaleFormat, policy: ConversionPolicy(rounding: .toNearestOrEven, overflow: .saturating))
        scaleValues = ExactValueTable(format: Self.scaleFormat)
        elementRounding = RationalRounding(format: Self.elementFormat)
    }

    /// The magnitude the tensor amax is mapped to: E4M3_max · E2M1_max (2688).
    public static var globalTarget: Double { scaleFormat.maxFinite * elementFormat.maxFinite }

    /// S_enc for the tensor's amax (`ScalingReference.groupAmax` of the whole tensor).
    public func globalEncodeScale(amax: Float, m: MPFRScratch) -> Float {
        ScalingReference.currentScale(amax: amax, target: Self.globalTarget, margin: 0, rounding: .exact, m: m)
    }

    /// d_b's E4M3 code for a block amax: the documented binary32 arithmetic, then one
    /// saturating RNE rounding to E4M3.
    public func blockScaleCode(blockAmax: Float, globalScale sEnc: Float) -> UInt16 {
        let d32 = (blockAmax / Float(Self.elementFormat.maxFinite)) * sEnc
        return scaleOracle.code(forFloat32: d32)
    }

    /// The exact value of an E4M3 decode-scale code.
    public func blockScale(code: UInt16) -> Double { scaleValues[code].double }

    /// The E2M1 code of x in a block with decode scale d (exact value).
    public func elementCode(_ x: Float, globalScale sEnc: Float, blockScale d: Double) -> UInt16 {
        d > 0 ? elementRounding.code(numerator: Double(x) * Double(sEnc), denominator: d) : 0
    }
}
