import Formats
import Foundation

/// A plugin fault pinned to the inputs it happened on.
struct IsolatedFault: Sendable {
    /// The inputs blamed: one input when bisection isolated it, else the call's whole range.
    var inputs: Range<UInt64>
    var fault: PluginFault
    /// The plugin call in which the fault was first seen (absolute input indices).
    var firstCall: Range<UInt64>
    /// False when the call faulted but none of its halves did (a fault that depends on more
    /// than the input: state, timing, or a time limit too tight).
    var reproduced: Bool
}

/// Limits on fault isolation per case, shared by the threads of a sweep: each fault restarts the
/// worker, and isolating one input takes about log2(chunk) restarts.
final class FaultBudget: Sendable {
    private struct Counts {
        var isolated = 0
        var events = 0
        var stopReason: String?
    }

    private let counts = Locked(Counts())
    let maxIsolated: Int
    let maxEvents: Int

    init(maxIsolated: Int, maxEvents: Int) {
        self.maxIsolated = maxIsolated
        self.maxEvents = maxEvents
    }

    /// Why the case stopped, once the budget is spent.
    var stopReason: String? { counts.withLock { $0.stopReason } }

    var exhausted: Bool { stopReason != nil }

    /// Counts one fault (one worker restart); false once the budget is spent.
    func spendEvent() -> Bool {
        counts.withLock { c in
            c.events += 1
            if c.events > maxEvents, c.stopReason == nil {
                c.stopReason = "stopped after \(maxEvents) worker restarts; the remaining inputs were not checked"
            }
            return c.stopReason == nil
        }
    }

    func recordIsolated() {
        counts.withLock { c in
            c.isolated += 1
            if c.isolated >= maxIsolated, c.stopReason == nil {
                c.stopReason = "stopped after \(maxIsolated) faults; the remaining inputs were not checked"
            }
        }
    }

    var restarts: Int { counts.withLock { $0.events } }
}

/// Runs inputs through one worker slot in requests of at most `capacity`, and turns every
/// fault into an `IsolatedFault` pinned to a single input where possible:
///
/// 1. The worker reports which plugin call was running (shared-memory header), so the calls
///    before it are good: their outputs are consumed.
/// 2. The faulting call is split in halves, each run in a fresh worker; a half that faults is
///    split again, down to one input (depth ≈ log2(chunk) ≈ 16). Halves that run cleanly are
///    consumed, so every input except the faulting ones is still checked.
/// 3. Work continues after the faulting call.
///
/// Time limits: a request of `capacity` inputs gets `timeout`; while bisecting, a probe of n
/// inputs gets the same per-input rate but at least `minimumProbeTimeout`, and a single input
/// gets the full `timeout` before it is declared hung.
struct FaultIsolatingRunner {
    typealias Request = (PluginWorkerSlot, _ first: UInt64, _ count: Int, _ timeout: Double) throws(PluginError) -> PluginWorkerSlot.Outcome
    /// Receives the outputs of inputs `first ..< first + count`.
    typealias Consume = (_ first: UInt64, _ count: Int, _ outputs: UnsafeRawPointer) -> Void

    let slot: PluginWorkerSlot
    let timeout: Double
    let minimumProbeTimeout: Double
    let budget: FaultBudget
    let outputStride: Int
    let request: Request
    let consume: Consume
    private(set) var faults: [IsolatedFault] = []
    private(set) var covered: UInt64 = 0

    init(
        slot: PluginWorkerSlot, timeout: Double, minimumProbeTimeout: Double, budget: FaultBudget, outputStride: Int,
        request: @escaping Request, consume: @escaping Consume
    ) {
        self.slot = slot
        self.timeout = timeout
        self.minimumProbeTimeout = minimumProbeTimeout
        self.budget = budget
        self.outputStride = outputStride
        self.request = request
        self.consume = consume
    }

    mutating func run(_ range: Range<UInt64>) throws(PluginError) {
        try process(range, probing: false)
    }

    private func probeTimeout(_ n: Int) -> Double {
        if n == 1 { return timeout }
        return max(timeout * Double(n) / Double(slot.capacity), min(timeout, minimumProbeTimeout))
    }

    private mutating func take(_ first: UInt64, _ count: Int, at offset: Int) {
        guard count > 0 else { return }
        consume(first, count, slot.output + offset * outputStride)
        covered += UInt64(count)
    }

    private mutating func process(_ range: Range<UInt64>, probing: Bool) throws(PluginError) {
        var pos = range.lowerBound
        while pos < range.upperBound {
            if budget.exhausted { return }
            let n = Int(min(UInt64(slot.capacity), range.upperBound - pos))
            switch try request(slot, pos, n, probing ? probeTimeout(n) : timeout) {
            case .ok:
                take(pos, n, at: 0)
                pos += UInt64(n)
            case .fault(let fault, let call):
                let c = call.map { (pos + $0.lowerBound)..<(pos + min($0.upperBound, UInt64(n))) } ?? pos..<(pos + UInt64(n))
                take(pos, Int(c.lowerBound - pos), at: 0)
                let canContinue = budget.spendEvent()
                if c.count == 1 || !canContinue {
                    record(IsolatedFault(inputs: c, fault: fault, firstCall: c, reproduced: true))
                    if !canContinue { return }
                } else {
                    let before = faults.count
                    let mid = c.lowerBound + UInt64(c.count / 2)
                    try process(c.lowerBound..<mid, probing: true)
                    try process(mid..<c.upperBound, probing: true)
                    if faults.count == before, !budget.exhausted {
                        record(IsolatedFault(inputs: c, fault: fault, firstCall: c, reproduced: false))
                    } else if faults.count > before {
                        // Name the call the fault was first seen in, not the probe that isolated it.
                        for i in before..<faults.count where faults[i].firstCall.count < c.count
                            && faults[i].firstCall.lowerBound >= c.lowerBound && faults[i].firstCall.upperBound <= c.upperBound {
                            faults[i].firstCall = c
                        }
                    }
                }
                pos = c.upperBound
            }
        }
    }

    private mutating func record(_ f: IsolatedFault) {
        faults.append(f)
        budget.recordIsolated()
    }
}
