/// Text from outside (service names, comments, approver names, ids, paths) made safe to print on
/// a terminal: every character a terminal would act on instead of showing is written out as a
/// visible escape, so a name cannot clear the screen, recolour the output, move the cursor, set
/// the window title or forge a line of its own.
///
/// Escaped, one scalar at a time:
/// - the C0 controls U+0000–U+001F (`\0`, `\t`, `\n`, `\r`, `\e` for ESC, `\xHH` for the rest),
///   so an ANSI sequence (ESC `[` …) shows as `\e[31m`;
/// - DEL U+007F (`\x7f`) and the C1 controls U+0080–U+009F (`\u{9b}`), among them CSI, which
///   some terminals honour as ESC `[`;
/// - the bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069 (`\u{202e}`), which
///   reorder what is displayed without changing the bytes ("Trojan Source", CVE-2021-42574).
///
/// Everything else, the backslash included, is kept as it is: the result is for reading, not for
/// parsing back (JSON output is the exact form), and leaving `\` alone makes escaping idempotent,
/// so a message built from already escaped parts can be escaped again as a whole.
public enum TerminalText {
    /// `text` with every control and display-reordering character written as a visible escape.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) { out += escape(scalar) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// Like `escaped`, but keeps line feeds: for a whole message whose own lines are meant, after
    /// the values inside it were escaped with `escaped` (which does escape line feeds).
    public static func escapedKeepingLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { escaped(String($0)) }.joined(separator: "\n")
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x00: return "\\0"
        case 0x09: return "\\t"
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x1B: return "\\e"
        case 0x01...0x1F, 0x7F: return "\\x" + hex(scalar.value, digits: 2)
        default: return "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
