import Foundation
import Testing
@testable import TriageData

@Suite struct TerminalTextTests {
    @Test func controlsAndReorderingAreVisibleEscapes() {
        #expect(TerminalText.escaped("svc-01 ünïcødé ✓") == "svc-01 ünïcødé ✓")
        #expect(TerminalText.escaped("a\u{1B}[31mb\u{1B}[0m") == "a\\e[31mb\\e[0m")
        #expect(TerminalText.escaped("\u{0}\t\n\r\u{7}\u{1F}\u{7F}") == "\\0\\t\\n\\r\\x07\\x1f\\x7f")
        #expect(TerminalText.escaped("\u{9B}2J\u{85}") == "\\u{9b}2J\\u{85}")
        #expect(TerminalText.escaped("abc\u{202E}fed\u{2066}") == "abc\\u{202e}fed\\u{2066}")
        // Idempotent: the backslash is kept, so escaping twice changes nothing more.
        let once = TerminalText.escaped("x\u{1B}y\\z")
        #expect(once == "x\\ey\\z" && TerminalText.escaped(once) == once)
        #expect(TerminalText.escapedKeepingLines("one\u{1B}\ntwo\r") == "one\\e\ntwo\\r")
        // Every scalar of the result is printable.
        let all = String(String.UnicodeScalarView((0...0x20AF).compactMap(Unicode.Scalar.init)))
        #expect(!TerminalText.escaped(all).unicodeScalars.contains(where: TerminalText.needsEscape))
    }

    @Test func jsonEscapesEveryControlCharacter() throws {
        let text = "a\u{1B}[1m\u{7F}\u{9B}\u{85}b"
        let quoted = JSONValue.quote(text)
        #expect(quoted == "\"a\\u001b[1m\\u007f\\u009b\\u0085b\"")
        #expect(try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String == text)
    }
}
