// libFuzzer target: the gate configuration loader (`GateConfig.parse`).
//
// The input is the configuration file's bytes. Properties (a violation traps):
//   1. parsing never traps: it returns a configuration or throws a `GateConfigError` whose
//      description is one line naming the file;
//   2. an accepted configuration has every documented invariant: thread count ≥ 0,
//      repetitions ≥ 1 when given, a regression threshold and noise width that are finite and
//      non-negative, non-empty paths.
import Foundation
import Harness

@inline(never)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("gate fuzz: " + message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 ? Data() : Data(bytes: data!, count: size)
    do {
        let c = try GateConfig.parse(bytes, path: "gate.json")
        check(c.verify.threads >= 0, "negative thread count accepted")
        check(c.bench.repetitions.map { $0 >= 1 } ?? true, "repetitions < 1 accepted")
        check(c.bench.regressionThreshold.isFinite && c.bench.regressionThreshold >= 0, "bad threshold \(c.bench.regressionThreshold) accepted")
        check(c.bench.noiseSigmas.isFinite && c.bench.noiseSigmas >= 0, "bad noiseSigmas accepted")
        check(!c.report.output.isEmpty && !c.report.history.isEmpty && !c.golden.directory.isEmpty, "empty path accepted")
    } catch {
        let s = "\(error)"
        check(!s.contains("\n") && s.contains("gate.json"), "error is not one line naming the file: \(s)")
    }
    return 0
}
