import Conformance
import Foundation
import Testing
@testable import Harness

@Suite("Results file schema")
struct ResultsFileTests {
    func sampleFile() -> ResultsFile {
        var metricSuite = sampleSuite("smoothing-identity", caseName: "alpha=0.5")
        metricSuite.metrics = [Metric(name: "rel-error", value: 1.5e-7, bound: 1e-6), Metric(name: "unbounded", value: .infinity)]
        return ResultsFile(
            stamp: fixedStamp(),
            suites: [sampleSuite(mismatches: 3, counterexamples: 2), metricSuite],
            benchmarks: [sampleBench("codec.encode/e4m3fn", median: 1e-3)],
            shard: try! ShardInfo(spec: ShardSpec(index: 2, count: 4), domain: .all32))
    }

    @Test func roundTripIsExactAndDeterministic() throws {
        let file = sampleFile()
        let data = file.encoded()
        #expect(data == sampleFile().encoded())
        let back = try ResultsFile.decode(data)
        #expect(back == file)
        #expect(back.encoded() == data)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"unbounded\"") && text.contains("\"inf\""))
        // Sorted keys: "benchmarks" precedes "format" precedes "schemaVersion" precedes "stamp".
        let order = ["\"benchmarks\"", "\"format\"", "\"schemaVersion\"", "\"shard\"", "\"stamp\"", "\"suites\""]
            .map { text.range(of: $0)!.lowerBound }
        #expect(order == order.sorted())
        #expect(text.hasSuffix("}\n"))
    }

    @Test func atomicWriteAndLoad() throws {
        let dir = makeTempDirectory()
        let path = dir + "/results.json"
        try sampleFile().write(to: path)
        #expect(try ResultsFile.load(from: path) == sampleFile())
        // Replacing leaves no temporary file behind.
        try sampleFile().write(to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["results.json"])
    }

    @Test func stampOfThisProcess() {
        let s = RunStamp.current(commandLine: ["quantcheck", "bench"], environment: [:])
        #expect(s.coreCount >= 1)
        #expect(s.buildConfiguration == "debug" || s.buildConfiguration == "release")
        #expect(!s.cpuModel.isEmpty && !s.machine.isEmpty)
        #expect(s.date.hasSuffix("Z") && s.date.count == 20)
        #expect(s.gitCommit == "unknown" || s.gitCommit.count == 40)
        #if os(Linux)
        #expect(s.loadAverage.map { $0 >= 0 } == true)
        #endif
        #expect(RunStamp.current(environment: ["QUANTCHECK_MACHINE": "CI Runner #3"]).machine == "ci-runner-3")
        #expect(RunStamp.slug("AMD EPYC 7B13 64-Core Processor-2c") == "amd-epyc-7b13-64-core-processor-2c")
    }

    // MARK: Errors

    @Test func truncatedFile() {
        let data = sampleFile().encoded()
        for cut in [1, 10, data.count / 2, data.count - 3] {
            #expect(throws: ResultsError.truncated("r.json")) { try ResultsFile.decode(data.prefix(cut), path: "r.json") }
        }
    }

    @Test func emptyFile() {
        #expect(throws: ResultsError.empty("r.json")) { try ResultsFile.decode(Data(), path: "r.json") }
        #expect(throws: ResultsError.empty("r.json")) { try ResultsFile.decode(Data(" \n".utf8), path: "r.json") }
    }

    @Test func malformedJSON() {
        #expect {
            try ResultsFile.decode(Data("{\"format\": quantcheck}".utf8), path: "r.json")
        } throws: { e in
            guard case .malformedJSON("r.json", _) = e as? ResultsError else { return false }
            return !(e as! ResultsError).description.contains("\n")
        }
    }

    @Test func notAResultsFile() {
        #expect(throws: ResultsError.notAResultsFile("g.json")) { try ResultsFile.decode(Data("{\"verify\": {}}".utf8), path: "g.json") }
        #expect(throws: ResultsError.notAResultsFile("g.json")) { try ResultsFile.decode(Data("[1, 2]".utf8), path: "g.json") }
    }

    @Test func wrongSchemaVersion() throws {
        var object = try JSONSerialization.jsonObject(with: sampleFile().encoded()) as! [String: Any]
        object["schemaVersion"] = 2
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: ResultsError.unsupportedSchemaVersion("r.json", found: 2, supported: 1)) {
            try ResultsFile.decode(data, path: "r.json")
        }
        object["schemaVersion"] = "1"
        #expect(throws: ResultsError.invalidStructure("r.json", detail: "missing or non-integer 'schemaVersion'")) {
            try ResultsFile.decode(try JSONSerialization.data(withJSONObject: object), path: "r.json")
        }
    }

    @Test func missingKeyIsNamed() throws {
        var object = try JSONSerialization.jsonObject(with: sampleFile().encoded()) as! [String: Any]
        var suites = object["suites"] as! [[String: Any]]
        suites[1].removeValue(forKey: "covered")
        object["suites"] = suites
        #expect(throws: ResultsError.invalidStructure("r.json", detail: "missing key 'covered' at suites[1]")) {
            try ResultsFile.decode(try JSONSerialization.data(withJSONObject: object), path: "r.json")
        }
    }

    @Test func wrongTypeIsNamed() throws {
        var object = try JSONSerialization.jsonObject(with: sampleFile().encoded()) as! [String: Any]
        var stamp = object["stamp"] as! [String: Any]
        stamp["coreCount"] = "two"
        object["stamp"] = stamp
        #expect(throws: ResultsError.invalidStructure("r.json", detail: "expected Int at stamp.coreCount")) {
            try ResultsFile.decode(try JSONSerialization.data(withJSONObject: object), path: "r.json")
        }
    }

    @Test func inconsistentContent() {
        var f = sampleFile()
        f.suites[0].mismatches = 1000
        #expect(throws: ResultsError.invalidContent("r.json", detail: "suites[0] 'encode e4m3fn/sat/rne': mismatches (1000) exceed covered inputs (100)")) {
            try ResultsFile.decode(f.encoded(), path: "r.json")
        }
        f = sampleFile()
        f.benchmarks[0].medianSeconds *= 2
        #expect(throws: ResultsError.invalidContent("r.json", detail: "benchmarks[0] 'codec.encode/e4m3fn': median/min/max/MAD do not match the samples")) {
            try ResultsFile.decode(f.encoded(), path: "r.json")
        }
        f = sampleFile()
        f.benchmarks.append(f.benchmarks[0])
        #expect(throws: ResultsError.invalidContent("r.json", detail: "duplicate benchmark names")) {
            try ResultsFile.decode(f.encoded(), path: "r.json")
        }
        f = sampleFile()
        f.shard!.range = InputRange(lower: 0, upper: 1 << 33)
        #expect(throws: ResultsError.invalidContent("r.json", detail: "shard range [0x0, 0x200000000) lies outside its domain [0x0, 0x100000000)")) {
            try ResultsFile.decode(f.encoded(), path: "r.json")
        }
    }

    @Test func fileErrors() throws {
        let dir = makeTempDirectory()
        #expect(throws: ResultsError.unreadable(dir + "/none.json", reason: "no such file")) { try ResultsFile.load(from: dir + "/none.json") }
        #expect(throws: ResultsError.unreadable(dir, reason: "is a directory")) { try ResultsFile.load(from: dir) }
        #expect(throws: OutputError.pathIsDirectory(dir)) { try sampleFile().write(to: dir) }
        #expect(throws: OutputError.directoryMissing(dir + "/sub")) { try sampleFile().write(to: dir + "/sub/r.json") }
        let file = dir + "/plain"
        try Data().write(to: URL(fileURLWithPath: file))
        #expect(throws: OutputError.notADirectory(file)) { try sampleFile().write(to: file + "/r.json") }
        #expect(throws: OutputError.notADirectory(file)) { try AtomicFile.ensureDirectory(file) }
        #expect(throws: OutputError.notADirectory(file)) { try AtomicFile.ensureDirectory(file + "/a/b") }
        try AtomicFile.ensureDirectory(dir + "/x/y")
        #expect(FileManager.default.fileExists(atPath: dir + "/x/y"))
    }

    @Test func messagesAreOneLine() {
        let errors: [any Error & CustomStringConvertible] = [
            ResultsError.truncated("a"), ResultsError.unsupportedSchemaVersion("a", found: 9, supported: 1),
            OutputError.writeFailed("a", reason: "No space left on device"), ResultsError.notAResultsFile("b"),
        ]
        for e in errors { #expect(!e.description.contains("\n") && !e.description.isEmpty) }
    }
}
