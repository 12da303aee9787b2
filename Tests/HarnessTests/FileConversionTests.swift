import Foundation
import Testing
import Formats
import Quant
@testable import Harness

/// `FileConversion`, the path `encode` and `decode` run: the file result is the in-memory
/// codec's, element for element, whatever the thread count, across chunk and block boundaries,
/// from every input dtype and from a pipe; the error reported is the lowest-indexed one.
@Suite("File conversion")
struct FileConversionTests {
    let dir = makeTempDirectory("fileconversion")
    /// Two chunks and a partial third; not a multiple of the block or of 64.
    static let count = 2 * FileConversion.chunkElements + 40_001

    static func floats() -> [Float] {
        (0..<count).map { i in
            let r = SplitMix64.draw(seed: 7, index: UInt64(i))
            return Float(sign: r & 1 == 0 ? .plus : .minus, exponent: Int((r >> 8) % 40) - 20,
                         significand: 1 + Float(UInt32(truncatingIfNeeded: r >> 16) >> 9) * 0x1p-23)
        }
    }

    func codes(_ path: String) throws -> [UInt8] {
        guard case .uint8(let c) = try NPY.read(path: path).storage else { throw NPYError(.dtypeMismatch(expected: "uint8", found: "?")) }
        return c
    }

    @Test(arguments: [RoundingRule.toNearestOrEven, .stochastic])
    func encodeMatchesTheCodecAtEveryThreadCount(_ rounding: RoundingRule) throws {
        let xs = Self.floats()
        let input = dir + "/in.npy"
        try NPY.write(try NPYArray(.float32(xs), shape: [Self.count]), to: input)
        let codec = NarrowFloatCodec(format: .e4m3fn, policy: ConversionPolicy(rounding: rounding, overflow: .saturating))
        var expected = [UInt8](repeating: 0, count: Self.count)
        try xs.withUnsafeBufferPointer { x in
            try expected.withUnsafeMutableBufferPointer { try codec.encode(x, into: $0, seed: 99, threads: 1) }
        }
        for threads in [1, 2, 3] {
            let out = dir + "/out-\(threads).npy"
            try FileConversion.encode(try NPYStreamReader(path: input), to: out, raw: false, codec: codec, seed: 99,
                                      threads: threads, durability: .processSafe)
            #expect(try codes(out) == expected, "threads \(threads)")
        }
        // Negative control: another seed changes stochastic results (the seed is really used).
        if rounding == .stochastic {
            let out = dir + "/other-seed.npy"
            try FileConversion.encode(try NPYStreamReader(path: input), to: out, raw: false, codec: codec, seed: 100,
                                      threads: 2, durability: .processSafe)
            #expect(try codes(out) != expected)
        }
    }

    /// float64, float16 and bfloat16 files give the codec's codes for the same values.
    @Test func everyInputDType() throws {
        let xs = Array(Self.floats().prefix(FileConversion.chunkElements + 777))
        let codec = NarrowFloatCodec(format: .e5m2)
        let halfBits = xs.map { Float16($0).bitPattern }
        let bf16Bits = xs.map { UInt16($0.bitPattern >> 16) }
        let inputs: [(NPYArray.Storage, [UInt8])] = [
            (.float64(xs.map(Double.init)), try codec.encode(xs)),
            (.float16(bits: halfBits), try codec.encode(halfBits.map { Float(Float16(bitPattern: $0)) })),
            (.bfloat16(bits: bf16Bits), try codec.encode(bf16Bits.map { Float(bitPattern: UInt32($0) << 16) })),
        ]
        for (storage, expected) in inputs {
            let input = dir + "/in-\(storage.dtype.name).npy"
            try NPY.write(try NPYArray(storage), to: input)
            let out = dir + "/out-\(storage.dtype.name).npy"
            try FileConversion.encode(try NPYStreamReader(path: input), to: out, raw: false, codec: codec, threads: 2, durability: .crashSafe)
            #expect(try codes(out) == expected, "\(storage.dtype.name)")
        }
    }

    /// Invalid codes in both workers' slices and in a later chunk: the lowest index is reported.
    @Test func decodeReportsTheLowestInvalidIndex() throws {
        let n = FileConversion.chunkElements * 2
        var codes = [UInt8](repeating: 0x03, count: n)
        let slice = FileConversion.chunkElements / 2
        codes[slice + 10] = 0x20  // second worker's slice
        codes[slice - 10] = 0x30  // first worker's slice, lower: this one
        codes[FileConversion.chunkElements + 5] = 0x40  // next chunk: never reached
        try NPY.write(try NPYArray(.uint8(codes)), to: dir + "/codes.npy")
        #expect(throws: CodecError.invalidCode(index: slice - 10, code: 0x30, format: "e2m1fn")) {
            try FileConversion.decode(try NPYStreamReader(path: dir + "/codes.npy"), to: dir + "/o.npy", raw: false,
                                      codec: NarrowFloatCodec(format: .e2m1fn), threads: 2, durability: .processSafe)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.npy"))
    }

    /// A pipe (here a `Pipe`, as stdin would be) converts like the file, raw and `.npy`.
    @Test func pipeSourceMatchesTheFile() throws {
        let xs = Array(Self.floats().prefix(FileConversion.chunkElements + 999))
        let npy = NPY.encode(try NPYArray(.float32(xs)))
        let codec = NarrowFloatCodec(format: .e4m3fn)
        let expected = try codec.encode(xs)
        for raw in [false, true] {
            let pipe = Pipe()
            let bytes = raw ? npy.suffix(xs.count * 4) : npy
            let writing = DispatchGroup()
            DispatchQueue.global().async(group: writing) {
                try? pipe.fileHandleForWriting.write(contentsOf: bytes)
                try? pipe.fileHandleForWriting.close()
            }
            let source = try NPYPipeReader(descriptor: pipe.fileHandleForReading.fileDescriptor, name: "-", rawDType: raw ? .float32 : nil)
            #expect(source.knownShape == (raw ? nil : [xs.count]))
            let out = dir + "/pipe-\(raw).bin"
            try FileConversion.encode(source, to: out, raw: raw, codec: codec, threads: 2, durability: .processSafe)
            writing.wait()
            let written = try #require(FileManager.default.contents(atPath: out))
            #expect(Array(raw ? written : written.suffix(xs.count)) == expected, "raw \(raw)")
        }
    }

    @Test func threadCountMustBePositive() throws {
        try NPY.write(try NPYArray(.float32([1, 2])), to: dir + "/two.npy")
        #expect(throws: CodecError.invalidThreadCount(0)) {
            try FileConversion.encode(try NPYStreamReader(path: dir + "/two.npy"), to: dir + "/o.npy", raw: false,
                                      codec: NarrowFloatCodec(format: .e4m3fn), threads: 0, durability: .processSafe)
        }
    }
}
