import Dispatch
import Foundation
import CheckKernels

/// A run of consecutive Float32 bit patterns `lo…hi` (inclusive) that all map to `code`.
/// The oracle's interval table is a sorted list of these covering [0, 2^32) exactly once.
public struct CodeInterval: Sendable, Hashable, Codable {
    public var lo: UInt32
    public var hi: UInt32
    public var code: UInt16

    public init(lo: UInt32, hi: UInt32, code: UInt16) {
        self.lo = lo
        self.hi = hi
        self.code = code
    }

    public var count: UInt64 { UInt64(hi) - UInt64(lo) + 1 }
}

/// Code storage the sweep can compare quickly (one byte for formats of ≤ 8 bits, else two).
public protocol SweepCode: FixedWidthInteger & UnsignedInteger & Sendable {
    static func firstMismatch(_ codes: UnsafeBufferPointer<Self>, expected: Self) -> Int
}

extension UInt8: SweepCode {
    public static func firstMismatch(_ codes: UnsafeBufferPointer<UInt8>, expected: UInt8) -> Int {
        qk_find_mismatch_u8(codes.baseAddress, codes.count, expected)
    }
}

extension UInt16: SweepCode {
    public static func firstMismatch(_ codes: UnsafeBufferPointer<UInt16>, expected: UInt16) -> Int {
        qk_find_mismatch_u16(codes.baseAddress, codes.count, expected)
    }
}

/// The one generic exhaustive checker (after LLVM libc's exhaustive MPFR tests): an encoder
/// under test fills codes for consecutive Float32 bit patterns, and every code is compared with
/// the oracle's interval table.
///
/// - Work is split into blocks handed out from a shared cursor to `threads` workers; each block
///   is encoded in cache-sized chunks.
/// - Every pattern is counted: the result's `covered` must equal the size of `patterns`
///   (an exhaustive test elsewhere silently skipped a range — ours cannot pass that way).
/// - Counterexamples are kept per block and merged in input order, so the first ten are the same
///   for any thread count, block size or shard split.
public enum ExhaustiveSweep {
    public static let allPatterns: Range<UInt64> = 0..<(1 << 32)

    public struct Outcome: Sendable {
        public var covered: UInt64
        public var mismatches: UInt64
        /// (pattern, expected code, got code), the first few in input order.
        public var firstMismatches: [(pattern: UInt32, expected: UInt16, got: UInt16)]
    }

    /// Sweeps `patterns` (a sub-range of [0, 2^32)). `encode(start, buffer)` must write the
    /// codes of patterns `start ..< start + buffer.count`.
    public static func run<Code: SweepCode>(
        patterns: Range<UInt64> = allPatterns,
        intervals: [CodeInterval],
        codeType: Code.Type,
        threads: Int,
        chunk: Int = 1 << 16,
        keep: Int = SuiteResult.counterexampleLimit,
        progress: (@Sendable (UInt64) -> Void)? = nil,
        encode: @escaping @Sendable (UInt32, UnsafeMutableBufferPointer<Code>) -> Void
    ) -> Outcome {
        precondition(patterns.lowerBound >= 0 && patterns.upperBound <= 1 << 32)
        precondition(threads >= 1 && chunk > 0)
        let blockSize = UInt64(chunk) * 64
        let blockCount = Int((UInt64(patterns.count) + blockSize - 1) / blockSize)
        let state = SweepState(blocks: blockCount)
        let workers = max(1, min(threads, blockCount))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let buffer = UnsafeMutableBufferPointer<Code>.allocate(capacity: chunk)
            defer { buffer.deallocate() }
            while let b = state.nextBlock() {
                let lo = patterns.lowerBound + UInt64(b) * blockSize
                let hi = min(patterns.upperBound, lo + blockSize)
                var result = BlockResult()
                var start = lo
                while start < hi {
                    let n = Int(min(UInt64(chunk), hi - start))
                    let view = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
                    encode(UInt32(start), view)
                    check(view, start: start, intervals: intervals, keep: keep, into: &result)
                    result.covered += UInt64(n)
                    start += UInt64(n)
                }
                state.finish(block: b, result)
                progress?(hi - lo)
            }
        }
        return state.outcome(keep: keep)
    }

    /// Compares one chunk with the intervals overlapping it.
    static func check<Code: SweepCode>(
        _ codes: UnsafeMutableBufferPointer<Code>, start: UInt64, intervals: [CodeInterval], keep: Int,
        into result: inout BlockResult
    ) {
        let end = start + UInt64(codes.count)  // exclusive
        var i = firstInterval(containing: start, in: intervals)
        var pos = start
        while pos < end {
            precondition(i < intervals.count, "interval table does not cover pattern \(pos)")
            let iv = intervals[i]
            let segEnd = min(end, UInt64(iv.hi) + 1)
            let offset = Int(pos - start)
            let segment = UnsafeBufferPointer(rebasing: codes[offset..<Int(segEnd - start)])
            let expected = Code(truncatingIfNeeded: iv.code)
            var j = Code.firstMismatch(segment, expected: expected)
            while j < segment.count {
                result.mismatches += 1
                if result.first.count < keep {
                    result.first.append((UInt32(pos + UInt64(j)), iv.code, UInt16(segment[j])))
                }
                j += 1
                if j < segment.count {
                    j += Code.firstMismatch(UnsafeBufferPointer(rebasing: segment[j...]), expected: expected)
                }
            }
            pos = segEnd
            i += 1
        }
    }

    /// Index of the interval containing `pattern` (binary search; the table is sorted).
    public static func firstInterval(containing pattern: UInt64, in intervals: [CodeInterval]) -> Int {
        var lo = 0, hi = intervals.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if UInt64(intervals[mid].lo) <= pattern { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Checks that `intervals` is sorted, contiguous and covers [0, 2^32) exactly once.
    public static func isPartitionOfAllPatterns(_ intervals: [CodeInterval]) -> Bool {
        var next: UInt64 = 0
        for iv in intervals {
            guard UInt64(iv.lo) == next, iv.hi >= iv.lo else { return false }
            next = UInt64(iv.hi) + 1
        }
        return next == 1 << 32
    }

    struct BlockResult {
        var covered: UInt64 = 0
        var mismatches: UInt64 = 0
        var first: [(UInt32, UInt16, UInt16)] = []
    }

    final class SweepState: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private let count: Int
        private var results: [BlockResult?]

        init(blocks: Int) {
            count = blocks
            results = Array(repeating: nil, count: blocks)
        }

        func nextBlock() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard next < count else { return nil }
            next += 1
            return next - 1
        }

        func finish(block: Int, _ r: BlockResult) {
            lock.lock()
            results[block] = r
            lock.unlock()
        }

        func outcome(keep: Int) -> Outcome {
            var covered: UInt64 = 0, mismatches: UInt64 = 0
            var first: [(pattern: UInt32, expected: UInt16, got: UInt16)] = []
            // A block that never reported counts as not covered, so the coverage check fails.
            for r in results.compactMap({ $0 }) {
                covered += r.covered
                mismatches += r.mismatches
                for m in r.first where first.count < keep { first.append((m.0, m.1, m.2)) }
            }
            return Outcome(covered: covered, mismatches: mismatches, firstMismatches: first)
        }
    }
}
