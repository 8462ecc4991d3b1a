import Foundation
import Testing
@testable import TriageEngine

@Suite struct HealthTrackerTests {
    /// Feeds flags and returns the state after each.
    static func states(_ flags: String, settings: HealthTracker.Settings = .init()) -> [HealthState] {
        var tracker = HealthTracker(settings: settings)
        return flags.map { flag in
            _ = tracker.observe(anomalous: flag == "x")
            return tracker.state
        }
    }

    @Test func oneNoisyRowNeitherOpensNorClosesAnIncident() {
        // Defaults: 3 anomalous rows open, 2 normal clear a suspicion, 5 normal close an incident.
        #expect(Self.states("x..") == [.degraded, .degraded, .healthy])
        #expect(Self.states("xx.x.") == [.degraded, .degraded, .degraded, .degraded, .degraded])
        #expect(Self.states("xxx") == [.degraded, .degraded, .unhealthy])
        let open = Self.states("xxx.x....x.....")
        #expect(open[2] == .unhealthy && open[3...13].allSatisfy { $0 == .unhealthy })
        #expect(open[14] == .healthy)
    }

    @Test func transitionsAreReportedOnce() {
        var tracker = HealthTracker()
        var changes = [HealthState]()
        for flag in "xxxxx.....xx" {
            if let next = tracker.observe(anomalous: flag == "x") { changes.append(next) }
        }
        #expect(changes == [.degraded, .unhealthy, .healthy, .degraded])
        var immediate = HealthTracker.Settings()
        immediate.unhealthyAfter = 1
        #expect(Self.states("x", settings: immediate) == [.unhealthy])
    }

    @Test func settingsOutOfRangeAreRejected() {
        var settings = HealthTracker.Settings()
        settings.recoverAfter = 0
        #expect(throws: EngineError.self) { try settings.validate() }
    }

    /// The fourth level: only an open incident escalates; critical stays critical through
    /// anomalous rows, ends by the recovery rule of unhealthy, and never drops back to unhealthy.
    @Test func criticalIsEnteredByEscalationAndLeftByRecovery() throws {
        var tracker = HealthTracker()
        #expect(tracker.escalate() == nil && tracker.state == .healthy)
        _ = tracker.observe(anomalous: true)
        #expect(tracker.escalate() == nil && tracker.state == .degraded)
        _ = tracker.observe(anomalous: true)
        _ = tracker.observe(anomalous: true)
        #expect(tracker.state == .unhealthy)
        #expect(tracker.escalate() == .critical && tracker.state == .critical)
        #expect(tracker.escalate() == nil)
        var changes = [HealthState]()
        for flag in "x....x....." {
            if let next = tracker.observe(anomalous: flag == "x") { changes.append(next) }
        }
        // Four normal rows are not enough (recoverAfter 5), the fifth in a row closes it.
        #expect(changes == [.healthy])
        #expect(tracker.state == .healthy)
    }

    /// A checkpointed tracker of an older version (three levels) restores as it was.
    @Test func aTrackerStoredBeforeCriticalExistedDecodes() throws {
        let old = #"{"settings":{"unhealthyAfter":3,"clearDegradedAfter":2,"recoverAfter":5},"state":"unhealthy","anomalousRun":4,"normalRun":0}"#
        let tracker = try JSONDecoder().decode(HealthTracker.self, from: Data(old.utf8))
        #expect(tracker.state == .unhealthy && tracker.anomalousRun == 4)
        #expect(HealthState.allCases == [.healthy, .degraded, .unhealthy, .critical])
        #expect(HealthState.critical.isIncident && HealthState.unhealthy.isIncident && !HealthState.degraded.isIncident)
    }
}
