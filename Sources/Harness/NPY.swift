import Foundation
import Formats

/// Element types QuantCheck reads and writes in `.npy` and raw files. Little-endian only.
public enum NPYDType: String, CaseIterable, Sendable, Hashable, Codable {
    case float16 = "f2"
    case float32 = "f4"
    case float64 = "f8"
    case uint8 = "u1"
    case uint16 = "u2"
    /// bfloat16 (the top half of a Float32). NumPy has no such dtype: ml_dtypes' arrays are
    /// saved by `np.save` with the void descr `<V2`, which is what this reads and writes.
    case bfloat16 = "V2"

    public var itemSize: Int {
        switch self {
        case .uint8: return 1
        case .float16, .uint16, .bfloat16: return 2
        case .float32: return 4
        case .float64: return 8
        }
    }

    /// The NumPy `descr` string numpy itself writes: `<f4`, `|u1`, … (`<V2` for bfloat16, as
    /// `np.save` writes an ml_dtypes bfloat16 array).
    public var descr: String { (itemSize == 1 ? "|" : "<") + rawValue }

    /// The name a user types and messages show: `float32`, `uint8`, `bfloat16`…
    public var name: String {
        switch self {
        case .float16: return "float16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .uint8: return "uint8"
        case .uint16: return "uint16"
        case .bfloat16: return "bfloat16"
        }
    }

    /// The dtype of a `.npy` descr without its byte-order character. The void descrs are what
    /// `np.save` writes for ml_dtypes arrays: `V1` holds 8-bit codes (float8 types, read as
    /// uint8), `V2` bfloat16 (the only two-byte ml_dtypes type).
    static func fromDescrCode(_ code: String) -> NPYDType? {
        code == "V1" ? .uint8 : NPYDType(rawValue: code)
    }

    /// Parses a dtype name as a user types it: `float32`, `f4`, `<f4`, `uint8`, `u1`, `bfloat16`…
    public init(name: String) throws(NPYError) {
        let aliases: [String: NPYDType] = [
            "float16": .float16, "half": .float16, "float32": .float32, "float": .float32,
            "float64": .float64, "double": .float64, "uint8": .uint8, "uint16": .uint16,
            "bfloat16": .bfloat16, "bf16": .bfloat16,
        ]
        if let t = aliases[name.lowercased()] { self = t; return }
        var key = name
        if key.first == "<" || key.first == "|" || key.first == "=" { key.removeFirst() }
        guard let t = NPYDType.fromDescrCode(key) ?? NPYDType(rawValue: key.lowercased()) else {
            throw NPYError(.unsupportedDType(name))
        }
        self = t
    }
}

/// An n-dimensional array in C (row-major) order, as stored in a `.npy` file.
public struct NPYArray: Sendable, Hashable {
    /// The elements, typed. Float16 is kept as its bit patterns (exact, and `Float16` is not
    /// available on every platform Swift runs on).
    public enum Storage: Sendable, Hashable {
        case float16(bits: [UInt16])
        case float32([Float])
        case float64([Double])
        case uint8([UInt8])
        case uint16([UInt16])
        case bfloat16(bits: [UInt16])

        public var count: Int {
            switch self {
            case .float16(let v), .bfloat16(let v): return v.count
            case .float32(let v): return v.count
            case .float64(let v): return v.count
            case .uint8(let v): return v.count
            case .uint16(let v): return v.count
            }
        }

        public var dtype: NPYDType {
            switch self {
            case .float16: return .float16
            case .float32: return .float32
            case .float64: return .float64
            case .uint8: return .uint8
            case .uint16: return .uint16
            case .bfloat16: return .bfloat16
            }
        }
    }

    public let shape: [Int]
    public let storage: Storage

    /// Throws `.shapeMismatch` when the product of `shape` is not the element count
    /// (`shape == nil` means one dimension of `storage.count`).
    public init(_ storage: Storage, shape: [Int]? = nil) throws(NPYError) {
        let shape = shape ?? [storage.count]
        guard shape.allSatisfy({ $0 >= 0 }), let n = NPY.elementCount(shape), n == storage.count else {
            throw NPYError(.shapeMismatch(shape: shape, count: storage.count))
        }
        self.shape = shape
        self.storage = storage
    }

    public var dtype: NPYDType { storage.dtype }
    public var count: Int { storage.count }

    /// The values as Float32. Float16 widens exactly; Float64 is refused rather than rounded
    /// (a narrowing here would hide double rounding from the checks).
    public func float32() throws(NPYError) -> [Float] {
        switch storage {
        case .float32(let v): return v
        case .float16(let bits): return bits.map(NPY.float(fromHalfBits:))
        case .bfloat16(let bits): return bits.map { Float(bitPattern: UInt32($0) << 16) }
        default: throw NPYError(.dtypeMismatch(expected: "float32, float16 or bfloat16", found: dtype.descr))
        }
    }

    /// The values as Float64; every float dtype widens exactly.
    public func float64() throws(NPYError) -> [Double] {
        switch storage {
        case .float64(let v): return v
        case .float32(let v): return v.map(Double.init)
        case .float16(let bits): return bits.map { Double(NPY.float(fromHalfBits: $0)) }
        case .bfloat16(let bits): return bits.map { Double(Float(bitPattern: UInt32($0) << 16)) }
        default: throw NPYError(.dtypeMismatch(expected: "a float dtype", found: dtype.descr))
        }
    }
}

/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) and raw
/// little-endian arrays.
///
/// File layout (numpy `lib/format.py`, "NPY format"):
///
///     "\x93NUMPY" major minor  header_len  header
///     header_len: uint16 LE (v1) or uint32 LE (v2, v3)
///     header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
///             padded with spaces and one '\n' so the data starts at a multiple of 64;
///             latin-1 in v1/v2, UTF-8 in v3.
///
/// Only C order, little-endian (or byte-order-free) `float16/32/64` and `uint8/16` are
/// accepted; everything else is a typed error, and every size is checked against the actual
/// file before any element buffer is allocated.
public enum NPY {
    public static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// Header text longer than this is refused (numpy's own default limit is 10 000).
    public static let maxHeaderLength = 1 << 20
    /// Default cap on declared elements: 2^33 (32 GiB of Float32, more than this machine holds).
    public static let defaultMaxElements = 1 << 33

    // MARK: Reading

    /// Reads a `.npy` file. Sizes are checked against the file length before allocating.
    public static func read(path: String, maxElements: Int = defaultMaxElements) throws(NPYError) -> NPYArray {
        do {
            let handle = try openForReading(path)
            defer { try? handle.close() }
            let fileSize = try size(of: handle, path: path)
            let prefix = try readBytes(handle, count: min(fileSize, 12), path: path)
            let (headerStart, headerLength, version) = try parsePrefix(prefix)
            guard fileSize >= headerStart + headerLength else { throw NPYError(.truncatedHeader) }
            try handle.seek(toOffset: UInt64(headerStart))
            let headerBytes = try readBytes(handle, count: headerLength, path: path)
            let header = try parseHeader(headerBytes, version: version)
            let dataStart = headerStart + headerLength
            let declared = try declaredBytes(header, maxElements: maxElements)
            guard declared == fileSize - dataStart else {
                throw NPYError(.dataLengthMismatch(declared: declared, actual: fileSize - dataStart))
            }
            let payload = try readBytes(handle, count: declared, path: path)
            return try NPYArray(storage(header.dtype, payload), shape: header.shape)
        } catch let e as NPYError {
            throw e.at(path)
        } catch {
            throw NPYError(.unreadable(reason: "\(error)")).at(path)
        }
    }

    /// Decodes a `.npy` image held in memory.
    public static func decode(_ data: Data, maxElements: Int = defaultMaxElements) throws(NPYError) -> NPYArray {
        let bytes = [UInt8](data)
        let (headerStart, headerLength, version) = try parsePrefix(Array(bytes.prefix(12)))
        guard bytes.count >= headerStart + headerLength else { throw NPYError(.truncatedHeader) }
        let header = try parseHeader(Array(bytes[headerStart..<headerStart + headerLength]), version: version)
        let dataStart = headerStart + headerLength
        let declared = try declaredBytes(header, maxElements: maxElements)
        guard declared == bytes.count - dataStart else {
            throw NPYError(.dataLengthMismatch(declared: declared, actual: bytes.count - dataStart))
        }
        return try NPYArray(storage(header.dtype, Array(bytes[dataStart...])), shape: header.shape)
    }

    /// Reads a headerless little-endian file of `dtype` elements as a 1-D array.
    public static func readRaw(path: String, dtype: NPYDType, maxElements: Int = defaultMaxElements) throws(NPYError) -> NPYArray {
        do {
            let handle = try openForReading(path)
            defer { try? handle.close() }
            let fileSize = try size(of: handle, path: path)
            guard fileSize % dtype.itemSize == 0 else {
                throw NPYError(.rawSizeNotMultiple(bytes: fileSize, itemSize: dtype.itemSize))
            }
            guard fileSize / dtype.itemSize <= maxElements else {
                throw NPYError(.shapeTooLarge(shape: [fileSize / dtype.itemSize], limit: maxElements))
            }
            let payload = try readBytes(handle, count: fileSize, path: path)
            return try NPYArray(storage(dtype, payload))
        } catch let e as NPYError {
            throw e.at(path)
        } catch {
            throw NPYError(.unreadable(reason: "\(error)")).at(path)
        }
    }

    /// Decodes headerless little-endian bytes as a 1-D array.
    public static func decodeRaw(_ data: Data, dtype: NPYDType) throws(NPYError) -> NPYArray {
        guard data.count % dtype.itemSize == 0 else {
            throw NPYError(.rawSizeNotMultiple(bytes: data.count, itemSize: dtype.itemSize))
        }
        return try NPYArray(storage(dtype, [UInt8](data)))
    }

    // MARK: Writing

    /// Encodes `array` as a `.npy` image. `version` nil picks 1.0 when the header fits its
    /// 16-bit length, else 2.0; 3.0 may be asked for explicitly.
    public static func encode(_ array: NPYArray, version: UInt8? = nil) -> Data {
        var out = headerBytes(dtype: array.dtype, shape: array.shape, version: version)
        out.append(rawBytes(array.storage))
        return out
    }

    /// The magic, version, header length and padded header of an array of `dtype` and `shape`:
    /// everything before the data. `version` as for `encode`.
    public static func headerBytes(dtype: NPYDType, shape: [Int], version: UInt8? = nil) -> Data {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let major = version ?? (header.utf8.count + 1 + 10 <= 65535 ? 1 : 2)
        precondition((1...3).contains(major), "npy versions are 1, 2 and 3")
        let prefixLength = 6 + 2 + (major == 1 ? 2 : 4)
        let unpadded = prefixLength + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data(magic)
        out.append(contentsOf: [major, 0])
        let length = header.utf8.count
        if major == 1 {
            out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        } else {
            out.append(contentsOf: (0..<4).map { UInt8((length >> (8 * $0)) & 0xFF) })
        }
        out.append(contentsOf: Array(header.utf8))
        return out
    }

    /// Writes `array` to `path` atomically.
    public static func write(_ array: NPYArray, to path: String, version: UInt8? = nil) throws(NPYError) {
        do { try AtomicFile.write(encode(array, version: version), to: path) } catch {
            throw NPYError(.output(error)).at(path)
        }
    }

    /// The elements as headerless little-endian bytes.
    public static func rawBytes(_ storage: NPYArray.Storage) -> Data {
        func le<T: FixedWidthInteger>(_ v: [T]) -> Data {
            v.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
        }
        switch storage {
        case .float16(let bits), .bfloat16(let bits): return le(bits)
        case .float32(let v): return le(v.map(\.bitPattern))
        case .float64(let v): return le(v.map(\.bitPattern))
        case .uint8(let v): return Data(v)
        case .uint16(let v): return le(v)
        }
    }

    /// Writes headerless little-endian bytes atomically.
    public static func writeRaw(_ array: NPYArray, to path: String) throws(NPYError) {
        do { try AtomicFile.write(rawBytes(array.storage), to: path) } catch {
            throw NPYError(.output(error)).at(path)
        }
    }

    // MARK: Helpers

    /// Exact binary16 → binary32 (every half value is a float).
    public static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let e = Int((h >> 10) & 0x1F)
        let m = UInt32(h & 0x3FF)
        if e == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (m << 13)) }
        if e == 0 {
            // Subnormal or zero: m · 2^−24, exact in binary32.
            let magnitude = Float(m) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | (UInt32(e - 15 + 127) << 23) | (m << 13))
    }

    /// Product of `shape`, or nil on overflow.
    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    struct Header: Equatable {
        var dtype: NPYDType
        var shape: [Int]
    }

    /// Magic, version and header length → (header offset, header length, major version).
    static func parsePrefix(_ p: [UInt8]) throws(NPYError) -> (Int, Int, UInt8) {
        guard p.count >= 6 else {
            throw NPYError(p.elementsEqual(magic.prefix(p.count)) ? .truncatedHeader : .badMagic)
        }
        guard Array(p[0..<6]) == magic else { throw NPYError(.badMagic) }
        guard p.count >= 8 else { throw NPYError(.truncatedHeader) }
        let major = p[6], minor = p[7]
        guard (1...3).contains(major), minor == 0 else {
            throw NPYError(.unsupportedVersion(major: Int(major), minor: Int(minor)))
        }
        let lengthBytes = major == 1 ? 2 : 4
        guard p.count >= 8 + lengthBytes else { throw NPYError(.truncatedHeader) }
        var length = 0
        for i in 0..<lengthBytes { length |= Int(p[8 + i]) << (8 * i) }
        guard length <= maxHeaderLength else {
            throw NPYError(.malformedHeader("header length \(length) exceeds \(maxHeaderLength) bytes"))
        }
        return (8 + lengthBytes, length, major)
    }

    static func declaredBytes(_ h: Header, maxElements: Int) throws(NPYError) -> Int {
        guard let n = elementCount(h.shape), n <= maxElements else {
            throw NPYError(.shapeTooLarge(shape: h.shape, limit: maxElements))
        }
        return n * h.dtype.itemSize
    }

    static func parseHeader(_ bytes: [UInt8], version: UInt8) throws(NPYError) -> Header {
        // v1/v2 headers are latin-1, v3 UTF-8. Every valid key and value here is ASCII.
        let text: String
        if version == 3 {
            guard let t = String(validating: bytes, as: UTF8.self) else {
                throw NPYError(.malformedHeader("header is not valid UTF-8"))
            }
            text = t
        } else {
            text = String(bytes.map { Character(Unicode.Scalar($0)) })
        }
        var parser = PyLiteralParser(text)
        let dict = try parser.parseDictionary()
        let expected: Set<String> = ["descr", "fortran_order", "shape"]
        guard Set(dict.keys) == expected else {
            let keys = dict.keys.sorted().joined(separator: ", ")
            throw NPYError(.malformedHeader("keys must be exactly descr, fortran_order, shape (found: \(keys))"))
        }
        guard case .bool(let fortran) = dict["fortran_order"]! else {
            throw NPYError(.malformedHeader("'fortran_order' must be True or False"))
        }
        guard case .tuple(let shape) = dict["shape"]! else {
            throw NPYError(.malformedHeader("'shape' must be a tuple of integers"))
        }
        let descr: String
        switch dict["descr"]! {
        case .string(let s): descr = s
        case .list: throw NPYError(.unsupportedDType("structured dtype"))
        default: throw NPYError(.malformedHeader("'descr' must be a string"))
        }
        guard descr.count >= 2 else { throw NPYError(.unsupportedDType(descr)) }
        let order = descr.first!
        guard let dtype = NPYDType.fromDescrCode(String(descr.dropFirst())), "<>|=".contains(order) else {
            throw NPYError(.unsupportedDType(descr))
        }
        // A void descr has no byte order of its own (numpy writes `|V2`, ml_dtypes `<V2`); its
        // bytes are ml_dtypes' little-endian storage either way.
        if dtype.itemSize > 1 && descr.dropFirst().first != "V" {
            if order == ">" || (order == "=" && 1.bigEndian == 1) { throw NPYError(.bigEndian(descr)) }
            if order == "|" { throw NPYError(.unsupportedDType(descr)) }
        }
        // Order matters only with more than one dimension of extent > 1; refuse regardless so
        // a Fortran-ordered producer is noticed.
        if fortran { throw NPYError(.fortranOrder) }
        return Header(dtype: dtype, shape: shape)
    }

    static func storage(_ dtype: NPYDType, _ bytes: [UInt8]) throws(NPYError) -> NPYArray.Storage {
        precondition(bytes.count % dtype.itemSize == 0)
        func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
            let n = bytes.count / MemoryLayout<T>.size
            return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<n {
                        buffer[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
                    }
                }
                initialized = n
            }
        }
        switch dtype {
        case .uint8: return .uint8(bytes)
        case .uint16: return .uint16(load(UInt16.self))
        case .float16: return .float16(bits: load(UInt16.self))
        case .bfloat16: return .bfloat16(bits: load(UInt16.self))
        case .float32: return .float32(load(UInt32.self).map(Float.init(bitPattern:)))
        case .float64: return .float64(load(UInt64.self).map(Double.init(bitPattern:)))
        }
    }

    static func openForReading(_ path: String) throws(NPYError) -> FileHandle {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw NPYError(.unreadable(reason: "no such file"))
        }
        guard !isDir.boolValue else { throw NPYError(.unreadable(reason: "is a directory")) }
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw NPYError(.unreadable(reason: "permission denied"))
        }
        return h
    }

    static func size(of handle: FileHandle, path: String) throws(NPYError) -> Int {
        do {
            let end = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            return Int(end)
        } catch {
            throw NPYError(.unreadable(reason: "cannot seek"))
        }
    }

    static func readBytes(_ handle: FileHandle, count: Int, path: String) throws(NPYError) -> [UInt8] {
        do {
            let d = try handle.read(upToCount: count) ?? Data()
            guard d.count == count else { throw NPYError(.truncatedHeader) }
            return [UInt8](d)
        } catch let e as NPYError {
            throw e
        } catch {
            throw NPYError(.unreadable(reason: "read failed"))
        }
    }
}

/// A `.npy` or raw-array failure, with the file it concerns.
public struct NPYError: Error, Hashable, CustomStringConvertible, Sendable {
    public enum Kind: Hashable, Sendable {
        case unreadable(reason: String)
        case badMagic
        case truncatedHeader
        case unsupportedVersion(major: Int, minor: Int)
        case malformedHeader(String)
        case unsupportedDType(String)
        case bigEndian(String)
        case fortranOrder
        case shapeTooLarge(shape: [Int], limit: Int)
        case dataLengthMismatch(declared: Int, actual: Int)
        case rawSizeNotMultiple(bytes: Int, itemSize: Int)
        case shapeMismatch(shape: [Int], count: Int)
        case dtypeMismatch(expected: String, found: String)
        case output(OutputError)
    }

    public var kind: Kind
    public var path: String?

    public init(_ kind: Kind, path: String? = nil) {
        self.kind = kind
        self.path = path
    }

    func at(_ path: String) -> NPYError { NPYError(kind, path: self.path ?? path) }

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        let what: String
        switch kind {
        case .unreadable(let r): what = "cannot read: \(r)"
        case .badMagic: what = "not a .npy file (bad magic; use --dtype for headerless data)"
        case .truncatedHeader: what = "truncated .npy file: it ends inside the header"
        case .unsupportedVersion(let a, let b): what = ".npy format version \(a).\(b) is not supported (1.0, 2.0, 3.0 are)"
        case .malformedHeader(let d): what = "malformed .npy header: \(d)"
        case .unsupportedDType(let d): what = "unsupported dtype '\(d)' (supported: float16, float32, float64, uint8, uint16, and ml_dtypes' <V2 bfloat16 and <V1 codes)"
        case .bigEndian(let d): what = "big-endian dtype '\(d)' is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))"
        case .fortranOrder: what = "Fortran-ordered array is not supported; save np.ascontiguousarray(arr)"
        case .shapeTooLarge(let s, let limit): what = "declared shape \(s) exceeds the limit of \(limit) elements"
        case .dataLengthMismatch(let d, let a):
            what = a < d
                ? "data is truncated: the header declares \(d) bytes but the file holds \(a)"
                : "header does not match the data: it declares \(d) bytes but the file holds \(a)"
        case .rawSizeNotMultiple(let b, let s): what = "raw file size \(b) is not a multiple of the element size \(s)"
        case .shapeMismatch(let s, let n): what = "shape \(s) does not hold \(n) elements"
        case .dtypeMismatch(let e, let f): what = "expected \(e) data, found dtype '\(f)'"
        case .output(let e): return e.description
        }
        return path.map { "'\($0)': \(what)" } ?? what
    }
}

/// Parses the Python literal subset numpy writes in `.npy` headers: a dict with string keys and
/// string, bool, tuple-of-int or list values.
struct PyLiteralParser {
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case tuple([Int])
        case list
    }

    private let chars: [Character]
    private var i = 0

    init(_ text: String) { chars = Array(text) }

    mutating func parseDictionary() throws(NPYError) -> [String: Value] {
        skipSpace()
        try expect("{")
        var dict: [String: Value] = [:]
        while true {
            skipSpace()
            if peek == "}" { i += 1; break }
            let key = try parseString()
            skipSpace()
            try expect(":")
            skipSpace()
            guard dict[key] == nil else { throw fail("duplicate key '\(key)'") }
            dict[key] = try parseValue()
            skipSpace()
            if peek == "," { i += 1; continue }
            if peek == "}" { i += 1; break }
            throw fail("expected ',' or '}'")
        }
        skipSpace()
        guard i == chars.count else { throw fail("unexpected text after the dictionary") }
        return dict
    }

    private var peek: Character? { i < chars.count ? chars[i] : nil }

    private mutating func skipSpace() {
        while let c = peek, c == " " || c == "\n" || c == "\t" || c == "\r" { i += 1 }
    }

    private func fail(_ why: String) -> NPYError {
        NPYError(.malformedHeader("\(why) at character \(i)"))
    }

    private mutating func expect(_ c: Character) throws(NPYError) {
        guard peek == c else { throw fail("expected '\(c)'") }
        i += 1
    }

    private mutating func parseString() throws(NPYError) -> String {
        guard let q = peek, q == "'" || q == "\"" else { throw fail("expected a quoted string") }
        i += 1
        var s = ""
        while let c = peek, c != q {
            guard c != "\\", c != "\n" else { throw fail("escapes are not supported in header strings") }
            s.append(c)
            i += 1
        }
        try expect(q)
        return s
    }

    private mutating func parseValue() throws(NPYError) -> Value {
        switch peek {
        case "'", "\"": return .string(try parseString())
        case "(":
            i += 1
            var items: [Int] = []
            while true {
                skipSpace()
                if peek == ")" { i += 1; break }
                var digits = ""
                while let c = peek, c.isASCII, c.isNumber { digits.append(c); i += 1 }
                if peek == "L" { i += 1 }  // Python 2 long suffix in old files
                guard !digits.isEmpty else { throw fail("shape entries must be non-negative integers") }
                // An extent beyond Int.max is "too large", reported with the entry saturated.
                items.append(Int(digits) ?? Int.max)
                skipSpace()
                if peek == "," { i += 1; continue }
                if peek == ")" { i += 1; break }
                throw fail("expected ',' or ')' in shape")
            }
            return .tuple(items)
        case "[":
            // A structured dtype: skip to the matching bracket, report as unsupported later.
            var depth = 0
            while let c = peek {
                i += 1
                if c == "[" { depth += 1 } else if c == "]" { depth -= 1; if depth == 0 { return .list } }
            }
            throw fail("unterminated list")
        default:
            for (word, value) in [("True", true), ("False", false)] where matches(word) {
                i += word.count
                return .bool(value)
            }
            throw fail("unsupported value")
        }
    }

    private func matches(_ word: String) -> Bool {
        let w = Array(word)
        return i + w.count <= chars.count && Array(chars[i..<i + w.count]) == w
    }
}
