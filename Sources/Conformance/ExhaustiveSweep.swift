import Dispatch
import Foundation
import Formats
import Oracle
import CheckKernels

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

/// The one generic exhaustive checker and the one scheduler of a sweep (after LLVM libc's
/// exhaustive MPFR tests): an implementation fills codes for consecutive Float32 bit patterns,
/// and every code is compared with the oracle's interval table.
///
/// - Work is split into blocks handed out by `SweepState` to `workers` threads (one
///   implementation worker each: a thread in process, a worker process for a plugin).
/// - Every pattern is counted: the case's `covered` must equal the size of `patterns`
///   (an exhaustive test elsewhere silently skipped a range — ours cannot pass that way).
/// - Each block records into its own `MismatchRecorder`; merged, they keep the first
///   counterexamples in input order, the same for any thread count, block size or shard split.
public enum ExhaustiveSweep {
    public static let allPatterns: Range<UInt64> = 0..<(1 << 32)

    /// Sweeps `patterns` (a sub-range of [0, 2^32)) in blocks of `blockSize`.
    /// `encodeBlock(worker, range, deliver)` must hand every code of `range` it produced to
    /// `deliver(first pattern, codes)` and return the faults it met; inputs not delivered count
    /// as not covered. `stop()` is asked before each block (a host that gave up); a thrown error
    /// stops every worker and is rethrown. `explain(pattern, expected, got)` writes a kept
    /// mismatch's counterexample. `matcher` relaxes the comparison where the answer is a NaN
    /// (nil: code for code).
    public static func run<Code: SweepCode>(
        patterns: Range<UInt64> = allPatterns, blockSize: UInt64, workers: Int, intervals: [RoundingIntervalTable.Interval],
        progress: (@Sendable (UInt64) -> Void)? = nil, stop: @escaping @Sendable () -> Bool = { false },
        explain: @escaping @Sendable (UInt32, UInt16, UInt16) -> Counterexample, matcher: CodeMatcher? = nil,
        encodeBlock: @escaping @Sendable (Int, Range<UInt64>, (UInt64, UnsafeBufferPointer<Code>) -> Void) throws -> [ConversionFault]
    ) throws -> (MismatchRecorder, [ConversionFault]) {
        precondition(patterns.lowerBound >= 0 && patterns.upperBound <= 1 << 32)
        precondition(workers >= 1 && blockSize > 0)
        let blockCount = Int((UInt64(patterns.count) + blockSize - 1) / blockSize)
        let state = SweepState(blocks: blockCount)
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, blockCount))) { w in
            while !stop(), let b = state.nextBlock() {
                let lo = patterns.lowerBound + UInt64(b) * blockSize
                let hi = min(patterns.upperBound, lo + blockSize)
                var recorder = MismatchRecorder()
                do {
                    let faults = try encodeBlock(w, lo..<hi) { first, codes in
                        check(codes, start: first, intervals: intervals, into: &recorder, matcher: matcher, explain: explain)
                    }
                    state.finish(block: b, recorder, faults)
                } catch {
                    state.fail(block: b, recorder, error)
                }
                progress?(hi - lo)
            }
        }
        return try state.outcome()
    }

    /// Compares one run of codes with the intervals overlapping it.
    ///
    /// The scan runs once per mismatch in a wrong encoder (2^31 times for one that overflows to
    /// NaN), so it must be specialised for the concrete code type: a host in another module
    /// reaches this through unspecialised generic code, where each integer conversion would be a
    /// witness-table call. The cast happens once per run of codes.
    static func check<Code: SweepCode>(
        _ codes: UnsafeBufferPointer<Code>, start: UInt64, intervals: [RoundingIntervalTable.Interval], into recorder: inout MismatchRecorder,
        matcher: CodeMatcher? = nil, explain: (UInt32, UInt16, UInt16) -> Counterexample
    ) {
        let lenient = matcher.flatMap { $0.isExact ? nil : $0 }
        if let bytes = codes as? UnsafeBufferPointer<UInt8> {
            scan(bytes, start: start, intervals: intervals, into: &recorder, matcher: lenient, explain: explain)
        } else if let halves = codes as? UnsafeBufferPointer<UInt16> {
            scan(halves, start: start, intervals: intervals, into: &recorder, matcher: lenient, explain: explain)
        } else {
            scan(codes, start: start, intervals: intervals, into: &recorder, matcher: lenient, explain: explain)
        }
    }

    /// `matcher` is nil when codes compare exactly; else runs whose answer is a NaN the rule
    /// relaxes are compared element by element (the other runs keep the vector comparator).
    private static func scan<Code: SweepCode>(
        _ codes: UnsafeBufferPointer<Code>, start: UInt64, intervals: [RoundingIntervalTable.Interval], into recorder: inout MismatchRecorder,
        matcher: CodeMatcher?, explain: (UInt32, UInt16, UInt16) -> Counterexample
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
            if let m = matcher, m.isLenient(iv.code) {
                for (j, c) in segment.enumerated() where !m.matches(expected: iv.code, got: UInt16(c)) {
                    let p = pos + UInt64(j), got = UInt16(c)
                    recorder.recordMismatch(at: p) { explain(UInt32(p), iv.code, got) }
                }
                pos = segEnd
                i += 1
                continue
            }
            let expected = Code(truncatingIfNeeded: iv.code)
            var j = Code.firstMismatch(segment, expected: expected)
            while j < segment.count {
                let p = pos + UInt64(j), got = UInt16(segment[j])
                recorder.recordMismatch(at: p) { explain(UInt32(p), iv.code, got) }
                j += 1
                if j < segment.count {
                    j += Code.firstMismatch(UnsafeBufferPointer(rebasing: segment[j...]), expected: expected)
                }
            }
            pos = segEnd
            i += 1
        }
        recorder.addCovered(UInt64(codes.count))
    }

    /// Index of the interval containing `pattern` (binary search; the table is sorted).
    public static func firstInterval(containing pattern: UInt64, in intervals: [RoundingIntervalTable.Interval]) -> Int {
        var lo = 0, hi = intervals.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if UInt64(intervals[mid].lo) <= pattern { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Checks that `intervals` is sorted, contiguous and covers [0, 2^32) exactly once.
    public static func isPartitionOfAllPatterns(_ intervals: [RoundingIntervalTable.Interval]) -> Bool {
        var next: UInt64 = 0
        for iv in intervals {
            guard UInt64(iv.lo) == next, iv.hi >= iv.lo else { return false }
            next = UInt64(iv.hi) + 1
        }
        return next == 1 << 32
    }

    /// The sweep's scheduler: hands out block numbers and collects each block's evidence.
    final class SweepState: Sendable {
        private struct State {
            var next = 0
            var recorder = MismatchRecorder()
            var faults: [(block: Int, faults: [ConversionFault])] = []
            var error: (block: Int, error: any Error)?
        }

        private let count: Int
        private let state = Locked(State())

        init(blocks: Int) { count = blocks }

        /// The next block to sweep; nil when all are handed out or a worker failed.
        func nextBlock() -> Int? {
            state.withLock { s in
                guard s.next < count, s.error == nil else { return nil }
                s.next += 1
                return s.next - 1
            }
        }

        func finish(block: Int, _ recorder: MismatchRecorder, _ faults: [ConversionFault]) {
            state.withLock { s in
                s.recorder.merge(recorder)
                if !faults.isEmpty { s.faults.append((block, faults)) }
            }
        }

        /// A block whose implementation threw: what it checked counts, the first error (by block)
        /// is rethrown by `outcome`.
        func fail(block: Int, _ recorder: MismatchRecorder, _ error: any Error) {
            state.withLock { s in
                s.recorder.merge(recorder)
                if s.error.map({ block < $0.block }) ?? true { s.error = (block, error) }
            }
        }

        /// The merged evidence; blocks never handed out count as not covered, so the coverage
        /// check fails. Faults in block order.
        func outcome() throws -> (MismatchRecorder, [ConversionFault]) {
            let s = state.withLock { $0 }
            if let e = s.error { throw e.error }
            return (s.recorder, s.faults.sorted { $0.block < $1.block }.flatMap(\.faults))
        }
    }
}
