/// Keeps error messages on one line whatever text a user's input carries.
///
/// Error descriptions quote user-supplied text (format names, JSON keys, `.npy` header
/// fragments, file paths). QuantCheck promises a one-line message on stderr, so control
/// characters in that text (line feeds, carriage returns, tabs, NUL, U+0085, U+2028/U+2029)
/// are written as Swift-style escapes: `\n`, `\r`, `\t`, `\u{…}`. Backslashes are left alone,
/// so escaping is idempotent: `oneLine(oneLine(s)) == oneLine(s)` — nested errors that embed
/// an already escaped description stay readable.
public enum DiagnosticText {
    public static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else { out.append(scalar); continue }
            let escaped: String
            switch scalar {
            case "\n": escaped = "\\n"
            case "\r": escaped = "\\r"
            case "\t": escaped = "\\t"
            default: escaped = "\\u{" + String(scalar.value, radix: 16) + "}"
            }
            out.append(contentsOf: escaped.unicodeScalars)
        }
        return String(out)
    }

    /// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: everything a
    /// terminal or a log reader may treat as a line break or render invisibly.
    static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's standard descriptors, written and guarded without Foundation.
///
/// `FileHandle.standardError.write` raises an Objective-C style exception when the write fails
/// (stderr closed, or `/dev/full`), which on Linux is a trap: a diagnostic must never cost the
/// run its results. These write with `write(2)` and drop what cannot be written.
public enum StandardStreams {
    /// Writes `text` to stderr (fd 2); a closed, full or broken stderr is ignored.
    public static func writeError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// Opens each of fds 0, 1 and 2 that is closed on `/dev/null` (read-only for 0, write-only
    /// for 1 and 2). Call first thing in `main`: with a standard descriptor closed, the next
    /// `open`/`socket` would take its number, and a stray `print` or a child's output would
    /// then land in a results file or a protocol socket.
    public static func ensureOpen() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            // open returns the lowest free number: fd itself, since the lower ones are open.
            if opened >= 0 && opened != fd {
                _ = dup2(opened, fd)
                _ = close(opened)
            }
        }
    }
}
