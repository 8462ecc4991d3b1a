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

    /// Names, reasons and decisions come from outside: no markup gets through, and control
    /// characters (invalid in HTML) are shown as visible escapes.
    @Test func scriptsAndControlCharactersAreInert() {
        let service = "<script>alert(1)</script>\u{1B}[31m"
        let track = HTMLReport.Track(service: service, points: [.init(time: 0, score: 0.9), .init(time: 60, score: 0.2)],
                                     changes: [])
        var r = Recommendation(service: service, action: .restart, confidence: 0.5, created: 0, raisedAt: 1, expires: 2,
                               reasons: ["<img src=x onerror=alert(2)>\u{7}"], symptoms: Symptoms(features: [], levels: []))
        r.id = "rec-000001"
        r.status = .approved
        r.decidedBy = "<b>eve</b>\u{0}\u{9B}"
        r.decisionNote = "</td><script>x</script>\u{1B}"
        let html = HTMLReport(title: "<script>t</script>", sources: ["e\u{1B}.jsonl"], generated: 0, tracks: [track],
                              recommendations: [r], fromQueue: true).render()
        #expect(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\e[31m"))
        #expect(html.contains("&lt;b&gt;eve&lt;/b&gt;\\0\\u{9b}"))
        let controls = html.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
        #expect(controls.isEmpty, "\(controls.map(\.value))")
    }

    /// A critical band in its own colour, the count in the summary, and each escalation with its
    /// cause, what was seen and the threshold.
    @Test func criticalEscalationsAreShownWithCauseAndThreshold() {
        let escalation = CriticalEscalation.Escalation(cause: .heartbeatLost, observed: "400 s", threshold: "300 s")
        let track = HTMLReport.Track(service: "api", points: [.init(time: 0, score: 0.2), .init(time: 6_000, score: 0.3)],
                                     changes: [.init(time: 600, state: .unhealthy), .init(time: 900, state: .critical, escalation: escalation),
                                               .init(time: 3_000, state: .healthy)])
        let html = HTMLReport(title: "t", sources: ["e.jsonl"], generated: 0, tracks: [track], recommendations: [],
                              fromQueue: false).render()
        #expect(html.contains("■ critical") && html.contains("fill=\"#6b0f1a\""))
        #expect(html.contains("<tr><th>critical escalations</th><td>1</td></tr>"))
        #expect(html.contains("<td>1970-01-01T00:15:00Z</td><td>api</td><td>heartbeat_lost</td><td>400 s</td><td>300 s</td>"))
        // Critical keeps the outage open: one incident, 600 → 3 000 s.
        #expect(HTMLReport.outages(track).map { [$0.start, $0.end] } == [[600, 3_000]])
        let quiet = HTMLReport(title: "t", sources: [], generated: 0, tracks: [], recommendations: [], fromQueue: false).render()
        #expect(quiet.contains("<h2>Critical escalations</h2>") && quiet.contains("<p class=\"muted\">none</p>"))
    }
}
