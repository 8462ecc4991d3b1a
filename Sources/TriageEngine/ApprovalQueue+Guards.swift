import Foundation
import GRDB
import Synchronization
import TriageCore
import TriageData

/// The guards' state in the queue (`RemediationGuards`): the circuit breakers, the guard
/// settings the engine runs with, the caps checked when a recommendation is raised or approved.
///
/// Every change happens inside the transaction of what causes it: an outcome updates its breaker
/// where it is recorded (so an outcome counts exactly once, whoever records it: `triage outcome`,
/// the HTTP route, a failed hand-off), a half-open breaker's trial is taken where its
/// recommendation is raised, and a cap is checked where an approval commits (so two approvers at
/// once cannot both pass the last free place). Breaker transitions journal a `breaker` event, so
/// `/v1/events` streams them.
extension ApprovalQueue {
    static func registerGuards(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-guards") { db in
            // Without rowid: the (service, action) key is the table, one b-tree instead of a table
            // and its key index (each page counts in a queue kept small, see EngineWatchRecoveryTests).
            try db.create(table: "breaker", options: [.withoutRowID]) { t in
                t.column("service", .text).notNull()
                t.column("action", .text).notNull()
                t.column("state", .text).notNull()
                /// Outcomes of the window, oldest first (`CircuitBreaker.windowText`).
                t.column("window", .text).notNull()
                t.column("opened_at", .integer)
                t.column("retry_at", .integer)
                t.column("trial_id", .text)
                t.column("updated_at", .integer).notNull()
                t.primaryKey(["service", "action"])
            }
            // Nullable: recommendations raised before it were never held, and a reader of an
            // older queue decodes them as nil (`migrationsReadersMaySkip`).
            try db.alter(table: "recommendation") { t in
                t.add(column: "held_reason", .text)
                t.add(column: "held_until", .integer)
            }
            // No index for the caps' count of the last hour's approvals: the status index finds the
            // approved ones, few beside the rest, and every page of a new index costs each queue.
        }
    }

    static let guardsKey = "guards"

    // MARK: Settings

    /// Stores the guard settings the engine runs with, so that the commands that decide and
    /// record outcomes (which have no engine) apply the same breakers and caps.
    public func installGuards(_ settings: RemediationGuards.Settings) throws(EngineError) {
        let text = try Self.storedText(of: settings)
        try write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [Self.guardsKey, text])
        }
    }

    /// The installed guard settings; nil when no engine has installed any (then breakers count
    /// with the defaults and no cap applies: the caps are the engine's configuration).
    public func guardSettings() throws(EngineError) -> RemediationGuards.Settings? {
        try read { db in try Self.guardSettings(db) }
    }

    static func guardSettings(_ db: Database) throws -> RemediationGuards.Settings? {
        guard let text = try String.fetchOne(try db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"),
                                             arguments: [guardsKey]) else {
            return nil
        }
        // Read on every raise, approval and engine check: decoding the JSON each time was most
        // of the guards' cost (user CPU +16 % on the 345 600-row engine loop), so the last
        // text decoded is kept with its settings.
        return try storedGuardSettings(text)
    }

    /// The guard settings as both stores keep them in `meta` (key `guards`): sorted-key JSON.
    public static func storedText(of settings: RemediationGuards.Settings) throws(EngineError) -> String {
        try settings.validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do { return String(decoding: try encoder.encode(settings), as: UTF8.self) } catch {
            throw .invalid("cannot encode the guard settings: \(error)")
        }
    }

    /// The settings of a stored text, decoded once per distinct text (see `guardSettings(_:)`).
    public static func storedGuardSettings(_ text: String) throws(EngineError) -> RemediationGuards.Settings {
        if let known = lastGuardSettings.withLock({ $0 }), known.text == text { return known.settings }
        let settings: RemediationGuards.Settings
        do { settings = try JSONDecoder().decode(RemediationGuards.Settings.self, from: Data(text.utf8)) } catch {
            throw EngineError.invalid("the stored guard settings do not decode: \(error)")
        }
        try settings.validate()
        lastGuardSettings.withLock { $0 = (text, settings) }
        return settings
    }

    private static let lastGuardSettings = Mutex<(text: String, settings: RemediationGuards.Settings)?>(nil)

    /// Whether the breaker table exists: always in a queue opened for writing (migrated on
    /// open), not always in one read as it is (`migrationsReadersMaySkip`).
    func hasBreakers(_ db: Database) throws -> Bool {
        access == .readWrite ? true : try db.tableExists("breaker")
    }

    // MARK: Breakers

    /// One breaker as `triage breakers` lists it, its state as of the time asked.
    public struct BreakerStatus: Sendable, Equatable {
        public var service: String
        public var action: RemediationAction
        public var state: CircuitBreaker.State
        public var failures: Int
        public var outcomes: Int
        public var openedAt: Int64?
        public var retryAt: Int64?

        public init(service: String, action: RemediationAction, state: CircuitBreaker.State, failures: Int, outcomes: Int,
                    openedAt: Int64?, retryAt: Int64?) {
            self.service = service
            self.action = action
            self.state = state
            self.failures = failures
            self.outcomes = outcomes
            self.openedAt = openedAt
            self.retryAt = retryAt
        }

        /// `breaker` as listed at wall time `now` (its wait advanced by the clock, not stored).
        public init(service: String, action: RemediationAction, breaker stored: CircuitBreaker, settings: CircuitBreaker.Settings,
                    now: Int64) {
            var breaker = stored
            breaker.advance(to: now, settings: settings)
            self.init(service: service, action: action, state: breaker.state(at: now), failures: breaker.failures,
                      outcomes: breaker.outcomes, openedAt: breaker.openedAt, retryAt: breaker.retryAt)
        }

        public var json: JSONValue {
            .object([
                "service": .string(service), "action": .string(action.name), "state": .string(state.rawValue),
                "failures": .integer(failures), "outcomes": .integer(outcomes),
                "opened_at": openedAt.map { .string(Timestamp.iso($0)) } ?? .null,
                "retry_at": retryAt.map { .string(Timestamp.iso($0)) } ?? .null,
            ])
        }
    }

    /// Every stored breaker (service, then action order) as of wall time `now`; empty for a queue
    /// made before breakers existed. Reads only: a wait re-anchored after the clock went back
    /// (`CircuitBreaker.advance`) is shown, and stored by the next writer.
    public func breakers(now: Int64) throws(EngineError) -> [BreakerStatus] {
        let settings = try guardSettings() ?? RemediationGuards.Settings()
        return try read { db in
            guard try hasBreakers(db) else { return [] }
            return try Self.storedBreakers(db, service: nil).map { stored in
                BreakerStatus(service: stored.service, action: stored.action, breaker: stored.breaker, settings: settings.breaker,
                              now: now)
            }.sorted { ($0.service, $0.action) < ($1.service, $1.action) }
        }
    }

    struct StoredBreaker {
        var service: String
        var action: RemediationAction
        var breaker: CircuitBreaker
        var trialID: String?
    }

    static func storedBreakers(_ db: Database, service: String?) throws -> [StoredBreaker] {
        let rows: [Row]
        if let service {
            rows = try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM breaker WHERE service = ?"), arguments: [service])
        } else {
            rows = try Row.fetchAll(db, sql: "SELECT * FROM breaker")
        }
        return try rows.map(storedBreaker)
    }

    static func storedBreaker(_ row: Row) throws -> StoredBreaker {
        let service: String = try row.decode(forColumn: "service")
        let name: String = try row.decode(forColumn: "action"), stateName: String = try row.decode(forColumn: "state")
        guard let action = RemediationAction(name: name), let state = CircuitBreaker.State(rawValue: stateName) else {
            throw EngineError.invalid("breaker \(service)/\(name) has an unknown action or state '\(stateName)'")
        }
        let breaker = try CircuitBreaker(state: state, window: try CircuitBreaker.window(from: try row.decode(forColumn: "window")),
                                         openedAt: try row.decode(forColumn: "opened_at"),
                                         retryAt: try row.decode(forColumn: "retry_at"))
        return StoredBreaker(service: service, action: action, breaker: breaker, trialID: try row.decode(forColumn: "trial_id"))
    }

    /// A number that changes whenever what the guards know may have: an approval, rejection or
    /// expiry, a breaker stored. The engine keeps its copies of the guard facts while it stays
    /// the same (its own new recommendations do not change it: reading the facts again after
    /// each of them cost ~120 k instructions a recommendation, about 8 % of the engine loop's wall time).
    static func guardRevision(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(try db.cachedStatement(sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'guards_revision'")) ?? 0
    }

    static func bumpGuardRevision(_ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO meta (key, value) VALUES ('guards_revision', '1')
            ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
            """)
    }

    static func store(_ stored: StoredBreaker, now: Int64, in db: Database) throws {
        try bumpGuardRevision(db)
        try db.execute(sql: """
            INSERT INTO breaker (service, action, state, window, opened_at, retry_at, trial_id, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(service, action) DO UPDATE SET state = excluded.state, window = excluded.window,
                opened_at = excluded.opened_at, retry_at = excluded.retry_at, trial_id = excluded.trial_id,
                updated_at = excluded.updated_at
            """, arguments: [stored.service, stored.action.name, stored.breaker.storedState.rawValue,
                             stored.breaker.windowText, stored.breaker.openedAt, stored.breaker.retryAt,
                             stored.trialID, now])
    }

    static func journal(_ transition: CircuitBreaker.Transition, of stored: StoredBreaker, cause: String?, now: Int64,
                        in db: Database) throws {
        try journal(db, type: "breaker", json: breakerEventJSON(transition, service: stored.service, action: stored.action,
                                                                 breaker: stored.breaker, cause: cause, now: now), now: now)
    }

    /// The journal event of a breaker's transition, as both stores write it.
    public static func breakerEventJSON(_ transition: CircuitBreaker.Transition, service: String, action: RemediationAction,
                                        breaker b: CircuitBreaker, cause: String?, now: Int64) -> JSONValue {
        .object([
            "type": .string("breaker"), "timestamp": .string(Timestamp.iso(now)),
            "service": .string(service), "action": .string(action.name),
            "from": .string(transition.from.rawValue), "to": .string(transition.to.rawValue),
            "failures": .integer(b.failures), "outcomes": .integer(b.outcomes),
            "opened_at": b.openedAt.map { .string(Timestamp.iso($0)) } ?? .null,
            "retry_at": b.retryAt.map { .string(Timestamp.iso($0)) } ?? .null,
            "cause": cause.map(JSONValue.string) ?? .null,
        ])
    }

    /// Whether a half-open breaker's trial recommendation still holds its slot: waiting for a
    /// person, or approved and waiting for its outcome (a rejected or expired trial never ran).
    public static func trialHoldsSlot(status: String, expires: Int64, outcome: String?, now: Int64) -> Bool {
        (status == Recommendation.Status.pending.rawValue && expires > now)
            || (status == Recommendation.Status.approved.rawValue && outcome == nil)
    }

    /// Counts the outcome of `record` in its breaker (inside `recordOutcome`'s transaction).
    static func countOutcome(of record: Recommendation, now: Int64, in db: Database) throws {
        let settings = try guardSettings(db) ?? RemediationGuards.Settings()
        var stored = try storedBreakers(db, service: record.service).first { $0.action == record.action }
            ?? StoredBreaker(service: record.service, action: record.action, breaker: CircuitBreaker(), trialID: nil)
        let transitions = stored.breaker.record(failure: record.outcome == .failure, at: now, settings: settings.breaker)
        if transitions.contains(where: { $0.from == .halfOpen }) { stored.trialID = nil }
        try store(stored, now: now, in: db)
        for t in transitions { try journal(t, of: stored, cause: record.id, now: now, in: db) }
    }

    /// What the guards need to know of `service` at wall time `now`. Stores what the clock
    /// changed (an open breaker turned half-open, a wait re-anchored after the clock went back)
    /// when the queue is writable, so a breaker is never held open by a clock that stays behind.
    public func guardFacts(service: String, now: Int64) throws(EngineError) -> RemediationGuards.Facts {
        // One read transaction for all of it: a pool read costs ~120 k instructions (callgrind),
        // more than the queries it holds.
        let (facts, changed, settings) = try read { db -> (RemediationGuards.Facts, [StoredBreaker], RemediationGuards.Settings) in
            let settings = try Self.guardSettings(db) ?? RemediationGuards.Settings()
            var facts = RemediationGuards.Facts()
            var changed = [StoredBreaker]()
            guard try hasBreakers(db) else { return (facts, changed, settings) }
            for var stored in try Self.storedBreakers(db, service: service) {
                let step = stored.breaker.advance(to: now, settings: settings.breaker)
                if step.changed { changed.append(stored) }
                var pendingTrial: String?, trialExpires: Int64?
                if let trial = stored.trialID, stored.breaker.state(at: now) == .halfOpen,
                   let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT status, expires, outcome FROM recommendation WHERE id = ?"),
                                              arguments: [trial]) {
                    let status: String = try row.decode(forColumn: "status"), expires: Int64 = try row.decode(forColumn: "expires")
                    let outcome: String? = try row.decode(forColumn: "outcome")
                    // Waiting for a person, or approved and waiting for its outcome; a rejected or
                    // expired trial never ran and frees the slot.
                    if status == Recommendation.Status.pending.rawValue && expires > now {
                        pendingTrial = trial
                        trialExpires = expires
                    } else if status == Recommendation.Status.approved.rawValue && outcome == nil {
                        pendingTrial = trial
                    }
                }
                facts.breakers.append(.init(action: stored.action, breaker: stored.breaker, pendingTrial: pendingTrial,
                                            pendingTrialExpires: trialExpires))
            }
            if let row = try Row.fetchOne(try db.cachedStatement(sql: """
                SELECT action, created FROM recommendation
                WHERE service = ? AND status = 'approved' AND action != 'alert' ORDER BY created DESC LIMIT 1
                """), arguments: [service]),
               let action = RemediationAction(name: try row.decode(forColumn: "action")) {
                let created: Int64 = try row.decode(forColumn: "created")
                facts.lastApproval = (action, created)
            }
            return (facts, changed, settings)
        }
        if !changed.isEmpty && access == .readWrite {
            try write { db in
                for stored in changed {
                    // Stored again only if nobody changed it meanwhile (an outcome recorded by another process).
                    guard var current = try Self.storedBreakers(db, service: service).first(where: { $0.action == stored.action }) else { continue }
                    let step = current.breaker.advance(to: now, settings: settings.breaker)
                    guard step.changed else { continue }
                    try Self.store(current, now: now, in: db)
                    if let t = step.transition { try Self.journal(t, of: current, cause: nil, now: now, in: db) }
                }
            }
        }
        return facts
    }

    /// Takes the trial of `record`'s breaker when it is half-open with the trial free (inside
    /// `raise`'s transaction); returns whether `record` is the trial.
    static func takeTrial(for record: Recommendation, now: Int64, in db: Database) throws -> Bool {
        // Called while raising: the queue is open for writing, so migrated and with its breakers.
        guard var stored = try storedBreakers(db, service: record.service).first(where: { $0.action == record.action }) else {
            return false
        }
        let settings = try guardSettings(db) ?? RemediationGuards.Settings()
        let step = stored.breaker.advance(to: now, settings: settings.breaker)
        guard stored.breaker.state(at: now) == .halfOpen else {
            if step.changed { try store(stored, now: now, in: db) }
            return false
        }
        if let trial = stored.trialID,
           let row = try Row.fetchOne(db, sql: "SELECT status, expires, outcome FROM recommendation WHERE id = ?", arguments: [trial]) {
            let status: String = try row.decode(forColumn: "status"), expires: Int64 = try row.decode(forColumn: "expires")
            let outcome: String? = try row.decode(forColumn: "outcome")
            if (status == "pending" && expires > now) || (status == "approved" && outcome == nil) { return false }
        }
        stored.trialID = record.id
        try store(stored, now: now, in: db)
        if let t = step.transition { try journal(t, of: stored, cause: record.id, now: now, in: db) }
        return true
    }

    // MARK: Caps

    /// Whether approving one more `action` on `service` at wall time `now` would pass a cap:
    /// the reason, and the wall time from which the window allows it. Nil when no cap applies
    /// (no guards installed, an `alert`, or room left).
    static func capReached(service: String, action: RemediationAction, now: Int64,
                           in db: Database) throws -> (reason: String, until: Int64)? {
        guard action != .alert, let settings = try guardSettings(db) else { return nil }
        let since = now - RemediationGuards.Settings.capWindowSeconds
        // Approvals of the last hour, oldest first; a decision stamped after `now` (the clock
        // went back) counts too: a cap errs towards holding.
        let rows = try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT service, decided_at FROM recommendation
            WHERE status = 'approved' AND decided_at > ? AND action != 'alert' ORDER BY decided_at
            """), arguments: [since])
        let all = try rows.map { (service: try $0.decode(String.self, forColumn: "service"),
                                  at: try $0.decode(Int64.self, forColumn: "decided_at")) }
        return capReached(settings: settings, service: service, approvals: all)
    }

    /// The cap `service` would pass with one more approval, given `all` the approvals (not
    /// alerts) decided in the last hour, oldest first: both stores' rule and wording.
    public static func capReached(settings: RemediationGuards.Settings, service: String,
                                  approvals all: [(service: String, at: Int64)]) -> (reason: String, until: Int64)? {
        let mine = all.filter { $0.service == service }
        func until(_ approvals: [(service: String, at: Int64)], cap: Int) -> Int64 {
            // The window allows one more once all but cap − 1 of them have left it.
            approvals[approvals.count - cap].at + RemediationGuards.Settings.capWindowSeconds
        }
        if mine.count >= settings.approvalsPerServicePerHour {
            let allowed = until(mine, cap: settings.approvalsPerServicePerHour)
            return ("rate cap: \(mine.count) approvals handed off on \(service) in the last hour (cap "
                    + "\(settings.approvalsPerServicePerHour) per service); approvable from \(Timestamp.iso(allowed))", allowed)
        }
        if all.count >= settings.approvalsPerHour {
            let allowed = until(all, cap: settings.approvalsPerHour)
            return ("rate cap: \(all.count) approvals handed off in the last hour (cap \(settings.approvalsPerHour) "
                    + "in all); approvable from \(Timestamp.iso(allowed))", allowed)
        }
        return nil
    }

    /// Marks a recommendation about to be raised as held when a cap is reached (inside `raise`'s
    /// transaction), and takes its breaker's trial when that is half-open.
    static func applyGuards(to record: inout Recommendation, in db: Database) throws {
        let now = record.raisedAt
        if try takeTrial(for: record, now: now, in: db) { record.markAsTrial() }
        if let cap = try capReached(service: record.service, action: record.action, now: now, in: db) {
            record.markHeld(reason: cap.reason, until: cap.until)
        }
    }

    /// Refuses an approval that would pass a cap (inside `approve`'s transaction).
    static func checkCaps(_ record: Recommendation, now: Int64, in db: Database) throws {
        if let cap = try capReached(service: record.service, action: record.action, now: now, in: db) {
            throw EngineError.held(id: record.id, reason: cap.reason, until: cap.until)
        }
    }
}

extension Recommendation {
    /// Marks a record about to be raised as its half-open breaker's trial (the reason a person
    /// reads), as both stores do.
    public mutating func markAsTrial() {
        let reason = RemediationGuards.trialReason(service: service, action: action)
        if !reasons.contains(reason) { reasons.insert(reason, at: max(0, reasons.count - 1)) }
    }

    /// Marks a record about to be raised as held by a cap until `until`.
    public mutating func markHeld(reason: String, until: Int64) {
        heldReason = reason
        heldUntil = until
        reasons.insert("held: " + reason, at: max(0, reasons.count - 1))
    }
}
