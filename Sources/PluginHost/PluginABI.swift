import Foundation
import Formats

/// An entry point a conversion plugin may export (the C ABI is documented in
/// `Sources/QuantCheckPlugin/include/quantcheck_plugin.h`). `code_t` is `uint8_t` for formats of
/// at most 8 bits and `uint16_t` for binary16 and bfloat16.
///
/// | entry point | default symbol      | signature                                          |
/// |-------------|---------------------|----------------------------------------------------|
/// | `.float32`  | `f32_to_<format>`   | `void (const float *in, code_t *out, size_t n)`    |
/// | `.float64`  | `f64_to_<format>`   | `void (const double *in, code_t *out, size_t n)`   |
/// | `.float16`  | `f16_to_<format>`   | `void (const uint16_t *in, code_t *out, size_t n)` |
/// | `.bfloat16` | `bf16_to_<format>`  | `void (const uint16_t *in, code_t *out, size_t n)` |
/// | `.decode`   | `<format>_to_f32`   | `void (const code_t *in, float *out, size_t n)`    |
public enum PluginEntryPoint: Int, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    // Raw values are the worker protocol's entry numbers (QCP_ENTRY_*).
    case float32 = 0
    case float64 = 1
    case float16 = 2
    case bfloat16 = 3
    case decode = 4

    /// The key of `--symbol KEY=NAME`.
    public var key: String {
        switch self {
        case .float32: return "f32"
        case .float64: return "f64"
        case .float16: return "f16"
        case .bfloat16: return "bf16"
        case .decode: return "decode"
        }
    }

    public var description: String { key }

    public func defaultSymbol(for format: FloatFormat) -> String {
        self == .decode ? "\(format.name)_to_f32" : "\(key)_to_\(format.name)"
    }

    /// Bytes per input element.
    func inputStride(codeBytes: Int) -> Int {
        switch self {
        case .float32: return 4
        case .float64: return 8
        case .float16, .bfloat16: return 2
        case .decode: return codeBytes
        }
    }

    /// Bytes per output element.
    func outputStride(codeBytes: Int) -> Int { self == .decode ? 4 : codeBytes }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Bytes per code for a format: one for formats of at most 8 bits, else two.
    public static func codeBytes(for format: FloatFormat) -> Int { format.bitWidth <= 8 ? 1 : 2 }
}

/// Everything that can stop a plugin check before it produces results. Each has a one-line
/// message (the CLI prints it and exits 2). A plugin that runs but misbehaves — wrong codes,
/// crashes, hangs, stray writes — is not an error: it is a failing case with counterexamples.
public enum PluginError: Error, Equatable, CustomStringConvertible, Sendable {
    case libraryNotFound(String)
    case notSharedLibrary(String, reason: String)
    case loadFailed(String, reason: String)
    case missingSymbol(String, entry: PluginEntryPoint, library: String)
    case noEntryPoints(String, lookedFor: [String])
    case invalidSymbol(String)
    case duplicateSymbol(PluginEntryPoint)
    case unknownSymbolKey(String)
    case invalidTimeout(Double)
    case invalidThreadCount(Int)
    case unknownSuite(String, known: [String])
    case suiteNeedsEntryPoint(suite: String, needs: [String])
    case workerFailed(String)

    public var description: String { DiagnosticText.oneLine(unescapedDescription) }

    private var unescapedDescription: String {
        switch self {
        case .libraryNotFound(let p): return "library '\(p)' not found"
        case .notSharedLibrary(let p, let reason): return "'\(p)' is not a shared library: \(reason)"
        case .loadFailed(let p, let reason): return "cannot load '\(p)': \(reason)"
        case .missingSymbol(let s, let e, let lib):
            return "symbol '\(s)' (\(e) entry point) not found in '\(lib)'"
        case .noEntryPoints(let lib, let names):
            return "'\(lib)' exports none of the entry points \(names.joined(separator: ", ")) (use --symbol NAME)"
        case .invalidSymbol(let s): return "--symbol '\(s)' is not a C identifier (expected NAME or KEY=NAME)"
        case .duplicateSymbol(let e): return "--symbol given twice for the \(e) entry point"
        case .unknownSymbolKey(let k):
            return "--symbol key '\(k)' is not one of: \(PluginEntryPoint.allCases.map(\.key).joined(separator: ", "))"
        case .invalidTimeout(let t): return "--timeout must be a positive number of seconds (got \(t))"
        case .invalidThreadCount(let n): return "--threads must be at least 1 (got \(n))"
        case .unknownSuite(let s, let known): return "unknown suite '\(s)'; known: \(known.joined(separator: ", "))"
        case .suiteNeedsEntryPoint(let s, let needs):
            return "suite '\(s)' needs one of \(needs.joined(separator: ", ")), which the library does not export"
        case .workerFailed(let why): return "plugin worker failed: \(why)"
        }
    }
}

/// The symbols to look up, one per entry point: the defaults for the format, with the user's
/// `--symbol` overrides (`NAME` renames the Float32 encoder, `KEY=NAME` any entry point).
public struct PluginSymbols: Sendable, Hashable {
    public private(set) var names: [PluginEntryPoint: String]
    /// Entry points the user named explicitly: a missing one is an error, not a skipped suite.
    public private(set) var explicit: Set<PluginEntryPoint>

    public init(format: FloatFormat, overrides: [String] = []) throws(PluginError) {
        var names: [PluginEntryPoint: String] = [:]
        for e in PluginEntryPoint.allCases { names[e] = e.defaultSymbol(for: format) }
        var explicit: Set<PluginEntryPoint> = []
        for o in overrides {
            let entry: PluginEntryPoint
            let name: String
            if let eq = o.firstIndex(of: "=") {
                let key = String(o[..<eq])
                guard let e = PluginEntryPoint.allCases.first(where: { $0.key == key }) else { throw .unknownSymbolKey(key) }
                entry = e
                name = String(o[o.index(after: eq)...])
            } else {
                entry = .float32
                name = o
            }
            guard Self.isIdentifier(name) else { throw .invalidSymbol(o) }
            guard !explicit.contains(entry) else { throw .duplicateSymbol(entry) }
            explicit.insert(entry)
            names[entry] = name
        }
        self.names = names
        self.explicit = explicit
    }

    public subscript(entry: PluginEntryPoint) -> String { names[entry]! }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, !s.isEmpty else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        return letter(first) && s.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
    }
}

/// Checks, without loading it, that a path names an ELF shared object for this machine.
/// (Loading happens only in the worker process: a library's constructors are code under test too.)
public enum SharedLibraryFile {
    /// Returns the absolute, symlink-resolved path.
    public static func validate(_ path: String) throws(PluginError) -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw .libraryNotFound(path) }
        if isDir.boolValue { throw .notSharedLibrary(path, reason: "it is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .notSharedLibrary(path, reason: "it cannot be read") }
        let header = [UInt8](handle.readData(ofLength: 20))
        try? handle.close()
        guard header.count >= 20, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            throw .notSharedLibrary(path, reason: "not an ELF file")
        }
        // e_ident[EI_CLASS] = 2 (64-bit), e_ident[EI_DATA] = 1 (little-endian), then e_type, e_machine.
        guard header[4] == 2, header[5] == 1 else { throw .notSharedLibrary(path, reason: "not a 64-bit little-endian ELF file") }
        let type = UInt16(header[16]) | UInt16(header[17]) << 8
        let machine = UInt16(header[18]) | UInt16(header[19]) << 8
        guard type == 3 else {
            throw .notSharedLibrary(path, reason: type == 2 ? "it is an executable (build with -shared -fPIC)" : "ELF type \(type) (build with -shared -fPIC)")
        }
        #if arch(x86_64)
        let expectedMachine: UInt16 = 62
        #elseif arch(arm64)
        let expectedMachine: UInt16 = 183
        #else
        let expectedMachine = machine
        #endif
        guard machine == expectedMachine else {
            throw .notSharedLibrary(path, reason: "built for another architecture (ELF machine \(machine))")
        }
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}
