import Formats
import Foundation
import Quant

/// The file path of `quantcheck encode`: a Float32 `.npy` on disk → an e4m3fn `.npy`, through
/// `FileConversion.encode`, the code the command runs (open, read, convert, write, rename).
///
/// The input (the DRAM-sized `BenchInputs.floats`, 64 MiB) is written once, untimed, to a
/// temporary directory; each timed call deletes the previous output and writes a new one
/// without `fsync` (the command's default), so the figure is the page-cache speed of the whole
/// path. Unlike the kernel cases the body allocates (its chunk and block buffers): the command
/// does too. Not in the cache size class: a file that small measures system calls only.
public enum FileBenchmarks {
    public static let encode: @Sendable (BenchContext) -> [BenchCase] = { ctx in
        guard ctx.sizes.contains(.dram) else { return [] }
        let f = FloatFormat.e4m3fn
        let codec = NarrowFloatCodec(format: f)
        let n = BenchContext.elements(.dram)
        var parameters = CodecBenchmarks.parameters(f, codec.policy)
        parameters["path"] = ".npy float32 file → .npy uint8 file (page cache, no fsync)"
        return ctx.threadCounts.map { t in
            BenchCase(
                name: BenchCase.standardName(group: "file.encode", variant: f.name, size: .dram, threads: t),
                group: "file.encode", parameters: parameters, sizeClass: .dram, threads: t,
                elements: n, bytes: n * (4 + 1),
                prepare: {
                    let files = ScratchFiles(input: BenchInputs.floats(n))
                    return {
                        unlink(files.output)
                        do {
                            let source = try NPYStreamReader(path: files.input)
                            try FileConversion.encode(source, to: files.output, raw: false, codec: codec, threads: t, durability: .processSafe)
                        } catch {
                            preconditionFailure("file.encode benchmark: \(error)")
                        }
                    }
                })
        }
    }
}

/// A temporary directory holding a benchmark's input `.npy` and output, removed with the object.
final class ScratchFiles: @unchecked Sendable {
    let directory: String
    let input: String
    let output: String

    init(input values: HeapBuffer<Float>) {
        directory = NSTemporaryDirectory() + "quantcheck-bench-\(getpid())-\(UUID().uuidString)"
        input = directory + "/input.npy"
        output = directory + "/output.npy"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try NPY.write(try NPYArray(.float32(Array(values.buffer))), to: input)
        } catch {
            preconditionFailure("file benchmark: cannot write its input under \(directory): \(error)")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}
