import Formats

/// Reference model of per-group (current) scaling for narrow floats, as Transformer Engine's
/// `Float8CurrentScaling` documents it, computed from the data and the format descriptor only.
///
///     amax  = max |x| over the group (NaN if the group holds a NaN, else ∞ if it holds an ∞)
///     scale = RN₃₂( RN₃₂(fmax / amax) · 2^−margin )
///
/// with fmax the format's largest finite value (from the descriptor), and the edge rules:
/// amax 0, NaN or ∞ → scale 1; a quotient that overflows binary32 → greatestFiniteMagnitude;
/// optionally the scale is masked down to a power of two (never below binary32's least normal).
public enum ScalingReference {
    /// How the Float32 scale is finished.
    public enum ScaleRounding: Sendable, Hashable {
        /// The Float32 quotient as computed.
        case exact
        /// Rounded down to a power of two (mantissa masked off).
        case powerOfTwo
    }

    /// The precision the scale is stored in.
    public enum ScaleStorage: Sendable, Hashable {
        /// scaleInverse = RN₃₂(1/scale).
        case float32
        /// scaleInverse = RU₁₆(1/scale) clamped to binary16's positive range; scale = RN₃₂(1/scaleInverse).
        case float16
    }

    /// amax of a group: NaN if it holds a NaN, else ∞ if it holds an ∞, else max |x| (0 if empty).
    public static func groupAmax(_ x: ArraySlice<Float>) -> Float {
        if x.contains(where: { $0.isNaN }) { return .nan }
        if x.contains(where: { $0.isInfinite }) { return .infinity }
        return x.reduce(0) { max($0, abs($1)) }
    }

    /// scale = RN₃₂(RN₃₂(fmax / amax) · 2^−margin) for `format`'s largest finite value fmax.
    public static func currentScale(amax: Float, format: FloatFormat, margin: Int, rounding: ScaleRounding, m: MPFRScratch) -> Float {
        currentScale(amax: amax, target: format.maxFinite, margin: margin, rounding: rounding, m: m)
    }

    /// scale = RN₃₂(RN₃₂(target / amax) · 2^−margin) with the edge rules above; `target` is the
    /// magnitude amax is mapped to (a format's largest finite value, or a product of two for
    /// two-level scaling).
    public static func currentScale(amax: Float, target: Double, margin: Int, rounding: ScaleRounding, m: MPFRScratch) -> Float {
        guard amax.isFinite && amax > 0 else { return 1 }
        var s = m.divide32(target, by: Double(amax))
        s = s * Float(sign: .plus, exponent: -margin, significand: 1)
        if s == .infinity { s = .greatestFiniteMagnitude }
        if rounding == .powerOfTwo {
            s = Float(sign: .plus, exponent: s.exponent, significand: 1)
            if s < .leastNormalMagnitude { s = .leastNormalMagnitude }
        }
        return s
    }

    /// (scale, scaleInverse) after storage: Float32 storage keeps the scale and takes
    /// scaleInverse = RN₃₂(1/scale); Float16 storage rounds the decode multiplier up,
    /// scaleInverse = RU₁₆(1/scale) (clamped), and re-derives scale = RN₃₂(1/scaleInverse), so
    /// amax·scale never exceeds the format max because of the storage.
    public static func stored(scale: Float, storage: ScaleStorage, m: MPFRScratch) -> (scale: Float, inverse: Float) {
        switch storage {
        case .float32:
            return (scale, m.divide32(1, by: Double(scale)))
        case .float16:
            let inv = m.reciprocalUpBinary16(Double(scale))
            return (m.divide32(1, by: Double(inv)), inv)
        }
    }
}

/// Reference model of Transformer Engine's `DelayedScaling`, step by step.
///
/// Each step encodes with the scale from earlier steps; then
/// amax_history[0] = max(history[0], amax) (NaN sticky). Every `updateInterval` steps the
/// window is reduced (`.max`: max ignoring NaN; `.mostRecent`: slot 0), the scale updated with
/// the current-scaling formula only for a finite positive amax (otherwise the previous scale is
/// kept), scaleInverse = RN₃₂(1/scale), and the history rolled (`torch.roll(history, −1)`: slot 0
/// to the end, the new slot 0 zeroed).
public struct DelayedScalingReference {
    /// How the window is reduced to one amax.
    public enum Reduction: Sendable, Hashable {
        /// The largest amax in the window, NaN entries ignored.
        case max
        /// The most recent amax (slot 0).
        case mostRecent
    }

    /// The recipe's parameters.
    public struct Recipe: Sendable, Hashable {
        public var margin: Int
        public var historyLength: Int
        public var reduction: Reduction
        public var updateInterval: Int
        public var rounding: ScalingReference.ScaleRounding
        public init(margin: Int, historyLength: Int, reduction: Reduction, updateInterval: Int, rounding: ScalingReference.ScaleRounding) {
            self.margin = margin
            self.historyLength = historyLength
            self.reduction = reduction
            self.updateInterval = updateInterval
            self.rounding = rounding
        }
    }

    public let recipe: Recipe
    public let format: FloatFormat
    public private(set) var history: [Float]
    public private(set) var scale: Float = 1
    public private(set) var inverse: Float = 1
    public private(set) var step = 0

    public init(recipe: Recipe, format: FloatFormat) {
        self.recipe = recipe
        self.format = format
        history = [Float](repeating: 0, count: recipe.historyLength)
    }

    /// Records one step's amax and, at the end of an update interval, updates scale and history.
    public mutating func record(_ amax: Float, m: MPFRScratch) {
        history[0] = (amax.isNaN || history[0].isNaN) ? .nan : max(history[0], abs(amax))
        step += 1
        guard step % recipe.updateInterval == 0 else { return }
        let current = history[0]
        let windowMax = history.filter { !$0.isNaN }.max() ?? 0
        let amax = recipe.reduction == .max ? windowMax : current
        if amax.isFinite && amax > 0 {
            scale = ScalingReference.currentScale(amax: amax, format: format, margin: recipe.margin, rounding: recipe.rounding, m: m)
        }
        inverse = m.divide32(1, by: Double(scale))
        history = Array(history.dropFirst()) + [current]
        history[0] = 0
    }
}
