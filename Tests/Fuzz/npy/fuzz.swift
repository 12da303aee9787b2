// libFuzzer target: the `.npy` reader (`NPY.decode`, `NPY.read(path:)`, `NPY.decodeRaw`).
//
// The input is the file image itself. Properties (a violation traps):
//   1. decoding never traps and never allocates more than the image holds: it returns an
//      array or throws an `NPYError` with a one-line description;
//   2. the in-memory decoder and the file reader agree (same array or same error kind) — the
//      file path has its own size, seek and read logic;
//   3. an accepted image round-trips: encode(decode(image)) decodes to the same shape, dtype and
//      bytes, and the Float32/Float64 views either succeed consistently or throw typed errors;
//   4. the raw reader accepts exactly the images whose length is a multiple of the item size.
import Foundation
import Harness

@inline(never)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("npy fuzz: " + message()) }
}

/// One scratch file per process, on tmpfs when available (the file reader needs a path).
let scratchPath: String = {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return (dir as NSString).appendingPathComponent("quantcheck-npy-fuzz-\(getpid()).npy")
}()

func oneLine(_ e: NPYError) {
    let s = e.description
    check(!s.isEmpty && !s.contains("\n"), "error message is not one line: \(s)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let image = size == 0 ? Data() : Data(bytes: data!, count: size)
    // Keep every run's memory bounded by the image: a 1 MiB element cap is far above any image
    // libFuzzer builds (-max_len), so a larger declared shape must be refused, not allocated.
    let cap = 1 << 20
    let memory: Result<NPYArray, NPYError>
    do { memory = .success(try NPY.decode(image, maxElements: cap)) } catch { memory = .failure(error) }

    // The file reader must agree with the in-memory decoder.
    do {
        try image.write(to: URL(fileURLWithPath: scratchPath))
    } catch { fatalError("cannot write the scratch file \(scratchPath): \(error)") }
    let file: Result<NPYArray, NPYError>
    do { file = .success(try NPY.read(path: scratchPath, maxElements: cap)) } catch { file = .failure(error) }
    switch (memory, file) {
    case (.success(let a), .success(let b)):
        check(a.shape == b.shape && a.dtype == b.dtype && NPY.rawBytes(a.storage) == NPY.rawBytes(b.storage),
              "decode and read disagree on an accepted image")
    case (.failure(let e), .failure(let f)):
        oneLine(e)
        oneLine(f)
        check(f.path == scratchPath, "file error does not name the file: \(f)")
        check(e.kind == f.kind, "decode and read fail differently: '\(e)' vs '\(f)'")
    case (.success, .failure(let f)): check(false, "read refused what decode accepted: \(f)")
    case (.failure(let e), .success): check(false, "read accepted what decode refused: \(e)")
    }

    if case .success(let a) = memory {
        var elements = 1
        for d in a.shape { elements *= d }
        check(elements == a.count, "shape \(a.shape) does not hold \(a.count) elements")
        check(a.count <= cap, "more elements than the cap")
        // Round trip through the writer: the automatic version (1.0, or 2.0 for long headers)
        // and 3.0.
        for version: UInt8? in [nil, 3] {
            let re = NPY.encode(a, version: version)
            check((re.count - NPY.rawBytes(a.storage).count) % 64 == 0, "data does not start on a 64-byte boundary")
            do {
                let b = try NPY.decode(re, maxElements: cap)
                check(b.shape == a.shape && b.dtype == a.dtype && NPY.rawBytes(b.storage) == NPY.rawBytes(a.storage),
                      "round trip (v\(version ?? 0)) changed the array")
            } catch { check(false, "re-encoded image (v\(version ?? 0)) refused: \(error)") }
        }
        // Typed views: success exactly for the documented dtypes.
        switch a.dtype {
        case .float32, .float16:
            do {
                let f = try a.float32()
                check(f.count == a.count, "float32 view length")
            } catch { check(false, "float32 view of \(a.dtype) threw \(error)") }
        default:
            do { _ = try a.float32(); check(false, "float32 view of \(a.dtype) succeeded") } catch { oneLine(error) }
        }
        switch a.dtype {
        case .float16, .float32, .float64:
            do { let v = try a.float64(); check(v.count == a.count, "float64 view length") } catch { check(false, "float64 view threw \(error)") }
        default:
            do { _ = try a.float64(); check(false, "float64 view of \(a.dtype) succeeded") } catch { oneLine(error) }
        }
    }

    // Raw reading: any dtype, the whole image.
    let dtype = NPYDType.allCases[size % NPYDType.allCases.count]
    do {
        let raw = try NPY.decodeRaw(image, dtype: dtype)
        check(size % dtype.itemSize == 0 && raw.count == size / dtype.itemSize, "raw accepted a bad length")
        check(NPY.rawBytes(raw.storage) == image, "raw round trip changed the bytes")
    } catch {
        oneLine(error)
        check(size % dtype.itemSize != 0, "raw refused a good length: \(error)")
    }
    return 0
}
