import Foundation
import Testing
@testable import Harness

#if canImport(Glibc)
import Glibc
#endif

/// `bench --instructions`: Callgrind dump parsing, its refusals, and (when Valgrind is
/// installed and the build is not sanitised) real counts that repeat exactly.
struct InstructionCountTests {
    @Test func totalsLineIsTheIrCount() {
        let dump = """
            version: 1
            creator: callgrind-3.19.0
            desc: Trigger: --dump-after=x
            events: Ir
            fn=(1) kernel
            3 45164
            summary: 45164
            totals: 45164
            """
        #expect(InstructionCount.parseTotals(dump) == 45164)
        // An older dump with only `summary:` still counts; `totals:` wins when both differ.
        #expect(InstructionCount.parseTotals("events: Ir\nsummary: 12\n") == 12)
        #expect(InstructionCount.parseTotals("summary: 12\ntotals: 13\n") == 13)
    }

    @Test func dumpsWithoutACountAreRefused() {
        #expect(InstructionCount.parseTotals("") == nil)
        #expect(InstructionCount.parseTotals("events: Ir\nfn=(1) f\n3 10\n") == nil)
        #expect(InstructionCount.parseTotals("totals: many\n") == nil)
        #expect(InstructionCount.parseTotals("totals: -5\n") == nil)
    }

    @Test func onlySingleThreadedCasesAreCounted() {
        let t1 = MemoryCopy.reference(size: .cache, threads: 1)
        let t2 = MemoryCopy.reference(size: .cache, threads: 2)
        #expect(InstructionCount.isCountable(t1))
        #expect(!InstructionCount.isCountable(t2))
    }

    @Test func missingValgrindIsOneClearError() {
        let c = MemoryCopy.reference(size: .cache, threads: 1)
        #expect(throws: InstructionCountError.valgrindMissing("/nonexistent/valgrind")) {
            try InstructionCount.measure([c], executable: "/bin/true", valgrind: "/nonexistent/valgrind")
        }
        #expect(InstructionCountError.valgrindMissing("valgrind").description.split(separator: "\n").count == 1)
    }

    /// The worker must really run the cases: a worker that does nothing (here `/bin/true`
    /// under Valgrind) writes no dump and must fail, never yield counts.
    @Test func aWorkerThatDumpsNothingFails() throws {
        guard InstructionCount.findExecutable("valgrind") != nil else { return }
        let c = MemoryCopy.reference(size: .cache, threads: 1)
        #expect(throws: InstructionCountError.missingDump(case: c.name, expected: 1, found: 0)) {
            try InstructionCount.measure([c], executable: "/bin/true")
        }
    }

    /// The built CLI counted twice gives identical counts; more work gives more instructions
    /// (1 Ki copies of 64 KiB vs one: the dram copy moves 1024× the bytes).
    @Test func countsRepeatExactlyAndFollowTheWork() throws {
        guard InstructionCount.findExecutable("valgrind") != nil else { return }
        // Valgrind cannot run a sanitised binary (ASan/TSan reserve the shadow memory it needs).
        guard dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") == nil,
              dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") == nil else { return }
        let binary = try #require(CLI.binary)
        let cases = BenchRegistry.cases().filter { ["memcpy/cache/t1", "codec.decode/e4m3fn/cache/t1"].contains($0.name) }
        try #require(cases.count == 2)
        let a = try InstructionCount.measure(cases, executable: binary)
        let b = try InstructionCount.measure(cases, executable: binary)
        #expect(a == b)
        #expect(a.allSatisfy { $0 > 1000 }, "\(a)")
        // Order follows the cases: 16 Ki decoded elements cost more than 2 instructions each.
        let decode = a[cases.firstIndex { $0.name.hasPrefix("codec.decode") }!]
        #expect(decode > 2 * 16384, "\(a)")
    }
}
