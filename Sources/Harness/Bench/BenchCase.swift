import Foundation

/// Where a case's working set lives.
public enum SizeClass: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fits in L2 (tens of KiB): measures the kernel's compute throughput.
    case cache
    /// Far beyond the last-level cache (64 MiB of Float32 input): measures streaming.
    case dram
}

/// One benchmark case: what it measures (for the results file) and how to run it.
///
/// `prepare` runs untimed: it allocates and fills the inputs and returns the timed body, which
/// processes `elements` elements moving `bytes` bytes (read + written) per call. The body must
/// not allocate. Buffers captured by the body are released when it is.
public struct BenchCase: Sendable {
    public var name: String
    public var group: String
    public var parameters: [String: String]
    public var sizeClass: SizeClass
    public var threads: Int
    public var elements: Int
    public var bytes: Int
    public var prepare: @Sendable () -> @Sendable () -> Void

    public init(
        name: String, group: String, parameters: [String: String] = [:], sizeClass: SizeClass,
        threads: Int, elements: Int, bytes: Int, prepare: @escaping @Sendable () -> @Sendable () -> Void
    ) {
        self.name = name
        self.group = group
        self.parameters = parameters
        self.sizeClass = sizeClass
        self.threads = threads
        self.elements = elements
        self.bytes = bytes
        self.prepare = prepare
    }

    /// The usual name layout: `group/variant/size/tN`.
    public static func standardName(group: String, variant: String, size: SizeClass, threads: Int) -> String {
        [group, variant, size.rawValue, "t\(threads)"].filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// A streaming kernel from one buffer of `In` to one buffer of `Out`, `elements` long:
    /// the shape of every bulk codec and quantizer entry point. Bytes are counted as
    /// `elements · (size(In) + size(Out))`.
    public static func stream<In, Out>(
        group: String, variant: String, parameters: [String: String] = [:], size: SizeClass,
        threads: Int, elements: Int, input: @escaping @Sendable (Int) -> HeapBuffer<In>,
        body: @escaping @Sendable (UnsafeBufferPointer<In>, UnsafeMutableBufferPointer<Out>) -> Void
    ) -> BenchCase {
        BenchCase(
            name: standardName(group: group, variant: variant, size: size, threads: threads),
            group: group, parameters: parameters, sizeClass: size, threads: threads,
            elements: elements,
            bytes: elements * (MemoryLayout<In>.stride + MemoryLayout<Out>.stride),
            prepare: {
                let src = input(elements)
                let dst = HeapBuffer<Out>(zeroedCount: elements)
                return { body(UnsafeBufferPointer(src.buffer), dst.buffer) }
            })
    }
}

/// A heap buffer released on deinit: lets timed bodies capture their inputs and outputs.
public final class HeapBuffer<Element>: @unchecked Sendable {
    public let buffer: UnsafeMutableBufferPointer<Element>

    /// Zero-filled (touching every page, so the first timed call pays no page faults).
    public init(zeroedCount n: Int) {
        buffer = .allocate(capacity: n)
        UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
    }

    public init(count n: Int, _ element: (Int) -> Element) {
        buffer = .allocate(capacity: n)
        for i in 0..<n { (buffer.baseAddress! + i).initialize(to: element(i)) }
    }

    deinit { buffer.deallocate() }
}
