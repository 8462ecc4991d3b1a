import Foundation
import Testing
import TriageData
@testable import TriageRuntime

/// `renderJSON` copies plain names as they are and escapes the rest as `JSONValue.quote` does.
@Suite struct OutputTableJSONTests {
    @Test(arguments: ["score", "top_feature", "", "a b~", "say \"hi\"", "back\\slash", "tab\there", "line\nbreak",
                      "del\u{7F}", "c1\u{85}", "héllo", "日本", "emoji 🙂", "nul\u{0}"])
    func quotedIsJSONValueQuote(text: String) {
        #expect(OutputTable.quoted(text) == Array(JSONValue.quote(text).utf8))
    }

    @Test func labelsAndTextAreQuotedInTheAnswer() throws {
        var table = OutputTable()
        table.add("score", .real([0.5, .nan]))
        table.add("anomaly", .integer([1, 0]))
        table.add("top_feature", .labels([1, 1], names: ["a", "b \"quoted\""]))
        table.add("service", .text(["svc-01", "naïve"]))
        let text = String(decoding: table.renderJSON(), as: UTF8.self)
        #expect(text == #"{"results":[{"score":0.5,"anomaly":1,"top_feature":"b \"quoted\"","service":"svc-01"},"#
                + #"{"score":null,"anomaly":0,"top_feature":"b \"quoted\"","service":"naïve"}]}"#)
        // And it is JSON that Foundation reads back.
        let parsed = try JSONSerialization.jsonObject(with: Data(table.renderJSON())) as? [String: Any]
        #expect((parsed?["results"] as? [Any])?.count == 2)
    }
}
