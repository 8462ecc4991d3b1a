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
}
