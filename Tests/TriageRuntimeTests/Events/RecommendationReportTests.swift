import Foundation
import Testing
import TriageData
@testable import TriageRuntime

@Test func withoutScoreEventsTheIntervalMustBeGivenAndTheErrorNamesNoFlag() throws {
    let folder = temporaryFolder()
    let events = folder + "/events.jsonl", truth = folder + "/truth.json"
    try """
        {"timestamp":"2026-01-05T00:10:00Z","service":"a","type":"recommendation","created":"2026-01-05T00:10:00Z","action":"restart"}

        """.write(toFile: events, atomically: false, encoding: .utf8)
    try """
        {"faults":[{"service":"a","start":"2026-01-05T00:00:00Z","end":"2026-01-05T00:20:00Z","best_action":"restart"}]}
        """.write(toFile: truth, atomically: false, encoding: .utf8)
    #expect {
        try RecommendationReport.evaluate(events: events, truth: truth, interval: nil)
    } throws: { error in
        guard let unknown = error as? RecommendationReport.UnknownInterval else { return false }
        return unknown.events == events && !unknown.description.contains("--")
    }
    let report = try RecommendationReport.evaluate(events: events, truth: truth, interval: 60)
    #expect(report.json["recall"] == .number(1) && report.json["interval_seconds"] == .integer(60))
}
