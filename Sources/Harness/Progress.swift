import Formats
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of a long run (an exhaustive sweep, a benchmark set) on standard error.
///
/// - `.live`: one line rewritten in place (`\r` + erase-line) at most every 100 ms, with
///   percent, rate and ETA: for a terminal.
/// - `.plain`: a new line at every 10 % step and at least every 30 s: for CI logs.
/// - `.quiet`: nothing.
/// - `.automatic`: `.live` when standard error is a terminal (and `TERM` is not `dumb`),
///   else `.plain`.
///
/// `advance(by:)` may be called from any thread; lines never interleave because they are built
/// and written under one lock. Call it per chunk (thousands of inputs), not per input.
public final class ProgressReporter: Sendable {
    public enum Mode: Sendable, Hashable {
        case automatic, live, plain, quiet
    }

    private struct State {
        var done: UInt64 = 0
        var lastRender: Double = -.infinity
        var lastPlainStep: Int = 0
        var finished = false
    }

    public let label: String
    public let total: UInt64
    public let mode: Mode
    private let sink: @Sendable (String) -> Void
    private let now: @Sendable () -> Double
    private let start: Double
    private let state: Locked<State>

    /// - Parameters:
    ///   - sink: receives the exact text to emit (defaults to unbuffered standard error).
    ///   - now: a monotonic clock in seconds (injectable for tests).
    public init(
        label: String, total: UInt64, mode: Mode = .automatic,
        sink: @escaping @Sendable (String) -> Void = ProgressReporter.standardError,
        now: @escaping @Sendable () -> Double = ProgressReporter.monotonicSeconds
    ) {
        self.label = label
        self.total = total
        self.mode = mode == .automatic ? Self.automaticMode() : mode
        self.sink = sink
        self.now = now
        let start = now()
        self.start = start
        // Live mode draws at the first call; plain mode waits for the first 10 % (or 30 s).
        self.state = Locked(State(lastRender: self.mode == .live ? -.infinity : start))
    }

    /// Records `n` more units done and redraws if due.
    public func advance(by n: UInt64) {
        let t = now()
        state.withLock { s in
            guard !s.finished else { return }
            s.done += n
            switch mode {
            case .quiet, .automatic: return
            case .live:
                if t - s.lastRender >= 0.1 {
                    s.lastRender = t
                    sink("\r\u{1B}[K" + line(done: s.done, elapsed: t - start))
                }
            case .plain:
                let step = total == 0 ? 10 : Int(min(s.done, total) * 10 / total)
                if step > s.lastPlainStep || t - s.lastRender >= 30 {
                    s.lastPlainStep = max(step, s.lastPlainStep)
                    s.lastRender = t
                    if s.done < total { sink(line(done: s.done, elapsed: t - start) + "\n") }
                }
            }
        }
    }

    /// Ends the progress display with a summary line (once; later calls do nothing).
    public func finish() {
        let t = now()
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            let elapsed = t - start
            let rate = elapsed > 0 ? " (\(Self.formatRate(Double(s.done) / elapsed)))" : ""
            let summary = "\(label): \(s.done) done in \(Self.formatDuration(elapsed))\(rate)"
            switch mode {
            case .quiet, .automatic: return
            case .live: sink("\r\u{1B}[K" + summary + "\n")
            case .plain: sink(summary + "\n")
            }
        }
    }

    /// `label  42.1%  1.23 M/s  ETA 0:35`.
    func line(done: UInt64, elapsed: Double) -> String {
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let percent = String(format: "%5.1f%%", fraction * 100)
        guard elapsed > 0, done > 0 else { return "\(label) \(percent)" }
        let rate = Double(done) / elapsed
        let remaining = Double(total > done ? total - done : 0) / rate
        return "\(label) \(percent)  \(Self.formatRate(rate))  ETA \(Self.formatDuration(remaining))"
    }

    /// SI-prefixed units per second: `950 /s`, `1.23 k/s`, `4.56 G/s`.
    public static func formatRate(_ r: Double) -> String {
        let prefixes = ["", "k", "M", "G", "T"]
        var v = r
        var i = 0
        while v >= 1000 && i < prefixes.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? String(format: "%.0f /s", v) : String(format: "%.2f %@/s", v, prefixes[i])
    }

    /// `0:35`, `12:05`, `1:02:03`.
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }

    static func automaticMode() -> Mode {
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        return isatty(STDERR_FILENO) == 1 && term != "dumb" ? .live : .plain
    }

    /// Writes straight to file descriptor 2 (standard error is unbuffered; no interleaving
    /// within one call).
    public static let standardError: @Sendable (String) -> Void = { text in
        StandardStreams.writeError(text)
    }

    /// CLOCK_MONOTONIC in seconds.
    public static let monotonicSeconds: @Sendable () -> Double = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
