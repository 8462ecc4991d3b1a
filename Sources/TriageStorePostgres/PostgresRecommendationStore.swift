import Foundation
import Logging
import PostgresNIO
import Synchronization
import TriageCore
import TriageData
import TriageEngine

/// The store of recommendations in PostgreSQL (issue 18): the same schema, migrations and
/// behaviour as the SQLite `ApprovalQueue`, checked by one conformance suite.
///
/// **Writes are serialised** like SQLite's single writer: every writing transaction first takes a
/// transaction-scoped advisory lock (`PostgresSchema.writerLockKey`). That keeps the behaviour
/// the suite checks (a decision taken exactly once, ids `rec-000001`… without gaps) and, above
/// all, makes journal ids increase in commit order: with concurrent writers an identity column
/// hands out ids at insert time, and a reader resuming "after id N" could miss an event with a
/// smaller id that committed later. Spreading writes over services (leases) is the next phase.
///
/// A connection pool (postgres-nio's `PostgresClient`) carries the queries, reconnecting after
/// the server restarts; the store is opened once on a plain connection first, so a wrong host,
/// port or password is reported at once, naming the server, instead of queries waiting for a
/// pool that cannot connect. Call `close()` when done.
public final class PostgresRecommendationStore: RecommendationStore {
    public let url: PostgresURL
    public var location: String { url.location }
    public let instance: String
    /// The pool and the task running it; replaced after an operation found no server for its
    /// whole time (see `bounded`).
    private let pool: Mutex<(client: PostgresClient, runner: Task<Void, Never>)>
    /// Set by `close()`: a closed pool is then final, not a replaced one to retry past.
    private let isClosed = Mutex(false)
    var client: PostgresClient { pool.withLock { $0.client } }
    let logger: Logger
    /// The number the next raise expects to give (the count of recommendations + 1, as last
    /// seen): a raise numbers its row with it and sends it in one call; when another writer
    /// raised meanwhile, the server answers with the count and the raise renumbers (see `raise`).
    let nextNumberGuess: Mutex<Int>
    /// Whether this store saw guard settings installed (they are never removed): then every
    /// raise applies them without asking first (`raise`).
    let guardsSeen = Mutex(false)
    /// When a failed readiness probe last replaced the pool (`probe(timeout:)`).
    let lastPoolRenewal = Mutex<ContinuousClock.Instant?>(nil)
    /// The outbox dispatcher running in this process, if any (`attach`): approvals ask it for a
    /// pass instead of taking the dispatcher lock themselves.
    let residentDispatcher = Mutex<OutboxDispatcher?>(nil)

    private init(url: PostgresURL, instance: String, raisedCount: Int, client: PostgresClient, runner: Task<Void, Never>,
                 logger: Logger) {
        self.url = url
        self.instance = instance
        self.nextNumberGuess = Mutex(raisedCount + 1)
        self.pool = Mutex((client, runner))
        self.logger = logger
    }

    /// Opens the store at `urlText`, creating or migrating its schema (see `PostgresSchema`).
    public static func open(_ urlText: String, logger: Logger = Logger(label: "triage.postgres")) async throws(PostgresStoreError)
        -> PostgresRecommendationStore {
        let url = try PostgresURL(urlText)
        let configuration = try url.connectionConfiguration()
        let instance: String
        var raisedCount = 0
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            do {
                try await PostgresSchema.migrate(connection, location: url.location, logger: logger)
                let rows = try await connection.query("SELECT value FROM meta WHERE key = 'instance'", logger: logger)
                var found = ""
                for try await value in rows.decode(String.self) { found = value }
                instance = found
                let counts = try await connection.query("SELECT value FROM meta WHERE key = 'recommendations'", logger: logger)
                for try await value in counts.decode(String.self) { raisedCount = Int(value) ?? 0 }
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch {
            throw classify(error, url: url)
        }
        // The pool's own log: errors only (its warnings, such as a lease asked for in the moment
        // before `run()` starts, are noise to a command's user; errors of queries are thrown).
        let (client, runner) = makePool(url: url, logger: logger)
        return PostgresRecommendationStore(url: url, instance: instance, raisedCount: raisedCount, client: client, runner: runner, logger: logger)
    }

    static func makePool(url: PostgresURL, logger: Logger) -> (PostgresClient, Task<Void, Never>) {
        var poolLogger = logger
        poolLogger.logLevel = .error
        let client = PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: poolLogger)
        return (client, Task { await client.run() })
    }

    /// A pool that found no server for a whole operation has backed its connection attempts off
    /// (postgres-nio: 100 ms × 1.25ⁿ, up to a minute apart), so it would answer late once the
    /// server is back: a fresh pool connects at the next operation. After the 15 s outage of
    /// `PostgresRestartTests` the test took 16.9 s with it and 19.6 s without (one run each; the
    /// gap grows with the outage, as the backoff does).
    func replacePool() {
        let (client, runner) = Self.makePool(url: url, logger: logger)
        let old = pool.withLock { pool in
            defer { pool = (client, runner) }
            return pool.runner
        }
        old.cancel()
    }

    /// Closes the pool's connections.
    public func close() async {
        isClosed.withLock { $0 = true }
        let runner = pool.withLock { $0.runner }
        runner.cancel()
        await runner.value
    }

    deinit { pool.withLock { $0.runner.cancel() } }

    // MARK: Errors

    /// The open error to report: unreachable and refused credentials named with the server.
    static func classify(_ error: any Error, url: PostgresURL) -> PostgresStoreError {
        if let store = error as? PostgresStoreError { return store }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .connectionError:
                return .unreachable(endpoint: url.endpoint, reason: describe(psql.underlying))
            case .server:
                let state = psql.serverInfo?[.sqlState] ?? ""
                let message = psql.serverInfo?[.message] ?? "\(psql)"
                switch state {
                // invalid_password, invalid_authorization_specification (no such role, pg_hba refusal)
                case "28P01", "28000": return .authenticationFailed(endpoint: url.endpoint, user: url.user, reason: message)
                case "3D000": return .noSuchDatabase(endpoint: url.endpoint, database: url.database)
                default: return .server(location: url.location, reason: "\(message) (SQLSTATE \(state))")
                }
            case .authMechanismRequiresPassword:
                return .authenticationFailed(endpoint: url.endpoint, user: url.user,
                                             reason: "the server asks for a password and the URL gives none")
            case .sslUnsupported:
                return .unreachable(endpoint: url.endpoint, reason: "the server does not offer TLS and sslmode=\(url.sslMode.rawValue) requires it")
            case .serverClosedConnection, .uncleanShutdown:
                return .unreachable(endpoint: url.endpoint, reason: "the server closed the connection (\(describe(psql.underlying)))")
            default:
                return .server(location: url.location, reason: "\(psql.code)\(psql.underlying.map { ": \(describe($0))" } ?? "")")
            }
        }
        if error is NIOConnectionError || error is IOError || error is ChannelError {
            return .unreachable(endpoint: url.endpoint, reason: describe(error))
        }
        return .server(location: url.location, reason: "\(error)")
    }

    /// A connection failure in a few words ("connection refused"), not NIO's whole record.
    static func describe(_ error: (any Error)?) -> String {
        guard let error else { return "connection failed" }
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first { return describe(first.error) }
            if let dns = connection.dnsAError ?? connection.dnsAAAAError { return "cannot resolve the host name: \(describe(dns))" }
            return "connection failed"
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let channel = error as? ChannelError, case .connectTimeout = channel {
            return "no answer within \(PostgresURL.connectTimeoutSeconds) s"
        }
        if let psql = error as? PSQLError, let underlying = psql.underlying { return describe(underlying) }
        return "\(error)"
    }

    /// An error while serving, as every store reports it: the store's location and the reason.
    func map(_ error: any Error) -> EngineError {
        if let engine = error as? EngineError { return engine }
        if let psql = error as? PSQLError {
            if psql.code == .server {
                let message = psql.serverInfo?[.message] ?? "\(psql)"
                return .database(path: location, reason: "\(message) (SQLSTATE \(psql.serverInfo?[.sqlState] ?? "?"))")
            }
            return .database(path: location, reason: "\(psql.code): \(Self.describe(psql.underlying))")
        }
        return .database(path: location, reason: "\(error)")
    }

    // MARK: Transactions

    /// Runs `body` in a transaction on one pooled connection; commits when it returns, rolls back
    /// when it throws, and rethrows its `EngineError` as it came. A connection lost before COMMIT
    /// was sent (the server restarted, say) rolled the transaction back, so it runs again on a
    /// new connection (see `bounded`); one lost while COMMIT was in flight is reported, since
    /// whether it committed is unknown.
    func transaction<T: Sendable>(writing: Bool, _ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws(EngineError) -> T {
        try await bounded {
            try await self.client.withConnection { connection in
                try await connection.query("BEGIN", logger: self.logger)
                let value: T
                do {
                    if writing {
                        try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLockKey))", logger: self.logger)
                    }
                    value = try await body(connection)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: self.logger)
                    throw error
                }
                do {
                    try await connection.query("COMMIT", logger: self.logger)
                } catch {
                    throw CommitOutcomeUnknown(underlying: error)
                }
                return value
            }
        }
    }

    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(EngineError) -> T {
        try await transaction(writing: true, body)
    }

    /// Runs `body`, which sends one statement, on a pooled connection: a statement is a
    /// transaction of its own, so BEGIN and COMMIT would only add two round trips. Every such
    /// statement of the store may run twice (reads; an outbox flag set; a raise, which the
    /// second time finds its row), so a lost connection is retried.
    func read<T: Sendable>(within timeout: Duration = operationTimeout,
                           _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(EngineError) -> T {
        try await bounded(within: timeout) {
            try await self.client.withConnection { connection in try await body(connection) }
        }
    }

    /// How long one operation may wait for the server, reconnections included, before it fails
    /// with `EngineError.database` ("no answer within …"): the pool waits for a connection
    /// without limit while the server is down (postgres-nio issue 489), and a front door must
    /// report, not hang. Three connect timeouts: a restarting server is back well within it.
    static let operationTimeout: Duration = .seconds(3 * PostgresURL.connectTimeoutSeconds)

    /// Runs `work` within `timeout` (`operationTimeout` unless a caller needs an answer sooner),
    /// running it again after a lost connection with backoff (50 ms doubling to 1 s) until the
    /// server answers or the time is up.
    ///
    /// **The caller is answered at the deadline, whatever `work` does.** The work runs in a task
    /// of its own that is cancelled, and the pool replaced, at the deadline, but not waited for: a
    /// task group would wait for it, and a query on a pool being shut down was seen never to end
    /// (a replica paused 20 s inside a raise then hung for good: benchmarks/cluster_pause_repro.py).
    /// A transaction left open that way is ended by the server (`idle_in_transaction_session_timeout`,
    /// `PostgresURL.clientConfiguration`), so it cannot hold the writers' lock.
    func bounded<T: Sendable>(within timeout: Duration = operationTimeout,
                              _ work: @escaping @Sendable () async throws -> T) async throws(EngineError) -> T {
        let race = BoundedRace<T>()
        do {
            let value: T = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                    race.arm(continuation)
                    let timer = Task {
                        try? await Task.sleep(for: timeout)
                        if race.finish(.failure(BoundedRace<T>.TimedOut())) { race.cancelWorker() }
                    }
                    race.start(timer: timer, worker: Task {
                        var pause = Duration.milliseconds(50)
                        while true {
                            do {
                                let value = try await work()
                                if race.finish(.success(value)) { timer.cancel() }
                                return
                            } catch let error where Self.isConnectionLoss(error) && !Task.isCancelled && !self.isClosed.withLock({ $0 }) {
                                do { try await Task.sleep(for: pause) } catch {
                                    if race.finish(.failure(error)) { timer.cancel() }
                                    return
                                }
                                pause = min(pause * 2, .seconds(1))
                            } catch {
                                if race.finish(.failure(error)) { timer.cancel() }
                                return
                            }
                        }
                    })
                }
            } onCancel: {
                race.cancelWorker()
                _ = race.finish(.failure(CancellationError()))
            }
            return value
        } catch is BoundedRace<T>.TimedOut {
            replacePool()
            throw .database(path: location, reason: "PostgreSQL at \(url.endpoint) gave no answer within "
                            + "\(timeout.components.seconds) s (down, restarting or unreachable)")
        } catch let commit as CommitOutcomeUnknown {
            throw .database(path: location, reason: "the connection was lost while committing, so whether the change "
                            + "was stored is unknown (read it back): \(Self.describe(commit.underlying))")
        } catch {
            throw map(error)
        }
    }

    /// COMMIT failed: the transaction may or may not have committed, so it is not run again.
    struct CommitOutcomeUnknown: Error { var underlying: any Error }

    /// Whether `error` says the connection went away (not that the server refused the
    /// statement): the server closed it or shut down (SQLSTATE class 08 or 57P), or none could
    /// be made.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if error is NIOConnectionError || error is IOError || error is ChannelError { return true }
        guard let psql = error as? PSQLError else { return false }
        switch psql.code {
        // A closed pool: another operation replaced it (`replacePool`) while this one was on it;
        // the retry takes the new one.
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed: return true
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        default: return false
        }
    }

    func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRandomAccessRow] {
        try await connection.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    // MARK: RecommendationStore

    public func appliedMigrations() async throws(EngineError) -> [String] {
        let applied = try await read { connection in
            try await PostgresSchema.appliedIdentifiers(connection, logger: self.logger)
        }
        return PostgresSchema.migrations.map(\.identifier).filter(applied.contains)
    }

    public func raise(_ recommendation: Recommendation) async throws(EngineError) -> (recommendation: Recommendation, isNew: Bool) {
        guard recommendation.confidence.isFinite, (0...1).contains(recommendation.confidence) else {
            throw .invalid("confidence must lie in 0...1, got \(recommendation.confidence)")
        }
        guard recommendation.expires >= recommendation.raisedAt else {
            throw .invalid("a recommendation cannot expire before it is raised")
        }
        // Guards apply at a raise when installed (the engine installs them) or when the
        // service's action has a breaker (its half-open trial): then the raise is one transaction
        // that applies them as SQLite's does. The check and the raise are two statements; a
        // breaker created between them is closed (a first outcome cannot open it) and settings
        // installed between them order the raise first, so the answer is one a serial order gives.
        // Guards once installed stay installed (nothing deletes them): a store that saw them
        // (the engine installs them through it) skips the check.
        if guardsSeen.withLock({ $0 }) { return try await raiseGuarded(recommendation) }
        let guarded = try await read { connection in
            try await self.rows("""
                SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'guards')
                    OR EXISTS (SELECT 1 FROM breaker WHERE service = \(recommendation.service) AND action = \(recommendation.action.name))
                    AS guarded
                """, on: connection).first?["guarded"].decode(Bool.self) ?? false
        }
        if guarded { return try await raiseGuarded(recommendation) }
        // One round trip (`PostgresSchema.raiseFunction`), where a transaction of separate
        // statements took eight. The id and the idempotency key are made here, as SQLite's queue
        // makes them, for the number this store expects; the function refuses a stale number and
        // the raise renumbers, so ids stay gap-free with several writers.
        var number = nextNumberGuess.withLock { $0 }
        for _ in 0..<Self.raiseAttempts {
            let record = recommendation.raised(id: Recommendation.id(number: number), instance: instance)
            let row = try Self.json(of: record)
            let event = record.journalJSON("recommendation", now: record.raisedAt)?.serialized() ?? "{}"
            let expected = Int64(number)
            let answer = try await read { connection in
                try await self.rows("""
                    SELECT result_kind, found_id, raised_count FROM \(unescaped: PostgresSchema.raiseFunction)(\(expected),
                        \(row)::json, 'recommendation', \(record.raisedAt), \(event), \(ApprovalQueue.journalCapacity))
                    """, on: connection).first.map {
                    (kind: try $0["result_kind"].decode(String.self), found: try $0["found_id"].decode(String?.self),
                     count: try $0["raised_count"].decode(Int64?.self))
                }
            }
            switch answer?.kind {
            case "raised"?:
                nextNumberGuess.withLock { $0 = max($0, number + 1) }
                return (record, true)
            case "existing"?:
                let found = try await read { connection in
                    try await self.fetch(where: "id = $1", binds: { $0.append(answer?.found ?? "") }, on: connection).first
                }
                guard let found else { throw .database(path: location, reason: "the recommendation raised for this row vanished") }
                return (found, false)
            case "renumber"?:
                number = Int(answer?.count ?? 0) + 1
                nextNumberGuess.withLock { $0 = number }
            default:
                throw .database(path: location, reason: "\(PostgresSchema.raiseFunction) answered \(answer?.kind ?? "nothing")")
            }
        }
        throw .database(path: location, reason: "other writers raised before this one \(Self.raiseAttempts) times in a row")
    }

    /// Raises `recommendation` as `raise(_:)` does, guards applied, only while `lease` is its
    /// service's current, unexpired lease (a replica's raise, issue 18); `EngineError.fenced`
    /// otherwise, with nothing written.
    public func raise(_ recommendation: Recommendation, under lease: Lease) async throws(EngineError)
        -> (recommendation: Recommendation, isNew: Bool) {
        guard recommendation.confidence.isFinite, (0...1).contains(recommendation.confidence) else {
            throw .invalid("confidence must lie in 0...1, got \(recommendation.confidence)")
        }
        guard recommendation.expires >= recommendation.raisedAt else {
            throw .invalid("a recommendation cannot expire before it is raised")
        }
        return try await raiseGuarded(recommendation, fence: lease)
    }

    /// A raise with the guards applied (`ApprovalQueue.applyGuards`), in one transaction under
    /// the writers' lock: so the count read is exact and no renumbering is needed.
    ///
    /// Five round trips (BEGIN, the lock, one read, one write, COMMIT) where statement by
    /// statement took thirteen: the engine raises this way (911 raises in the 345 600-row
    /// benchmark). One statement reads all the raise needs: the row already raised for this data
    /// row, the count, the guard settings, whether a breaker exists, and the last hour's
    /// approvals for the caps. No row lock is needed: every write of breakers, approvals and the
    /// count takes the writers' lock, held here. Insert, count and journal line are one statement.
    ///
    /// With `fence` (a replica raising for a service it owns, issue 18), the same read checks the
    /// lease (`triage_fence_v1`, which also locks the lease row until the transaction ends): a raise
    /// under an epoch that is no longer the service's current, unexpired one writes nothing and
    /// throws `EngineError.fenced`. Still five round trips.
    func raiseGuarded(_ recommendation: Recommendation, fence: Lease? = nil) async throws(EngineError)
        -> (recommendation: Recommendation, isNew: Bool) {
        let instance = self.instance
        let since = recommendation.raisedAt - RemediationGuards.Settings.capWindowSeconds
        let service = recommendation.service, created = recommendation.created, action = recommendation.action.name
        if let fence, fence.service != service {
            throw .invalid("a recommendation for \(service) raised under the lease of \(fence.service)")
        }
        let fenceService = fence?.service ?? "", fenceEpoch = fence?.epoch ?? 0, fenced = fence != nil
        let answer: (Recommendation, Bool) = try await write { connection in
            let reading: [PostgresRandomAccessRow]
            do {
                reading = try await self.rows("""
                SELECT CASE WHEN \(fenced) THEN (SELECT \(unescaped: ReplicaSchema.fenceFunction)(\(fenceService), \(fenceEpoch)))::TEXT END AS fence,
                       (SELECT id FROM recommendation WHERE service = \(service) AND created = \(created)) AS existing,
                       (SELECT value FROM meta WHERE key = 'recommendations') AS raised,
                       (SELECT value FROM meta WHERE key = 'guards') AS guards,
                       EXISTS (SELECT 1 FROM breaker WHERE service = \(service) AND action = \(action)) AS has_breaker,
                       ARRAY(SELECT service FROM recommendation WHERE status = 'approved' AND decided_at > \(since)
                             AND action <> 'alert' ORDER BY decided_at, id) AS cap_services,
                       ARRAY(SELECT decided_at FROM recommendation WHERE status = 'approved' AND decided_at > \(since)
                             AND action <> 'alert' ORDER BY decided_at, id) AS cap_times
                """, on: connection)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == ReplicaSchema.fencedState {
                throw EngineError.fenced(service: service, reason: "its lease epoch \(fenceEpoch) is no longer current ("
                                         + (error.serverInfo?[.detail] ?? "taken over") + "); nothing was raised")
            }
            guard let read = reading.first else {
                throw EngineError.database(path: self.location, reason: "the raise's read returned no row")
            }
            if let id = try read["existing"].decode(String?.self) {
                guard let existing = try await self.fetch(where: "id = $1", binds: { $0.append(id) }, on: connection).first else {
                    throw EngineError.database(path: self.location, reason: "the recommendation raised for this row vanished")
                }
                return (existing, false)
            }
            let count = Int(try read["raised"].decode(String?.self) ?? "0") ?? 0
            var record = recommendation.raised(id: Recommendation.id(number: count + 1), instance: instance)
            let now = record.raisedAt
            if try read["has_breaker"].decode(Bool.self), try await self.takeTrial(for: record, now: now, on: connection) {
                record.markAsTrial()
            }
            if record.action != .alert, let text = try read["guards"].decode(String?.self) {
                let settings = try ApprovalQueue.storedGuardSettings(text)
                let approvals = zip(try read["cap_services"].decode([String].self), try read["cap_times"].decode([Int64].self))
                    .map { (service: $0.0, at: $0.1) }
                if let cap = ApprovalQueue.capReached(settings: settings, service: record.service, approvals: approvals) {
                    record.markHeld(reason: cap.reason, until: cap.until)
                }
            }
            let row = try Self.json(of: record)
            let event = record.journalJSON("recommendation", now: now)?.serialized() ?? "{}"
            // Data-modifying WITH clauses run to completion whether or not the main statement reads them.
            let eventID = try await self.rows("""
                WITH inserted AS (INSERT INTO recommendation SELECT * FROM json_populate_record(NULL::recommendation, \(row)::json)),
                     counted AS (UPDATE meta SET value = \(String(count + 1)) WHERE key = 'recommendations')
                INSERT INTO event (type, at, body) VALUES ('recommendation', \(now), \(event)) RETURNING id
                """, on: connection).first?["id"].decode(Int64.self) ?? 0
            if eventID % 1_000 == 0 {
                try await connection.query("DELETE FROM event WHERE id <= \(eventID - ApprovalQueue.journalCapacity)", logger: self.logger)
            }
            return (record, true)
        }
        if answer.1, let number = Int(answer.0.id.dropFirst(4)) { nextNumberGuess.withLock { $0 = max($0, number + 1) } }
        return answer
    }

    /// How often a raise renumbers before it gives up: each attempt loses only to a raise that
    /// committed in between, so this many in a row means a store flooded by other writers.
    static let raiseAttempts = 100

    public func recommendation(_ id: String, now: Int64) async throws(EngineError) -> Recommendation {
        try await expireOverdue(now: now)
        let found = try await read { connection in
            try await self.fetch(where: "id = $1", binds: { $0.append(id) }, on: connection).first
        }
        guard let found else { throw .notFound(id: id) }
        return found.asOf(now)
    }

    public func list(status: Recommendation.Status?, now: Int64, after cursor: ApprovalQueue.ListCursor?,
                     limit: Int) async throws(EngineError) -> [Recommendation] {
        guard limit > 0 else { return [] }
        return try await read { connection in
            var conditions = [String]()
            var binds = PostgresBindings()
            func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
                binds.append(value)
                return "$\(binds.count)"
            }
            switch status {
            case nil: break
            case .pending?: conditions.append("status = 'pending' AND expires > \(bind(now))")
            case .expired?: conditions.append("(status = 'expired' OR (status = 'pending' AND expires <= \(bind(now))))")
            case let other?: conditions.append("status = \(bind(other.rawValue))")
            }
            if let cursor {
                let raisedAt = bind(cursor.raisedAt)
                conditions.append("(raised_at > \(raisedAt) OR (raised_at = \(raisedAt) AND id > \(bind(cursor.id))))")
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let sql = "SELECT \(Self.columnList) FROM recommendation\(filter) ORDER BY raised_at, id LIMIT \(bind(Int64(limit)))"
            return try await self.rows(PostgresQuery(unsafeSQL: sql, binds: binds), on: connection).map { row throws(EngineError) in
                try Self.decode(row).asOf(now)
            }
        }
    }

    @discardableResult
    public func expireOverdue(now: Int64) async throws(EngineError) -> Int {
        // Every read and decision calls this first and there is rarely anything to expire: one
        // statement asks, where the writing transaction costs four round trips.
        let anyOverdue = try await read { connection in
            try await self.rows("""
                SELECT EXISTS (SELECT 1 FROM recommendation WHERE status = 'pending' AND expires <= \(now)) AS overdue
                """, on: connection).first?["overdue"].decode(Bool.self) ?? false
        }
        guard anyOverdue else { return 0 }
        return try await write { connection in
            let expired = try await self.rows(
                PostgresQuery(unsafeSQL: "UPDATE recommendation SET status = 'expired' WHERE status = 'pending' AND expires <= $1 RETURNING "
                              + Self.columnList, binds: { var b = PostgresBindings(); b.append(now); return b }()),
                on: connection).map { row throws(EngineError) in try Self.decode(row) }
            guard !expired.isEmpty else { return 0 }
            // In the order they were raised, as SQLite journals them (rowid order).
            for record in expired.sorted(by: Self.raisedFirst) {
                try await self.journal(record, "expired", now: now, on: connection)
            }
            try await self.bumpGuardRevision(on: connection)
            return expired.count
        }
    }

    public func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                        now: Int64) async throws(EngineError) -> ApprovalQueue.Approval {
        try await approve(id, by: decider, comment: comment, approvers: approvers, outbox: outbox, handOff: false, now: now)
    }

    /// Approves as `ApprovalQueue.approve` does. The outbox line goes into the outbox table in
    /// the approval's transaction (`OutboxSchema`), and with `handOff` the hand-off is queued
    /// there too; after the commit the line is dispatched (`dispatch(after:outbox:)`).
    public func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                        handOff: Bool, now: Int64) async throws(EngineError) -> ApprovalQueue.Approval {
        try approvers.check(decider)
        try outbox.checkSeparate(fromDatabase: location, allowlist: approvers.path)
        try await expireOverdue(now: now)
        let decided: ApprovalQueue.Approval = try await write { connection in
            guard var record = try await self.fetch(where: "id = $1", binds: { $0.append(id) }, forUpdate: true, on: connection).first else {
                throw EngineError.notFound(id: id)
            }
            switch record.status {
            case .approved: return .alreadyApproved(record)
            case .rejected, .expired: throw EngineError.notPending(id: id, status: record.status)
            case .pending:
                if let cap = try await self.capReached(service: record.service, action: record.action, now: now, on: connection) {
                    throw EngineError.held(id: record.id, reason: cap.reason, until: cap.until)
                }
                record.decide(.approved, by: decider, note: comment, at: now)
                try await self.update(record, on: connection)
                try await self.journal(record, "approved", now: now, on: connection)
                try await connection.query("""
                    INSERT INTO outbox (recommendation_id, idempotency_key, line, approved_at)
                    VALUES (\(record.id), \(record.idempotencyKey), \(Outbox.line(for: record)), \(now)) ON CONFLICT DO NOTHING
                    """, logger: self.logger)
                if handOff { try await self.queueHandoff(record, now: now, on: connection) }
                try await self.bumpGuardRevision(on: connection)
                return .approved(record)
            }
        }
        // After the commit: the row is safe in the table whatever happens to this process.
        try await dispatch(outbox: outbox)
        switch decided {
        case .approved(let r): return .approved(try await recommendation(r.id, now: now))
        case .alreadyApproved(let r): return .alreadyApproved(try await recommendation(r.id, now: now))
        }
    }

    public func reject(_ id: String, by decider: Decider, reason: String?, approvers: Approvers,
                       now: Int64) async throws(EngineError) -> Recommendation {
        try approvers.check(decider)
        try await expireOverdue(now: now)
        return try await write { connection in
            guard var record = try await self.fetch(where: "id = $1", binds: { $0.append(id) }, forUpdate: true, on: connection).first else {
                throw EngineError.notFound(id: id)
            }
            switch record.status {
            case .rejected: return record
            case .approved, .expired: throw EngineError.notPending(id: id, status: record.status)
            case .pending:
                record.decide(.rejected, by: decider, note: reason, at: now)
                try await self.update(record, on: connection)
                try await self.journal(record, "rejected", now: now, on: connection)
                try await self.bumpGuardRevision(on: connection)
                return record
            }
        }
    }

    /// Hands the outbox table's undispatched rows to the file after an approval: through this
    /// process's dispatcher when it holds the lock (waiting for its pass), else as a dispatcher of
    /// one pass when the lock is free (`flushOutbox`); when another process holds it, that
    /// dispatcher writes them (woken by the outbox's notification) and this returns at once.
    func dispatch(outbox: Outbox) async throws(EngineError) {
        if let resident = residentDispatcher.withLock({ $0 }), resident.settings.outbox.path == outbox.path,
           await resident.afterApproval() {
            return
        }
        try await flushOutbox(outbox)
    }

    /// Writes the outbox line of every undispatched row of the outbox table (and of approvals
    /// that have none, from before it), exactly once (`OutboxFeed`), taking the dispatcher lock
    /// for the pass; returns how many lines it wrote, 0 when another process holds the lock (it
    /// dispatches them).
    @discardableResult
    public func flushOutbox(_ outbox: Outbox) async throws(EngineError) -> Int {
        try outbox.checkSeparate(fromDatabase: location, allowlist: nil)
        return try await OutboxFeed.once(store: self, outbox: outbox) ?? 0
    }

    /// Registers the dispatcher running in this process (`OutboxDispatcher.run`).
    func attach(_ dispatcher: OutboxDispatcher) { residentDispatcher.withLock { $0 = dispatcher } }

    func detach(_ dispatcher: OutboxDispatcher) {
        residentDispatcher.withLock { if $0 === dispatcher { $0 = nil } }
    }

    public func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                              now: Int64) async throws(EngineError) -> Recommendation {
        try await recordOutcomeLearning(id, result: result, recoverySeconds: recoverySeconds, now: now).recommendation
    }

    /// Records the outcome as `ApprovalQueue.recordOutcome` does, in one transaction: counted in
    /// its breaker, and taught to the stored policy when there is one (exactly once); returns
    /// whether the policy learned.
    public func recordOutcomeLearning(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                                      now: Int64) async throws(EngineError) -> (recommendation: Recommendation, learned: Bool) {
        if let seconds = recoverySeconds { try ApprovalQueue.checkRecoverySeconds(seconds, measured: true) }
        return try await write { connection in
            guard var record = try await self.fetch(where: "id = $1", binds: { $0.append(id) }, forUpdate: true, on: connection).first else {
                throw EngineError.notFound(id: id)
            }
            guard record.status == .approved else { throw EngineError.outcomeNotAllowed(id: id, status: record.status) }
            if let previous = record.outcome { throw EngineError.outcomeAlreadyRecorded(id: id, result: previous) }
            let (delay, overflow) = now.subtractingReportingOverflow(record.decidedAt ?? now)
            let seconds = recoverySeconds ?? (overflow ? .infinity : Double(max(0, delay)))
            try ApprovalQueue.checkRecoverySeconds(seconds, measured: recoverySeconds != nil)
            record.outcome = result
            record.recoverySeconds = recoverySeconds
            record.outcomeAt = now
            try await self.update(record, on: connection)
            try await self.journal(record, "outcome", now: now, on: connection)
            try await self.countOutcome(of: record, now: now, on: connection)
            guard ApprovalQueue.teachesPolicy(record),
                  let data = try await self.rows("SELECT data FROM policy WHERE id = 1 FOR UPDATE", on: connection)
                    .first?["data"].decode(Data.self) else {
                return (record, false)
            }
            let taught = try ApprovalQueue.policyData(data, taughtBy: record, seconds: seconds)
            try await connection.query("""
                UPDATE policy SET data = \(taught), updated_at = \(now), outcomes_learned = outcomes_learned + 1 WHERE id = 1
                """, logger: self.logger)
            return (record, true)
        }
    }

    public func appendEvents(_ events: [(type: String, json: JSONValue)], now: Int64) async throws(EngineError) {
        guard !events.isEmpty else { return }
        let lines = events.map { (type: $0.type, body: $0.json.serialized()) }
        try await write { connection in
            for line in lines { try await self.journal(type: line.type, body: line.body, now: now, on: connection) }
        }
    }

    public func events(after id: Int64, limit: Int) async throws(EngineError) -> [JournalEvent] {
        guard limit > 0 else { return [] }
        return try await read { connection in
            try await self.rows("SELECT id, type, body FROM event WHERE id > \(id) ORDER BY id LIMIT \(Int64(limit))", on: connection)
                .map { JournalEvent.stored(id: try $0["id"].decode(Int64.self), type: try $0["type"].decode(String.self),
                                    json: try $0["body"].decode(String.self)) }
        }
    }

    public func lastEventID() async throws(EngineError) -> Int64 {
        try await read { connection in
            try await self.rows("SELECT COALESCE(MAX(id), 0) AS last FROM event", on: connection).first?["last"].decode(Int64.self) ?? 0
        }
    }

    public func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64) async throws(EngineError) {
        // One statement, a transaction of its own: it journals nothing, so no writers' lock.
        try await read { connection in try await self.upsert(position, source: source, now: now, on: connection) }
    }

    public func readPosition(source: String) async throws(EngineError) -> ApprovalQueue.ReadPosition? {
        try await read { connection in
            try await self.rows("""
                SELECT device, inode, "offset", line, engine_state FROM read_position WHERE source = \(source)
                """, on: connection).first.map {
                ApprovalQueue.ReadPosition(device: UInt64(bitPattern: try $0["device"].decode(Int64.self)),
                                           inode: UInt64(bitPattern: try $0["inode"].decode(Int64.self)),
                                           offset: try $0["offset"].decode(Int64.self), line: try $0["line"].decode(Int64.self),
                                           engineState: try $0["engine_state"].decode(Data?.self))
            }
        }
    }
}

/// The one answer of `bounded`: the work's result or the deadline, whichever comes first; the
/// other is ignored. The worker and timer tasks are kept to cancel the loser, and the worker when
/// the caller is cancelled (what `withDeadline`, the dispatcher lock's bound, does not need).
final class BoundedRace<T: Sendable>: Sendable {
    struct TimedOut: Error {}
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var finished = false
        var worker: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var cancelled = false
    }
    private let state = Mutex(State())

    func arm(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func start(timer: Task<Void, Never>, worker: Task<Void, Never>) {
        let cancelled = state.withLock { state in
            state.timer = timer
            state.worker = worker
            return state.cancelled
        }
        if cancelled { worker.cancel(); timer.cancel() }
    }

    /// Answers the caller unless it was answered already; true when this call answered.
    func finish(_ result: Result<T, any Error>) -> Bool {
        let continuation: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            defer { state.continuation = nil }
            return state.continuation
        }
        guard let continuation else { return false }
        continuation.resume(with: result)
        return true
    }

    func cancelWorker() {
        let (worker, timer) = state.withLock { state in
            state.cancelled = true
            return (state.worker, state.timer)
        }
        worker?.cancel()
        timer?.cancel()
    }
}
