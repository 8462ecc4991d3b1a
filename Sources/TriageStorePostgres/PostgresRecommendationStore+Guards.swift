import Foundation
import PostgresNIO
import TriageCore
import TriageData
import TriageEngine

/// The guards on PostgreSQL (`RemediationGuards`): circuit breakers, the installed settings and
/// the rate caps, with `ApprovalQueue+Guards.swift`'s behaviour. The rules themselves (breaker
/// transitions, the caps' arithmetic and wording, the journal lines) are the engine's, shared;
/// only the queries are PostgreSQL's. As in SQLite, every change happens inside the transaction
/// of what causes it: an outcome updates its breaker where it is recorded, a half-open breaker's
/// trial is taken where its recommendation is raised, a cap is checked where an approval commits
/// (all under the writers' lock, so two approvers at once cannot both pass the last free place).
extension PostgresRecommendationStore {
    struct StoredBreaker: Sendable {
        var service: String
        var action: RemediationAction
        var breaker: CircuitBreaker
        var trialID: String?
    }

    // MARK: Settings

    public func installGuards(_ settings: RemediationGuards.Settings) async throws(EngineError) {
        let text = try ApprovalQueue.storedText(of: settings)
        try await write { connection in
            try await connection.query("""
                INSERT INTO meta (key, value) VALUES ('guards', \(text)) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: self.logger)
        }
        guardsSeen.withLock { $0 = true }
    }

    public func guardSettings() async throws(EngineError) -> RemediationGuards.Settings? {
        let text = try await read { connection in try await self.guardSettingsText(on: connection) }
        return try text.map { text throws(EngineError) in try ApprovalQueue.storedGuardSettings(text) }
    }

    func guardSettingsText(on connection: PostgresConnection) async throws -> String? {
        try await rows("SELECT value FROM meta WHERE key = 'guards'", on: connection).first?["value"].decode(String.self)
    }

    func guardSettings(on connection: PostgresConnection) async throws -> RemediationGuards.Settings? {
        try await guardSettingsText(on: connection).map { text throws in try ApprovalQueue.storedGuardSettings(text) }
    }

    // MARK: Breakers

    func storedBreakers(service: String?, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> [StoredBreaker] {
        var binds = PostgresBindings()
        var sql = "SELECT service, action, state, \"window\", opened_at, retry_at, trial_id FROM breaker"
        if let service {
            binds.append(service)
            sql += " WHERE service = $1"
        }
        if forUpdate { sql += " FOR UPDATE" }
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds), on: connection).map { row in
            let service = try row["service"].decode(String.self), name = try row["action"].decode(String.self)
            let stateName = try row["state"].decode(String.self)
            guard let action = RemediationAction(name: name), let state = CircuitBreaker.State(rawValue: stateName) else {
                throw EngineError.invalid("breaker \(service)/\(name) has an unknown action or state '\(stateName)'")
            }
            let breaker = try CircuitBreaker(state: state, window: try CircuitBreaker.window(from: try row["window"].decode(String.self)),
                                             openedAt: try row["opened_at"].decode(Int64?.self),
                                             retryAt: try row["retry_at"].decode(Int64?.self))
            return StoredBreaker(service: service, action: action, breaker: breaker, trialID: try row["trial_id"].decode(String?.self))
        }
    }

    /// Every stored breaker (service, then action order) as of wall time `now`; reads only.
    public func breakers(now: Int64) async throws(EngineError) -> [ApprovalQueue.BreakerStatus] {
        let (settings, stored) = try await read { connection in
            (try await self.guardSettings(on: connection) ?? RemediationGuards.Settings(),
             try await self.storedBreakers(service: nil, on: connection))
        }
        return stored.map {
            ApprovalQueue.BreakerStatus(service: $0.service, action: $0.action, breaker: $0.breaker, settings: settings.breaker, now: now)
        }.sorted { ($0.service, $0.action) < ($1.service, $1.action) }
    }

    func store(_ stored: StoredBreaker, now: Int64, on connection: PostgresConnection) async throws {
        try await bumpGuardRevision(on: connection)
        try await connection.query("""
            INSERT INTO breaker (service, action, state, "window", opened_at, retry_at, trial_id, updated_at)
            VALUES (\(stored.service), \(stored.action.name), \(stored.breaker.storedState.rawValue), \(stored.breaker.windowText),
                    \(stored.breaker.openedAt), \(stored.breaker.retryAt), \(stored.trialID), \(now))
            ON CONFLICT (service, action) DO UPDATE SET state = excluded.state, "window" = excluded."window",
                opened_at = excluded.opened_at, retry_at = excluded.retry_at, trial_id = excluded.trial_id,
                updated_at = excluded.updated_at
            """, logger: logger)
    }

    func journal(_ transition: CircuitBreaker.Transition, of stored: StoredBreaker, cause: String?, now: Int64,
                 on connection: PostgresConnection) async throws {
        let json = ApprovalQueue.breakerEventJSON(transition, service: stored.service, action: stored.action,
                                                  breaker: stored.breaker, cause: cause, now: now)
        try await journal(type: "breaker", body: json.serialized(), now: now, on: connection)
    }

    /// Counts the outcome of `record` in its breaker (inside `recordOutcome`'s transaction).
    func countOutcome(of record: Recommendation, now: Int64, on connection: PostgresConnection) async throws {
        let settings = try await guardSettings(on: connection) ?? RemediationGuards.Settings()
        var stored = try await storedBreakers(service: record.service, forUpdate: true, on: connection).first { $0.action == record.action }
            ?? StoredBreaker(service: record.service, action: record.action, breaker: CircuitBreaker(), trialID: nil)
        let transitions = stored.breaker.record(failure: record.outcome == .failure, at: now, settings: settings.breaker)
        if transitions.contains(where: { $0.from == .halfOpen }) { stored.trialID = nil }
        try await store(stored, now: now, on: connection)
        for t in transitions { try await journal(t, of: stored, cause: record.id, now: now, on: connection) }
    }

    /// Whether the trial recommendation `id` still holds its breaker's slot at `now`.
    func trialHoldsSlot(_ id: String, now: Int64, on connection: PostgresConnection) async throws -> (holds: Bool, status: String, expires: Int64)? {
        guard let row = try await rows("SELECT status, expires, outcome FROM recommendation WHERE id = \(id)", on: connection).first else {
            return nil
        }
        let status = try row["status"].decode(String.self), expires = try row["expires"].decode(Int64.self)
        let outcome = try row["outcome"].decode(String?.self)
        return (ApprovalQueue.trialHoldsSlot(status: status, expires: expires, outcome: outcome, now: now), status, expires)
    }

    /// What the guards need to know of `service` at wall time `now`, storing what the clock
    /// changed (as `ApprovalQueue.guardFacts`).
    public func guardFacts(service: String, now: Int64) async throws(EngineError) -> RemediationGuards.Facts {
        let (facts, changed, settings) = try await read { connection in
            let settings = try await self.guardSettings(on: connection) ?? RemediationGuards.Settings()
            var facts = RemediationGuards.Facts()
            var changed = [StoredBreaker]()
            for var stored in try await self.storedBreakers(service: service, on: connection) {
                let step = stored.breaker.advance(to: now, settings: settings.breaker)
                if step.changed { changed.append(stored) }
                var pendingTrial: String?, trialExpires: Int64?
                if let trial = stored.trialID, stored.breaker.state(at: now) == .halfOpen,
                   let slot = try await self.trialHoldsSlot(trial, now: now, on: connection), slot.holds {
                    pendingTrial = trial
                    // Waiting for a person: it frees the slot when it expires.
                    if slot.status == Recommendation.Status.pending.rawValue { trialExpires = slot.expires }
                }
                facts.breakers.append(.init(action: stored.action, breaker: stored.breaker, pendingTrial: pendingTrial,
                                            pendingTrialExpires: trialExpires))
            }
            if let row = try await self.rows("""
                SELECT action, created FROM recommendation
                WHERE service = \(service) AND status = 'approved' AND action <> 'alert' ORDER BY created DESC LIMIT 1
                """, on: connection).first, let action = RemediationAction(name: try row["action"].decode(String.self)) {
                facts.lastApproval = (action, try row["created"].decode(Int64.self))
            }
            return (facts, changed, settings)
        }
        if !changed.isEmpty {
            try await write { connection in
                for stored in changed {
                    // Stored again only if nobody changed it meanwhile (an outcome recorded by another process).
                    guard var current = try await self.storedBreakers(service: service, forUpdate: true, on: connection)
                        .first(where: { $0.action == stored.action }) else { continue }
                    let step = current.breaker.advance(to: now, settings: settings.breaker)
                    guard step.changed else { continue }
                    try await self.store(current, now: now, on: connection)
                    if let t = step.transition { try await self.journal(t, of: current, cause: nil, now: now, on: connection) }
                }
            }
        }
        return facts
    }

    /// Takes the trial of `record`'s breaker when it is half-open with the trial free (inside
    /// a raise's transaction); returns whether `record` is the trial.
    func takeTrial(for record: Recommendation, now: Int64, on connection: PostgresConnection) async throws -> Bool {
        guard var stored = try await storedBreakers(service: record.service, forUpdate: true, on: connection)
            .first(where: { $0.action == record.action }) else {
            return false
        }
        let settings = try await guardSettings(on: connection) ?? RemediationGuards.Settings()
        let step = stored.breaker.advance(to: now, settings: settings.breaker)
        guard stored.breaker.state(at: now) == .halfOpen else {
            if step.changed { try await store(stored, now: now, on: connection) }
            return false
        }
        if let trial = stored.trialID, let slot = try await trialHoldsSlot(trial, now: now, on: connection), slot.holds {
            return false
        }
        stored.trialID = record.id
        try await store(stored, now: now, on: connection)
        if let t = step.transition { try await journal(t, of: stored, cause: record.id, now: now, on: connection) }
        return true
    }

    // MARK: Caps

    /// The cap one more approval of `action` on `service` at `now` would pass, if any
    /// (`ApprovalQueue.capReached`: no guards installed or an `alert` → none).
    func capReached(service: String, action: RemediationAction, now: Int64,
                    on connection: PostgresConnection) async throws -> (reason: String, until: Int64)? {
        guard action != .alert, let settings = try await guardSettings(on: connection) else { return nil }
        let since = now - RemediationGuards.Settings.capWindowSeconds
        let approvals = try await rows("""
            SELECT service, decided_at FROM recommendation
            WHERE status = 'approved' AND decided_at > \(since) AND action <> 'alert' ORDER BY decided_at
            """, on: connection).map { (service: try $0["service"].decode(String.self), at: try $0["decided_at"].decode(Int64.self)) }
        return ApprovalQueue.capReached(settings: settings, service: service, approvals: approvals)
    }
}
