import Foundation
import Testing
@testable import Harness

/// Files written by numpy 2.4 `numpy.lib.format.write_array`, base64.
enum NumpyFixtures {
    static let v1F32x2x3 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAgwAAAUEAAAAAAAAAAgADgf0c="
    static let v2F16 = "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjInLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoNiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPADAAAQBAAB8/3s="
    static let v3F64Scalar = "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr///////96wA=="
    static let v1U1 = "k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDUsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAX+A/w=="
    static let v1U2x2x2 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPHUyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAB8APz//w=="
    /// `np.save` of ml_dtypes 0.7.0 arrays (numpy 2.4.6): bfloat16 [1, −2, 0.5, NaN] is
    /// written with descr `<V2`, float8_e4m3fn [1, −448, 2^−9, NaN] with `<V1`.
    static let mlDtypesBFloat16 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPFYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqAPwDAAD/Afw=="
    static let mlDtypesE4M3FN = "k05VTVBZAQB2AHsnZGVzY3InOiAnPFYxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo4/gF/"
    static let v1F4Empty = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDQpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo="

    static func data(_ b64: String) -> Data { Data(base64Encoded: b64)! }
}

/// Builds a `.npy` v1 image with an arbitrary header text and payload.
func npyImage(header: String, payload: [UInt8], major: UInt8 = 1) -> Data {
    var h = header
    let prefix = major == 1 ? 10 : 12
    h += String(repeating: " ", count: (64 - (prefix + h.utf8.count + 1) % 64) % 64) + "\n"
    var d = Data(NPY.magic + [major, 0])
    let n = h.utf8.count
    if major == 1 { d.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)]) }
    else { d.append(contentsOf: [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), 0, 0]) }
    d.append(contentsOf: Array(h.utf8))
    d.append(contentsOf: payload)
    return d
}

@Suite("NPY reading and writing")
struct NPYTests {
    @Test func readsNumpyFloat32Version1() throws {
        let a = try NPY.decode(NumpyFixtures.data(NumpyFixtures.v1F32x2x3))
        #expect(a.shape == [2, 3])
        #expect(a.dtype == .float32)
        let v = try a.float32()
        #expect(v.map(\.bitPattern) == [1.0, -2.5, 3.25, 0.0, -0.0, 65504.0].map { Float($0).bitPattern })
    }

    @Test func readsNumpyFloat16Version2AndWidensExactly() throws {
        let a = try NPY.decode(NumpyFixtures.data(NumpyFixtures.v2F16))
        #expect(a.shape == [6])
        guard case .float16(let bits) = a.storage else { Issue.record("not float16"); return }
        #expect(bits == [0x3C00, 0xC000, 0x0400, 0x0001, 0x7C00, 0x7BFF])
        let f = try a.float32()
        #expect(f == [1, -2, 0x1p-14, 0x1p-24, .infinity, 65504])
        #expect(try a.float64() == [1, -2, 0x1p-14, 0x1p-24, .infinity, 65504])
    }

    @Test func readsNumpyFloat64ScalarVersion3() throws {
        let a = try NPY.decode(NumpyFixtures.data(NumpyFixtures.v3F64Scalar))
        #expect(a.shape == [])
        #expect(try a.float64() == [-431.99999999999994])
        // Narrowing Float64 to Float32 would hide double rounding: refused.
        #expect(throws: NPYError(.dtypeMismatch(expected: "float32, float16 or bfloat16", found: "<f8"))) { try a.float32() }
    }

    @Test func readsNumpyUnsignedCodes() throws {
        let a = try NPY.decode(NumpyFixtures.data(NumpyFixtures.v1U1))
        #expect(a.storage == .uint8([0, 1, 127, 128, 255]))
        let b = try NPY.decode(NumpyFixtures.data(NumpyFixtures.v1U2x2x2))
        #expect(b.shape == [2, 2])
        #expect(b.storage == .uint16([0, 0x7C00, 0xFC00, 0xFFFF]))
        let e = try NPY.decode(NumpyFixtures.data(NumpyFixtures.v1F4Empty))
        #expect(e.shape == [0, 4] && e.count == 0)
    }

    /// Our writer produces the same bytes as numpy's for version 1 (and 2, 3 when asked).
    static let writerCases: [(String, UInt8)] = [
        (NumpyFixtures.v1F32x2x3, 1), (NumpyFixtures.v2F16, 2), (NumpyFixtures.v3F64Scalar, 3),
        (NumpyFixtures.v1U1, 1), (NumpyFixtures.v1U2x2x2, 1), (NumpyFixtures.v1F4Empty, 1),
    ]

    @Test(arguments: writerCases)
    func writerMatchesNumpyByteForByte(fixture: String, version: UInt8) throws {
        let original = NumpyFixtures.data(fixture)
        let a = try NPY.decode(original)
        #expect(NPY.encode(a, version: version) == original)
    }

    @Test func fileRoundTripAndAutomaticVersion() throws {
        let dir = makeTempDirectory()
        let path = dir + "/codes.npy"
        let a = try NPYArray(.uint8((0...255).map(UInt8.init)), shape: [16, 16])
        try NPY.write(a, to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data[6] == 1)  // version 1 chosen
        #expect((data.count - 256) % 64 == 0)  // data aligned to 64
        #expect(try NPY.read(path: path) == a)
    }

    @Test func rawRoundTrip() throws {
        let dir = makeTempDirectory()
        let path = dir + "/x.f32"
        let a = try NPYArray(.float32([1, -0.0, .nan, 3.5]))
        try NPY.writeRaw(a, to: path)
        let b = try NPY.readRaw(path: path, dtype: .float32)
        #expect(try b.float32().map(\.bitPattern) == [1, -0.0, .nan, 3.5].map { Float($0).bitPattern })
        #expect(try NPY.decodeRaw(Data([0, 0x3C]), dtype: .float16).float32() == [1])
    }

    @Test func readsMLDtypesVoidDescrs() throws {
        let b = try NPY.decode(NumpyFixtures.data(NumpyFixtures.mlDtypesBFloat16))
        guard case .bfloat16(let bits) = b.storage else { Issue.record("not bfloat16"); return }
        #expect(bits == [0x3F80, 0xC000, 0x3F00, 0x7FC0])
        #expect(try b.float32().prefix(3) == [1, -2, 0.5])
        #expect(b.dtype.descr == "<V2")
        // Written back, it is the same file np.save wrote.
        #expect(NPY.encode(b) == NumpyFixtures.data(NumpyFixtures.mlDtypesBFloat16))
        let c = try NPY.decode(NumpyFixtures.data(NumpyFixtures.mlDtypesE4M3FN))
        #expect(c.storage == .uint8([0x38, 0xFE, 0x01, 0x7F]))
        #expect(try NPYDType(name: "bfloat16") == .bfloat16)
        #expect(try NPYDType(name: "<V2") == .bfloat16)
        #expect(try NPYDType(name: "|V1") == .uint8)
        #expect(throws: NPYError(.unsupportedDType("|V4"))) { try NPYDType(name: "|V4") }
    }

    @Test func dtypeNames() throws {
        #expect(try NPYDType(name: "float32") == .float32)
        #expect(try NPYDType(name: "<f2") == .float16)
        #expect(try NPYDType(name: "u1") == .uint8)
        #expect(throws: NPYError(.unsupportedDType("int8"))) { try NPYDType(name: "int8") }
    }

    // MARK: Errors, one per failure mode

    @Test func badMagic() {
        var d = NumpyFixtures.data(NumpyFixtures.v1U1)
        d[1] = UInt8(ascii: "X")
        #expect(throws: NPYError(.badMagic)) { try NPY.decode(d) }
        #expect(throws: NPYError(.badMagic)) { try NPY.decode(Data("hello".utf8)) }
    }

    @Test(arguments: [0, 3, 6, 7, 9, 20, 127])
    func truncatedInsideHeader(length: Int) {
        let d = NumpyFixtures.data(NumpyFixtures.v1U1).prefix(length)
        #expect(throws: NPYError(.truncatedHeader)) { try NPY.decode(Data(d)) }
    }

    @Test func truncatedData() {
        let d = NumpyFixtures.data(NumpyFixtures.v1F32x2x3).dropLast(3)
        #expect(throws: NPYError(.dataLengthMismatch(declared: 24, actual: 21))) { try NPY.decode(Data(d)) }
    }

    @Test func lyingHeaderWithExtraData() {
        let d = npyImage(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", payload: Array(repeating: 0, count: 12))
        #expect(throws: NPYError(.dataLengthMismatch(declared: 8, actual: 12))) { try NPY.decode(d) }
    }

    @Test func hugeShapeIsRefusedBeforeAllocating() {
        // 2^62 elements × 4 bytes would overflow; 2^40 is over the limit. Neither allocates.
        let overflow = npyImage(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", payload: [])
        #expect(throws: NPYError(.shapeTooLarge(shape: [4611686018427387904, 4], limit: NPY.defaultMaxElements))) {
            try NPY.decode(overflow)
        }
        let beyondInt = npyImage(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", payload: [])
        #expect(throws: NPYError(.shapeTooLarge(shape: [Int.max], limit: NPY.defaultMaxElements))) {
            try NPY.decode(beyondInt)
        }
        let big = npyImage(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", payload: [])
        #expect(throws: NPYError(.shapeTooLarge(shape: [1 << 40], limit: NPY.defaultMaxElements))) { try NPY.decode(big) }
        #expect(throws: NPYError(.shapeTooLarge(shape: [5], limit: 4))) {
            try NPY.decode(NumpyFixtures.data(NumpyFixtures.v1U1), maxElements: 4)
        }
    }

    @Test(arguments: ["<i4", "<c8", "<U3", "|b1", "<f16", "|f4", "f4", "<"])
    func unsupportedDType(descr: String) {
        let d = npyImage(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", payload: [0, 0, 0, 0])
        #expect(throws: NPYError(.unsupportedDType(descr))) { try NPY.decode(d) }
    }

    @Test func structuredDTypeIsUnsupported() {
        let d = npyImage(header: "{'descr': [('a', '<f4'), ('b', '<u1')], 'fortran_order': False, 'shape': (1,), }", payload: [0, 0, 0, 0, 0])
        #expect(throws: NPYError(.unsupportedDType("structured dtype"))) { try NPY.decode(d) }
    }

    @Test func fortranOrder() {
        let d = npyImage(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", payload: Array(repeating: 0, count: 16))
        #expect(throws: NPYError(.fortranOrder)) { try NPY.decode(d) }
    }

    @Test(arguments: [">f4", ">f2", ">u2", ">f8"])
    func bigEndian(descr: String) {
        let d = npyImage(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", payload: Array(repeating: 0, count: 8))
        #expect(throws: NPYError(.bigEndian(descr))) { try NPY.decode(d) }
    }

    @Test func byteOrderFreeSingleBytes() throws {
        // numpy writes '|u1'; '<u1' and '>u1' mean the same for one-byte items.
        for descr in ["|u1", "<u1", ">u1", "=u1"] {
            let d = npyImage(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2,), }", payload: [7, 9])
            #expect(try NPY.decode(d).storage == .uint8([7, 9]))
        }
    }

    @Test(arguments: [
        "not a dict",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) }junk",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'descr': '<f4'}",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
        "{'descr': 7, 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
    ])
    func malformedHeader(header: String) {
        let d = npyImage(header: header, payload: Array(repeating: 0, count: 8))
        #expect {
            try NPY.decode(d)
        } throws: { error in
            guard let e = error as? NPYError, case .malformedHeader = e.kind else { return false }
            return true
        }
    }

    /// Found by the npy fuzzer: a header key quoted in the message carried a carriage return.
    @Test func headerKeyWithCarriageReturnGivesOneLineError() {
        let d = npyImage(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x\ry': True}", payload: Array(repeating: 0, count: 8))
        #expect {
            try NPY.decode(d)
        } throws: { error in
            guard let e = error as? NPYError, case .malformedHeader = e.kind else { return false }
            return !e.description.contains("\r") && e.description.contains("x\\ry")
        }
    }

    @Test func unsupportedVersion() {
        var d = NumpyFixtures.data(NumpyFixtures.v1U1)
        d[6] = 4
        #expect(throws: NPYError(.unsupportedVersion(major: 4, minor: 0))) { try NPY.decode(d) }
    }

    @Test func oversizedHeaderLengthRefused() {
        var d = Data(NPY.magic + [2, 0])
        d.append(contentsOf: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect {
            try NPY.decode(d)
        } throws: { error in
            guard let e = error as? NPYError, case .malformedHeader = e.kind else { return false }
            return true
        }
    }

    @Test func shapeMismatchOnConstruction() {
        #expect(throws: NPYError(.shapeMismatch(shape: [2, 2], count: 3))) { try NPYArray(.float32([1, 2, 3]), shape: [2, 2]) }
    }

    @Test func rawSizeNotMultiple() throws {
        let dir = makeTempDirectory()
        let path = dir + "/odd.f32"
        try Data([1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: path))
        #expect(throws: NPYError(.rawSizeNotMultiple(bytes: 5, itemSize: 4), path: path)) {
            try NPY.readRaw(path: path, dtype: .float32)
        }
    }

    @Test func fileErrorsNameThePath() throws {
        let dir = makeTempDirectory()
        #expect(throws: NPYError(.unreadable(reason: "no such file"), path: dir + "/missing.npy")) {
            try NPY.read(path: dir + "/missing.npy")
        }
        #expect(throws: NPYError(.unreadable(reason: "is a directory"), path: dir)) { try NPY.read(path: dir) }
        let truncated = dir + "/t.npy"
        try NumpyFixtures.data(NumpyFixtures.v1F32x2x3).prefix(140).write(to: URL(fileURLWithPath: truncated))
        do {
            _ = try NPY.read(path: truncated)
            Issue.record("no error")
        } catch {
            #expect(error.kind == .dataLengthMismatch(declared: 24, actual: 12))
            #expect(error.description.hasPrefix("'\(truncated)': data is truncated"))
        }
        let big = dir + "/big.npy"
        try npyImage(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", payload: [])
            .write(to: URL(fileURLWithPath: big))
        #expect(throws: NPYError(.shapeTooLarge(shape: [1 << 40, 1 << 40], limit: NPY.defaultMaxElements), path: big)) {
            try NPY.read(path: big)
        }
        let header = dir + "/h.npy"
        try NumpyFixtures.data(NumpyFixtures.v1F32x2x3).prefix(50).write(to: URL(fileURLWithPath: header))
        #expect(throws: NPYError(.truncatedHeader, path: header)) { try NPY.read(path: header) }
    }

    @Test func writeErrorsAreTyped() throws {
        let dir = makeTempDirectory()
        let a = try NPYArray(.uint8([1]))
        #expect(throws: NPYError(.output(.directoryMissing(dir + "/nope")), path: dir + "/nope/x.npy")) {
            try NPY.write(a, to: dir + "/nope/x.npy")
        }
        #expect(throws: NPYError(.output(.pathIsDirectory(dir)), path: dir)) { try NPY.write(a, to: dir) }
    }

    @Test func halfToFloatIsExactForEveryCode() {
        // Cross-check against the platform's Float16 where it exists.
        #if arch(x86_64) || arch(arm64)
        for bits in UInt16.min...UInt16.max {
            let ours = NPY.float(fromHalfBits: bits)
            let reference = Float(Float16(bitPattern: bits))
            if ours.isNaN {
                // Hardware conversion quiets signalling NaNs; ours keeps the payload as is.
                let quiet: UInt32 = 0x0040_0000
                #expect(reference.isNaN && ours.bitPattern | quiet == reference.bitPattern, "bits 0x\(String(bits, radix: 16))")
            } else if ours.bitPattern != reference.bitPattern {
                Issue.record("half 0x\(String(bits, radix: 16)): \(ours) vs \(reference)")
            }
        }
        #endif
    }
}
