import QuantKernels

/// Which elements of a row-major tensor share one scale.
///
/// Every group is a *contiguous* range of the flat row-major array, so a group index maps to
/// a range without gathers:
///
/// | granularity          | groups                                  | rank      |
/// |----------------------|-----------------------------------------|-----------|
/// | `.perTensor`         | the whole tensor                        | any       |
/// | `.perToken`          | each row (all leading dims flattened)   | any       |
/// | `.perChannel`        | each row of a weight `[out, in]`        | exactly 2 |
/// | `.blockwise(size:)`  | `size` consecutive elements of a row    | any       |
///
/// `.blockwise` splits each row (last dimension) into ⌈columns / size⌉ blocks; the last block of
/// a row is shorter when `size` does not divide `columns` (a "ragged" block, with its own scale).
/// Blocks never straddle rows. This is also the "per-group" granularity of INT4 weight
/// quantization (group = block).
public enum ScaleGranularity: Hashable, Sendable, Codable, CustomStringConvertible {
    case perTensor
    case perToken
    case perChannel
    case blockwise(size: Int = 32)

    public var description: String {
        switch self {
        case .perTensor: return "per-tensor"
        case .perToken: return "per-token"
        case .perChannel: return "per-channel"
        case .blockwise(let size): return "blockwise(\(size))"
        }
    }
}

/// The concrete groups of a granularity on a shape (validated).
struct GroupLayout: Sendable, Hashable {
    let elementCount: Int
    let columns: Int
    /// Elements per group along a row (== columns for per-row, == elementCount for per-tensor).
    let groupSize: Int
    let groupsPerRow: Int
    let groupCount: Int
    let isPerTensor: Bool

    init(shape: TensorShape, granularity: ScaleGranularity) throws {
        elementCount = shape.elementCount
        columns = shape.columns
        switch granularity {
        case .perTensor:
            isPerTensor = true
            groupSize = elementCount
            groupsPerRow = 1
            groupCount = 1
        case .perToken:
            isPerTensor = false
            groupSize = columns
            groupsPerRow = 1
            groupCount = shape.rows
        case .perChannel:
            guard shape.rank == 2 else {
                throw QuantError.rankMismatch(what: "per-channel scaling of a weight [out, in]", expected: "2", actual: shape.rank)
            }
            isPerTensor = false
            groupSize = columns
            groupsPerRow = 1
            groupCount = shape.rows
        case .blockwise(let size):
            guard size >= 1 else { throw QuantError.invalidGroupSize(size, reason: "block size must be at least 1") }
            isPerTensor = false
            groupSize = size
            groupsPerRow = (columns + size - 1) / size
            groupCount = shape.rows * groupsPerRow
        }
    }

    /// The flat element range of group `g` (groups in row-major order).
    @inline(__always)
    func range(of g: Int) -> Range<Int> {
        if isPerTensor { return 0..<elementCount }
        let row = g / groupsPerRow, block = g - row * groupsPerRow
        let lo = row * columns + block * groupSize
        return lo..<min(lo + groupSize, (row + 1) * columns)
    }

    /// Group index of flat element `i`.
    @inline(__always)
    func group(of i: Int) -> Int {
        if isPerTensor { return 0 }
        let row = i / columns
        return row * groupsPerRow + (i - row * columns) / groupSize
    }
}

/// How the "amax" of a group — the magnitude mapped to the top of the target range — is chosen.
public enum AmaxMode: Hashable, Sendable, Codable, CustomStringConvertible {
    /// amax = max |x| over the group.
    case maxAbs
    /// amax = the nearest-rank p-quantile of |x| over the group, p ∈ (0, 1]: the k-th smallest
    /// |x| with k = max(1, ⌈p·n⌉) (p·n computed in Float64). p = 1 is `.maxAbs`. Elements above
    /// amax saturate (clip) at the top of the range.
    case percentile(Double)

    public var description: String {
        switch self {
        case .maxAbs: return "max-abs"
        case .percentile(let p): return "percentile(\(p))"
        }
    }

    func validate() throws {
        if case .percentile(let p) = self { try validatePercentile(p) }
    }

    /// amax of finite `values` (non-empty).
    func amax(of values: UnsafeBufferPointer<Float>) -> Float {
        switch self {
        case .maxAbs:
            return Float(bitPattern: alg_absmax_bits_f32(values.baseAddress, values.count))
        case .percentile(let p):
            var mags = values.map { abs($0) }
            let k = max(1, Int((p * Double(mags.count)).rounded(.up)))
            return nthSmallest(&mags, k - 1)
        }
    }
}

/// The element of rank `k` (0-based) in ascending order; reorders `a` (quickselect with
/// median-of-three pivots; deterministic).
func nthSmallest(_ a: inout [Float], _ k: Int) -> Float {
    precondition(k >= 0 && k < a.count, "rank out of range")
    var lo = 0, hi = a.count - 1
    while lo < hi {
        let mid = lo + (hi - lo) / 2
        // median of three as pivot
        if a[mid] < a[lo] { a.swapAt(mid, lo) }
        if a[hi] < a[lo] { a.swapAt(hi, lo) }
        if a[hi] < a[mid] { a.swapAt(hi, mid) }
        let pivot = a[mid]
        var i = lo, j = hi
        while i <= j {
            while a[i] < pivot { i += 1 }
            while pivot < a[j] { j -= 1 }
            if i <= j {
                a.swapAt(i, j)
                i += 1
                j -= 1
            }
        }
        if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
    }
    return a[k]
}
