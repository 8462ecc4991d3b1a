import Testing
@testable import TriageCore
@testable import TriageEngine

@Suite struct HTMLReportTests {
    @Test func textIsEscapedAndSpikesSurviveThinning() {
        var points = (0..<10_000).map { HTMLReport.ScorePoint(time: Int64($0) * 60, score: 0.4) }
        points[7_777].score = 0.97
        let track = HTMLReport.Track(service: "svc-<b>&", points: points,
                                     changes: [.init(time: 600, state: .degraded), .init(time: 900, state: .unhealthy),
                                               .init(time: 3_000, state: .healthy)])
        var r = Recommendation(service: "svc-<b>&", action: .restart, confidence: 0.5, created: 900, raisedAt: 1, expires: 2,
                               reasons: ["latency <5×> \"high\""], symptoms: Symptoms(features: [], levels: []))
        r.id = "rec-000001"
        let html = HTMLReport(title: "T & <x>", sources: ["e.jsonl"], generated: 0, tracks: [track], recommendations: [r],
                              fromQueue: true).render()
        #expect(!html.contains("<b>") && html.contains("svc-&lt;b&gt;&amp;") && html.contains("T &amp; &lt;x&gt;"))
        #expect(html.contains("latency &lt;5×&gt; &quot;high&quot;"))
        let polyline = html.split(separator: "<polyline")[1].split(separator: "/>")[0]
        let drawn = polyline.split(separator: " ").filter { $0.contains(",") }
        #expect(drawn.count <= HTMLReport.maximumPoints)
        // y of score 0.97 = 6 + 0.03 × 86 = 8.58: the one-row spike is still drawn.
        #expect(drawn.contains { $0.hasSuffix(",8.58") })
        #expect(html.contains("opacity=\"0.18\"") && html.contains("rec-000001"))
    }
}
