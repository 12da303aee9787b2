import Support
import Foundation
import Testing
@testable import Harness

/// Collects what a reporter writes, with a clock the test moves by hand.
final class ProgressProbe: Sendable {
    let output = Locked<[String]>([])
    let clock = Locked<Double>(0)
    var sink: @Sendable (String) -> Void { { s in self.output.withLock { $0.append(s) } } }
    var now: @Sendable () -> Double { { self.clock.withLock { $0 } } }
    func tick(_ dt: Double) { clock.withLock { $0 += dt } }
    var text: String { output.withLock { $0.joined() } }
}

@Suite("Progress reporting")
struct ProgressTests {
    @Test func plainModePrintsTenPercentSteps() {
        let p = ProgressProbe()
        let r = ProgressReporter(label: "verify", total: 1000, mode: .plain, sink: p.sink, now: p.now)
        for _ in 0..<100 { p.tick(0.01); r.advance(by: 10) }
        r.finish()
        let lines = p.text.split(separator: "\n")
        #expect(lines.count == 10)  // 10 %, …, 90 %, then the summary
        #expect(lines[0].hasPrefix("verify  10.0%"))
        #expect(lines[0].contains("ETA 0:01"))
        #expect(lines.last! == "verify: 1000 done in 0:01 (1000 /s)")
        #expect(!p.text.contains("\r"))
    }

    @Test func liveModeRewritesOneLineAndThrottles() {
        let p = ProgressProbe()
        let r = ProgressReporter(label: "sweep", total: 4_000_000, mode: .live, sink: p.sink, now: p.now)
        for _ in 0..<40 { p.tick(0.025); r.advance(by: 100_000) }  // 1 s in 40 calls
        r.finish()
        let writes = p.output.withLock { $0 }
        #expect(writes.allSatisfy { $0.hasPrefix("\r\u{1B}[K") })
        #expect(writes.count >= 9 && writes.count <= 12)  // every 100 ms, plus the final line
        #expect(writes.last! == "\r\u{1B}[Ksweep: 4000000 done in 0:01 (4.00 M/s)\n")
        #expect(writes.dropLast().allSatisfy { !$0.hasSuffix("\n") })
    }

    @Test func quietModeWritesNothing() {
        let p = ProgressProbe()
        let r = ProgressReporter(label: "x", total: 10, mode: .quiet, sink: p.sink, now: p.now)
        r.advance(by: 10)
        r.finish()
        #expect(p.text.isEmpty)
    }

    @Test func concurrentAdvancesAreCountedExactly() async {
        let p = ProgressProbe()
        let r = ProgressReporter(label: "par", total: 80_000, mode: .plain, sink: p.sink, now: p.now)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { for _ in 0..<10_000 { r.advance(by: 1) } } }
        }
        r.finish()
        r.finish()  // idempotent
        #expect(p.text.hasSuffix("par: 80000 done in 0:00\n"))
        #expect(p.text.components(separatedBy: "done").count == 2)
    }

    @Test func formatting() {
        #expect(ProgressReporter.formatRate(950) == "950 /s")
        #expect(ProgressReporter.formatRate(1_234_000_000) == "1.23 G/s")
        #expect(ProgressReporter.formatDuration(35) == "0:35")
        #expect(ProgressReporter.formatDuration(3723) == "1:02:03")
        #expect(ProgressReporter.formatDuration(.infinity) == "?")
    }
}
