import Foundation
import Testing
@testable import TriageEngine

/// The scale-down window alone: due only after a full window of healthy rows that all asked for
/// fewer replicas, for the highest count asked; reset by anything else; one open at a time.
@Suite struct ScaleDownStabilisationTests {
    static func proposal(current: Int, desired: Int, usable: Bool = true) -> HorizontalScalingRule.Proposal {
        .init(current: current, desired: desired, deciding: nil, allSignalsUsable: usable)
    }

    /// Feeds rows every 60 s from t = 0; returns the rows (index) at which scale_down was due and its count.
    static func run(_ rows: [(healthy: Bool, proposal: HorizontalScalingRule.Proposal?)], window: Int64 = 300,
                    raise: Bool = true) -> [(row: Int, replicas: Int)] {
        var w = ScaleDownStabilisation()
        var due = [(row: Int, replicas: Int)]()
        for (k, row) in rows.enumerated() {
            if let n = w.observe(time: Int64(k) * 60, healthy: row.healthy, proposal: row.proposal, window: window) {
                due.append((k, n))
                if raise { w.raised(id: "rec-\(k)") }
            }
        }
        return due
    }

    @Test func dueAfterTheWindowForTheHighestCountAsked() {
        let asks = [2, 3, 2, 2, 2, 2]
        let due = Self.run(asks.map { (true, Self.proposal(current: 4, desired: $0)) })
        // Rows at 0…300 s: the window is covered at row 5; 3 is the highest asked in it.
        #expect(due.count == 1 && due[0].row == 5 && due[0].replicas == 3)
    }

    @Test func aRowThatAsksForNoFewerResetsTheRun() {
        var rows = (0..<4).map { _ in (healthy: true, proposal: Optional(Self.proposal(current: 4, desired: 2))) }
        rows.append((true, Self.proposal(current: 4, desired: 4)))
        rows += (0..<5).map { _ in (healthy: true, proposal: Optional(Self.proposal(current: 4, desired: 2))) }
        #expect(Self.run(rows).isEmpty)
        rows.append((true, Self.proposal(current: 4, desired: 2)))
        #expect(Self.run(rows).map(\.row) == [10])
    }

    @Test func neverDuringAnIncidentOrWithAMissingSignal() {
        let unhealthy = (0..<20).map { _ in (healthy: false, proposal: Optional(Self.proposal(current: 4, desired: 1))) }
        #expect(Self.run(unhealthy).isEmpty)
        let missing = (0..<20).map { _ in (healthy: true, proposal: Optional(Self.proposal(current: 4, desired: 1, usable: false))) }
        #expect(Self.run(missing).isEmpty)
        let unknown = (0..<20).map { _ in (healthy: true, proposal: HorizontalScalingRule.Proposal?.none) }
        #expect(Self.run(unknown).isEmpty)
        // One unhealthy row in the middle restarts the window.
        var rows = (0..<11).map { _ in (healthy: true, proposal: Optional(Self.proposal(current: 4, desired: 2))) }
        rows[4].healthy = false
        // The run restarts at row 5 (300 s) and covers the window at row 10 (600 s).
        #expect(Self.run(rows).map(\.row) == [10])
    }

    @Test func notRepeatedWhilePendingAndAnotherWindowAfterTheDecision() {
        var w = ScaleDownStabilisation()
        let p = Self.proposal(current: 4, desired: 2)
        var due = [Int64]()
        for t in stride(from: Int64(0), through: 1_200, by: 60) {
            if t == 600 { w.decided(at: t) }
            if w.observe(time: t, healthy: true, proposal: p, window: 300) != nil {
                due.append(t)
                w.raised(id: "r\(t)")
            }
        }
        // Raised at 300; pending until decided at 600; the next window runs 600…900.
        #expect(due == [300, 900])
    }

    @Test func aNewReplicaCountStartsANewRun() {
        var rows = (0..<4).map { _ in (healthy: true, proposal: Optional(Self.proposal(current: 4, desired: 2))) }
        rows += (0..<6).map { _ in (healthy: true, proposal: Optional(Self.proposal(current: 3, desired: 2))) }
        // The count changed at row 4 (240 s): the window is covered at row 9 (540 s), not row 5.
        #expect(Self.run(rows).map(\.row) == [9])
    }

    @Test func unqueuedOnesAreDroppedWhenTheReplicasChangeOrTheServiceIsNotHealthy() {
        var w = ScaleDownStabilisation()
        let p = Self.proposal(current: 4, desired: 2)
        for t in stride(from: Int64(0), through: 300, by: 60) { _ = w.observe(time: t, healthy: true, proposal: p, window: 300) }
        w.raised(id: "")
        w.dropUnqueued(replicas: 4, healthy: true)
        #expect(w.pending == "")
        w.dropUnqueued(replicas: 2, healthy: true)
        #expect(w.pending == nil)
    }

    @Test func itRoundTripsThroughJSON() throws {
        var w = ScaleDownStabilisation()
        _ = w.observe(time: 60, healthy: true, proposal: Self.proposal(current: 4, desired: 2), window: 300)
        w.raised(id: "rec-000007")
        let back = try JSONDecoder().decode(ScaleDownStabilisation.self, from: JSONEncoder().encode(w))
        #expect(back == w)
    }

    /// The open one's decision is looked up only once its window is covered, then once a window.
    @Test func pendingDecisionsAreLookedUpOncePerWindow() {
        var w = ScaleDownStabilisation()
        let p = Self.proposal(current: 4, desired: 2)
        var checks = [Int64]()
        for t in stride(from: Int64(0), through: 1_500, by: 60) {
            if w.shouldCheckPending(at: t, window: 300) { checks.append(t) }
            if w.observe(time: t, healthy: true, proposal: p, window: 300) != nil { w.raised(id: "r") }
        }
        // Raised at 300 (no lookup before: nothing pending); looked up at 360, then every 300 s.
        #expect(checks == [360, 660, 960, 1_260])
    }
}
