import Foundation
import Formats

/// A half-open range of input indices `[lower, upper)`, e.g. Float32 bit patterns
/// `[0, 2^32)`. Stored as `UInt64` so the full 32-bit domain's end, 2^32, is representable.
public struct InputRange: Codable, Sendable, Hashable, CustomStringConvertible {
    public var lower: UInt64
    public var upper: UInt64

    public init(lower: UInt64, upper: UInt64) {
        precondition(lower <= upper, "InputRange lower \(lower) above upper \(upper)")
        self.lower = lower
        self.upper = upper
    }

    /// Every 32-bit input pattern: `[0, 2^32)`.
    public static let all32 = InputRange(lower: 0, upper: 1 << 32)

    public var count: UInt64 { upper - lower }
    public var isEmpty: Bool { lower == upper }

    public var description: String { "[0x\(String(lower, radix: 16)), 0x\(String(upper, radix: 16)))" }

    /// The `count` contiguous, non-overlapping ranges that tile this one, in order. Sizes differ
    /// by at most one: with `q, r = count.quotientAndRemainder(dividingBy: n)`, shard i
    /// (0-based) has `q + (i < r ? 1 : 0)` inputs and starts at `lower + i·q + min(i, r)`.
    /// Builds all `n` ranges: for one shard use `part(_:of:)`, which is O(1).
    ///
    /// Throws `ShardError.tooManyShards` when `n` exceeds the number of inputs (a shard would
    /// be empty), `.zeroCount` when `n < 1`.
    public func split(into n: Int) throws(ShardError) -> [InputRange] {
        try Self.checkSplit(count, into: n)
        return try (0..<n).map { i throws(ShardError) in try part(i, of: n) }
    }

    /// Part `i` (0-based) of this range split into `n` as `split(into:)` does, computed
    /// arithmetically in O(1) time and memory, so any `n` up to the number of inputs works
    /// (`--shard 2/4294967296` is one Float32 pattern).
    public func part(_ i: Int, of n: Int) throws(ShardError) -> InputRange {
        try Self.checkSplit(count, into: n)
        guard (0..<n).contains(i) else { throw .indexOutOfRange(index: i + 1, count: n) }
        let (q, r) = count.quotientAndRemainder(dividingBy: UInt64(n))
        let k = UInt64(i)
        // i·q + min(i, r) ≤ count: no overflow for any domain that fits UInt64.
        let start = lower + k * q + Swift.min(k, r)
        return InputRange(lower: start, upper: start + q + (k < r ? 1 : 0))
    }

    private static func checkSplit(_ inputs: UInt64, into n: Int) throws(ShardError) {
        guard n >= 1 else { throw .zeroCount }
        guard UInt64(n) <= inputs else { throw .tooManyShards(count: n, inputs: inputs) }
    }
}

/// Which part of a sharded run this process does: shard `index` of `count`, **1-based**
/// (`1/4` … `4/4`), the way people number CI jobs and the way `K/N` reads aloud.
///
/// Spellings accepted by `init(parsing:)`:
/// - `K/N` with decimal integers, 1 ≤ K ≤ N (`0/0`, `3/2`, `1/0`, `a/b`, `-1/4` are errors).
/// - `auto`: read from the environment, first match wins:
///   1. `QUANTCHECK_SHARD_INDEX` (1-based) and `QUANTCHECK_SHARD_COUNT` — for CI matrices;
///   2. Slurm job arrays: `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`; the position in
///      the array is `(ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP` (MIN defaults to 0,
///      STEP to 1), so `--array=1-8` and `--array=0-7` both give shards 1…8;
///   3. Kubernetes indexed Jobs: `JOB_COMPLETION_INDEX` (0-based), with the count given by
///      `--shard-count` (Kubernetes does not export `completions`).
///   A `shardCount` passed alongside must agree with the environment's count.
public struct ShardSpec: Sendable, Hashable, CustomStringConvertible {
    /// 1-based shard number.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1 else { throw .zeroCount }
        guard (1...count).contains(index) else { throw .indexOutOfRange(index: index, count: count) }
        self.index = index
        self.count = count
    }

    /// Parses `K/N` or `auto` (see the type's documentation).
    public init(
        parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        shardCount: Int? = nil
    ) throws(ShardError) {
        if let shardCount, shardCount < 1 { throw .zeroCount }
        if text == "auto" {
            self = try Self.fromEnvironment(environment, shardCount: shardCount)
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Self.decimal(parts[0]), let n = Self.decimal(parts[1]) else {
            throw .malformed(text)
        }
        try self.init(index: k, count: n)
        if let shardCount, shardCount != n {
            throw .inconsistent("shard '\(text)' says \(n) shards but --shard-count is \(shardCount)")
        }
    }

    /// 0-based position, for array indexing.
    public var zeroBasedIndex: Int { index - 1 }

    public var description: String { "\(index)/\(count)" }

    /// This shard's part of `domain` (see `InputRange.split(into:)`), in O(1) memory.
    public func range(of domain: InputRange) throws(ShardError) -> InputRange {
        try domain.part(zeroBasedIndex, of: count)
    }

    static func decimal(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 18, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s)
    }

    static func fromEnvironment(_ env: [String: String], shardCount: Int?) throws(ShardError) -> ShardSpec {
        func int(_ name: String) throws(ShardError) -> Int? {
            guard let raw = env[name] else { return nil }
            guard let v = decimal(Substring(raw.trimmingCharacters(in: .whitespaces))) else {
                throw .badEnvironment(name: name, value: raw)
            }
            return v
        }
        func checked(_ k: Int, _ n: Int, source: String) throws(ShardError) -> ShardSpec {
            if let shardCount, shardCount != n {
                throw .inconsistent("\(source) says \(n) shards but --shard-count is \(shardCount)")
            }
            return try ShardSpec(index: k, count: n)
        }
        if env["QUANTCHECK_SHARD_INDEX"] != nil || env["QUANTCHECK_SHARD_COUNT"] != nil {
            guard let k = try int("QUANTCHECK_SHARD_INDEX") else {
                throw .autoUnavailable("QUANTCHECK_SHARD_COUNT is set but QUANTCHECK_SHARD_INDEX is not")
            }
            guard let n = try int("QUANTCHECK_SHARD_COUNT") ?? shardCount else {
                throw .autoUnavailable("QUANTCHECK_SHARD_INDEX is set but neither QUANTCHECK_SHARD_COUNT nor --shard-count is")
            }
            return try checked(k, n, source: "QUANTCHECK_SHARD_COUNT")
        }
        if let id = try int("SLURM_ARRAY_TASK_ID") {
            guard let n = try int("SLURM_ARRAY_TASK_COUNT") ?? shardCount else {
                throw .autoUnavailable("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor --shard-count is")
            }
            let minimum = try int("SLURM_ARRAY_TASK_MIN") ?? 0
            let step = try int("SLURM_ARRAY_TASK_STEP") ?? 1
            guard step >= 1, id >= minimum, (id - minimum) % step == 0 else {
                throw .badEnvironment(name: "SLURM_ARRAY_TASK_ID", value: String(id))
            }
            return try checked((id - minimum) / step + 1, n, source: "SLURM_ARRAY_TASK_COUNT")
        }
        if let k0 = try int("JOB_COMPLETION_INDEX") {
            guard let n = shardCount else {
                throw .autoUnavailable("JOB_COMPLETION_INDEX is set; give the number of completions with --shard-count")
            }
            return try ShardSpec(index: k0 + 1, count: n)
        }
        throw .autoUnavailable(
            "none of QUANTCHECK_SHARD_INDEX, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX is set")
    }
}

/// What a sharded results file covers: shard `index`/`count` (1-based) of `domain`, i.e. the
/// inputs `range`. Written by verify, checked by merge.
public struct ShardInfo: Codable, Sendable, Hashable {
    public var index: Int
    public var count: Int
    public var domain: InputRange
    public var range: InputRange

    public init(spec: ShardSpec, domain: InputRange) throws(ShardError) {
        self.index = spec.index
        self.count = spec.count
        self.domain = domain
        self.range = try spec.range(of: domain)
    }

    public init(index: Int, count: Int, domain: InputRange, range: InputRange) {
        self.index = index
        self.count = count
        self.domain = domain
        self.range = range
    }

    func problem() -> String? {
        if count < 1 || index < 1 || index > count { return "shard \(index)/\(count) is not a valid 1-based shard" }
        if domain.lower > domain.upper { return "shard domain \(domain) has its bounds reversed" }
        if range.lower < domain.lower || range.upper > domain.upper || range.lower > range.upper {
            return "shard range \(range) lies outside its domain \(domain)"
        }
        // verify refuses to split a domain into empty shards (`ShardError.tooManyShards`).
        if UInt64(count) > domain.count {
            return "shard count \(count) exceeds the \(domain.count) inputs of its domain \(domain)"
        }
        return nil
    }
}

public enum ShardError: Error, Equatable, CustomStringConvertible, Sendable {
    case malformed(String)
    case zeroCount
    case indexOutOfRange(index: Int, count: Int)
    case tooManyShards(count: Int, inputs: UInt64)
    case autoUnavailable(String)
    case badEnvironment(name: String, value: String)
    case inconsistent(String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .malformed(let s): return "invalid shard '\(s)': expected K/N with 1 ≤ K ≤ N (e.g. 1/4), or 'auto'"
        case .zeroCount: return "invalid shard: the shard count must be at least 1"
        case .indexOutOfRange(let k, let n): return "invalid shard \(k)/\(n): shards are numbered 1…\(n)"
        case .tooManyShards(let n, let inputs): return "cannot split \(inputs) inputs into \(n) non-empty shards"
        case .autoUnavailable(let why): return "--shard auto: \(why)"
        case .badEnvironment(let name, let value): return "--shard auto: \(name)='\(value)' is not a valid shard number"
        case .inconsistent(let why): return "inconsistent shard settings: \(why)"
        }
    }
}
