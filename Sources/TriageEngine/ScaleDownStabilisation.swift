/// The scale-down stabilisation window of one service (`HorizontalScalingRule`): `scale_down`
/// is due only after a run of healthy rows spanning the window, every one of which asked for
/// fewer replicas than the service runs, and then for the largest count the run asked for (the
/// HPA's "highest recommendation within the window").
///
/// Rules, in data time:
/// - any row that is not healthy (degraded, unhealthy, critical: an incident, or the start of
///   one), that asks for no fewer replicas, or whose signals are not all usable, ends the run;
/// - a change of the replica count starts a new run (the old readings were for other sizing);
/// - one open `scale_down` per service: while one is `pending`, none is raised; when its
///   decision is seen (approved, rejected or expired), a new run starts at that row, so at
///   least another window passes before the next.
///
/// Stored in the engine's checkpoint; a checkpoint written before it existed restores with an
/// empty window.
public struct ScaleDownStabilisation: Codable, Sendable, Equatable {
    /// Data time of the run's first row (nil: no run).
    public private(set) var since: Int64?
    /// The largest count asked for during the run.
    public private(set) var highest = 0
    /// The replica count the run was measured at.
    public private(set) var replicas = 0
    /// The open `scale_down`: its queue id (empty when raised without a queue).
    public var pending: String?
    /// Data time the open one's decision was last looked up (nil: not yet).
    public private(set) var pendingCheckedAt: Int64?

    public init() {}

    /// Takes one row; returns the replica count to recommend when a `scale_down` is due.
    /// - Parameters:
    ///   - healthy: the service's state after this row is `healthy`.
    ///   - proposal: the HPA rule on this row (nil: no replica count or targets).
    public mutating func observe(time: Int64, healthy: Bool, proposal: HorizontalScalingRule.Proposal?,
                                 window: Int64) -> Int? {
        guard healthy, let proposal, proposal.allSignalsUsable, proposal.desired < proposal.current else {
            since = nil
            return nil
        }
        if since == nil || replicas != proposal.current {
            since = time
            highest = proposal.desired
            replicas = proposal.current
        } else {
            highest = max(highest, proposal.desired)
        }
        guard pending == nil, let start = since else { return nil }
        let (elapsed, overflow) = time.subtractingReportingOverflow(start)
        guard !overflow, elapsed >= window else { return nil }
        return highest
    }

    /// Marks a `scale_down` raised (`id`: its queue id, empty without a queue).
    public mutating func raised(id: String) {
        pending = id
        pendingCheckedAt = nil
    }

    /// Whether to look up the open one's decision on the row at `time`: only once its window
    /// would otherwise be due, and then at most once per window. (A lookup on every row cost a
    /// dictionary probe per healthy row of every service with one open.) The next window still
    /// starts only when the decision is seen, so at least a full window follows it.
    public mutating func shouldCheckPending(at time: Int64, window: Int64) -> Bool {
        guard pending != nil, let start = since else { return false }
        let (elapsed, overflow) = time.subtractingReportingOverflow(start)
        guard overflow || elapsed >= window else { return false }
        if let checked = pendingCheckedAt {
            let (sinceCheck, late) = time.subtractingReportingOverflow(checked)
            guard late || sinceCheck >= window || sinceCheck < 0 else { return false }
        }
        pendingCheckedAt = time
        return true
    }

    /// The open `scale_down` was decided (or expired) by the row at `time`: wait another full
    /// window from the next row on.
    public mutating func decided(at time: Int64) {
        pending = nil
        pendingCheckedAt = nil
        // The next row starts a new run (its readings only): at least another window.
        since = nil
    }

    /// Without a queue nothing is ever decided: the open one is dropped when the replica count it
    /// was for changes or the service leaves `healthy`, whichever comes first.
    public mutating func dropUnqueued(replicas current: Int?, healthy: Bool) {
        guard pending == "" else { return }
        if !healthy || current != replicas { pending = nil; since = nil }
    }
}
