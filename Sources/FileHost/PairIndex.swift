import Conformance

/// The outputs of a pairs file, sorted by input bit pattern for lookup: an encode call from a
/// suite (in any order, with any inputs) is answered by binary search.
struct PairIndex: Sendable {
    enum Answer: Equatable {
        case code(UInt16)
        /// The files do not hold this input.
        case absent
        /// The pairs give this input two different outputs.
        case conflict(UInt16, UInt16)
    }

    /// The entry point the inputs go through.
    let entry: ConversionEntry
    /// Input bit patterns (widened to 64 bits), ascending, each once.
    private let keys: [UInt64]
    /// The output of `keys[i]`.
    private let codes: [UInt16]
    /// Inputs with two different outputs, with two of them.
    private let conflicts: [UInt64: (UInt16, UInt16)]

    init(_ inputs: SuppliedInputs, codes outputs: [UInt16]) {
        entry = inputs.entry
        let bits: [UInt64]
        switch inputs {
        case .float32(let xs): bits = xs.map { UInt64($0.bitPattern) }
        case .float64(let xs): bits = xs.map(\.bitPattern)
        case .float16(let bs), .bfloat16(let bs): bits = bs.map(UInt64.init)
        }
        let order = bits.indices.sorted { (bits[$0], $0) < (bits[$1], $1) }
        var keys: [UInt64] = [], codes: [UInt16] = []
        var conflicts: [UInt64: (UInt16, UInt16)] = [:]
        keys.reserveCapacity(order.count)
        codes.reserveCapacity(order.count)
        for i in order {
            if let last = keys.last, last == bits[i] {
                if codes[codes.count - 1] != outputs[i] && conflicts[last] == nil {
                    conflicts[last] = (codes[codes.count - 1], outputs[i])
                }
                continue
            }
            keys.append(bits[i])
            codes.append(outputs[i])
        }
        self.keys = keys
        self.codes = codes
        self.conflicts = conflicts
    }

    private func lookup(_ key: UInt64, entry wanted: ConversionEntry) -> Answer {
        guard wanted == entry else { return .absent }
        if let c = conflicts[key] { return .conflict(c.0, c.1) }
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if keys[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < keys.count && keys[lo] == key ? .code(codes[lo]) : .absent
    }

    func lookup(float32 bits: UInt32) -> Answer { lookup(UInt64(bits), entry: .float32) }
    func lookup(float64 bits: UInt64) -> Answer { lookup(bits, entry: .float64) }
    func lookup(float16 bits: UInt16) -> Answer { lookup(UInt64(bits), entry: .float16) }
    func lookup(bfloat16 bits: UInt16) -> Answer { lookup(UInt64(bits), entry: .bfloat16) }
}
