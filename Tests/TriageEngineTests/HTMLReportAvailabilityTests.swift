import Testing
@testable import TriageCore
@testable import TriageEngine

@Suite struct HTMLReportAvailabilityTests {
    @Test func outagesRunFromUnhealthyToHealthyAndOpenOnesEndAtTheLastRow() {
        let points = (0...100).map { HTMLReport.ScorePoint(time: Int64($0) * 60, score: 0.3) }
        let track = HTMLReport.Track(service: "svc-01", points: points, changes: [
            .init(time: 600, state: .degraded), .init(time: 720, state: .unhealthy), .init(time: 1_320, state: .healthy),
            .init(time: 2_000, state: .degraded), .init(time: 2_100, state: .healthy), // a blip: no incident
            .init(time: 3_000, state: .unhealthy), .init(time: 3_300, state: .degraded), .init(time: 3_600, state: .healthy),
            .init(time: 5_400, state: .unhealthy)])
        let outages = HTMLReport.outages(track)
        #expect(outages.map(\.start) == [720, 3_000, 5_400])
        #expect(outages.map(\.end) == [1_320, 3_600, 6_000])
    }

    @Test func tableShowsTheFiguresPerService() {
        let points = (0...100).map { HTMLReport.ScorePoint(time: Int64($0) * 60, score: 0.3) }
        let down = HTMLReport.Track(service: "svc-01", points: points, changes: [
            .init(time: 600, state: .unhealthy), .init(time: 1_200, state: .healthy),
            .init(time: 4_800, state: .unhealthy), .init(time: 5_400, state: .healthy)])
        let quiet = HTMLReport.Track(service: "svc-02", points: points, changes: [])
        let html = HTMLReport(title: "t", sources: [], generated: 0, tracks: [down, quiet], recommendations: [],
                              fromQueue: false).render()
        #expect(html.contains("<h2>Availability</h2>"))
        // MTTR 10 min, MTBF 60 min, availability 60/70.
        #expect(html.contains("<td>svc-01</td><td class=\"num\">2</td><td class=\"num\">10.0 min</td><td class=\"num\">60.0 min</td><td class=\"num\">85.714 %</td>"))
        #expect(html.contains("<td>svc-02</td><td class=\"num\">0</td><td class=\"num\">–</td>"))
    }
}
