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
