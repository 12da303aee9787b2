/// The shape of a dense row-major tensor: `dimensions[0]` varies slowest, the last dimension
/// fastest (C order). Every dimension is at least 1 and the element count fits in `Int`,
/// so a validated shape can be used for indexing without further checks.
///
/// Vocabulary used across the module:
/// - **rows** — the product of all dimensions but the last (the leading "batch × token"
///   dimensions of activations, or the output channels of a 2-D weight `[out, in]`);
/// - **columns** — the last dimension (features / input channels).
public struct TensorShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public let dimensions: [Int]
    /// Product of the dimensions.
    public let elementCount: Int

    /// Throws `QuantError.invalidShape` for no dimensions, a dimension below 1, or an element
    /// count that overflows `Int`.
    public init(_ dimensions: [Int]) throws {
        guard !dimensions.isEmpty else {
            throw QuantError.invalidShape(dimensions: dimensions, reason: "a tensor needs at least one dimension")
        }
        var count = 1
        for d in dimensions {
            guard d >= 1 else {
                throw QuantError.invalidShape(dimensions: dimensions, reason: "every dimension must be at least 1")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw QuantError.invalidShape(dimensions: dimensions, reason: "element count overflows Int")
            }
            count = product
        }
        self.dimensions = dimensions
        self.elementCount = count
    }

    /// A 2-D shape `[rows, columns]`.
    public init(rows: Int, columns: Int) throws {
        try self.init([rows, columns])
    }

    public var rank: Int { dimensions.count }
    /// The last dimension.
    public var columns: Int { dimensions[dimensions.count - 1] }
    /// The product of all dimensions but the last (1 for a vector).
    public var rows: Int { elementCount / columns }

    public var description: String { "[" + dimensions.map(String.init).joined(separator: ", ") + "]" }

    // Codable re-validates, so a decoded shape keeps the invariants.
    private enum CodingKeys: String, CodingKey { case dimensions }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(c.decode([Int].self, forKey: .dimensions))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dimensions, forKey: .dimensions)
    }

    /// Throws `lengthMismatch` unless `count == elementCount`.
    func validate(count: Int, what: String) throws {
        guard count == elementCount else {
            throw QuantError.lengthMismatch(what: "\(what) of shape \(self)", expected: elementCount, actual: count)
        }
    }
}

// MARK: - Shared validation helpers

/// Throws `nonFiniteInput` at the first NaN or ±∞ in `values`.
@inline(__always)
func requireFinite(_ values: UnsafeBufferPointer<Float>, what: String) throws {
    // Integer test on the magnitude bits: exponent all-ones ⇔ NaN or ±∞. Cheaper than
    // `isFinite` per element and vectorises.
    var worst: UInt32 = 0
    for v in values { worst = max(worst, v.bitPattern & 0x7FFF_FFFF) }
    guard worst >= 0x7F80_0000 else { return }
    for (i, v) in values.enumerated() where !v.isFinite {
        throw QuantError.nonFiniteInput(what: what, index: i, value: Double(v))
    }
}

func requireFinite(_ values: [Float], what: String) throws {
    try values.withUnsafeBufferPointer { try requireFinite($0, what: what) }
}

/// Validates a percentile p ∈ (0, 1].
func validatePercentile(_ p: Double) throws {
    guard p > 0 && p <= 1 else { throw QuantError.invalidPercentile(p) }
}
