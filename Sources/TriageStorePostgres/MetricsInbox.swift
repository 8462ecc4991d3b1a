import Foundation
import Logging
import PostgresNIO
import TriageEngine

/// A metrics row for a service as a replica received it (`POST /v1/metrics`): its time and its
/// body (the row as the receiving replica encodes it; the store does not read it).
public struct InboxRow: Sendable, Equatable {
    public var service: String
    public var at: Int64
    public var body: String

    public init(service: String, at: Int64, body: String) {
        self.service = service
        self.at = at
        self.body = body
    }
}

/// A row in the inbox, numbered per service in the order it is to be processed.
public struct InboxEntry: Sendable, Equatable {
    public var service: String
    public var seq: Int64
    public var at: Int64
    public var body: String
}

/// What an append did: rows accepted, and rows refused as late (older than a row the service
/// already accepted, so they cannot be processed in time order).
public struct InboxReceipt: Sendable, Equatable {
    public var accepted: Int
    public var late: Int
}

/// One service's rows of one request, as the inbox stores them: one entry (the rows encoded in
/// `body` by the receiving replica), numbered and consumed as one. `firstAt` … `lastAt` is the
/// span of the rows' times.
public struct InboxBatch: Sendable, Equatable {
    public var service: String
    public var firstAt: Int64
    public var lastAt: Int64
    public var rowCount: Int
    public var body: String

    public init(service: String, firstAt: Int64, lastAt: Int64, rowCount: Int, body: String) {
        self.service = service
        self.firstAt = firstAt
        self.lastAt = lastAt
        self.rowCount = rowCount
        self.body = body
    }
}

/// What an append of batches did: all its rows accepted, or none, because `service`'s batch
/// begins at `first`, before `newest`, the newest row time it already accepted.
public enum InboxBatchReceipt: Sendable, Equatable {
    case accepted(rows: Int)
    case late(service: String, first: Int64, newest: Int64)
}

/// The metrics inbox in PostgreSQL: any replica appends rows for any service; the service's
/// owner reads them in order and consumes them with its fenced checkpoint (issue 18).
///
/// **Why an inbox, not forwarding to the owner.** Forwarding needs every replica to know every
/// other's address and the current owner of each service, and a row in flight when the owner
/// changes is lost or sent twice unless a second protocol acknowledges it. The inbox puts the
/// hand-off in the database that already decides ownership: an accepted row is committed before
/// the HTTP answer, numbered per service in commit order (appends lock the service's head row,
/// so no number becomes visible after a later one), and consumed by the same transaction that
/// saves the owner's checkpoint behind the fence — a takeover resumes at the saved position, so
/// each row is processed exactly once whoever owns the service. The cost is a write and a delete
/// per row in PostgreSQL (BENCHMARKS.md, "Replicas: the metrics inbox").
///
/// **Time order.** Within a batch, rows are numbered by time (ties in the order given); a row
/// older than the newest row its service already accepted is refused as `late` (counted in the
/// receipt), so the sequence order is the time order.
///
/// **Waking owners.** Each append notifies `triage_inbox` with the service; an owner listening
/// (`listen()`) reads at once. The notification is only a wake-up — rows are read from the table —
/// so a notification missed (a reconnect) only delays: owners also look every lease round
/// (`servicesWithPendingRows`).
public struct MetricsInbox: Sendable {
    let store: PostgresRecommendationStore

    public init(store: PostgresRecommendationStore) {
        self.store = store
    }

    /// Appends `rows` (any services) in one transaction, one round trip.
    public func append(_ rows: [InboxRow], acceptedBy replica: String) async throws(ReplicaError) -> InboxReceipt {
        guard !rows.isEmpty else { return InboxReceipt(accepted: 0, late: 0) }
        let (services, ats, bodies) = (rows.map(\.service), rows.map(\.at), rows.map(\.body))
        let answer = try await statement { connection in
            try await self.store.rows("""
                SELECT accepted, late FROM \(unescaped: ReplicaSchema.appendFunction)(\(services)::TEXT[], \(ats)::BIGINT[],
                    \(bodies)::TEXT[], \(replica))
                """, on: connection).first.map { (try $0["accepted"].decode(Int64.self), try $0["late"].decode(Int64.self)) }
        }
        return InboxReceipt(accepted: Int(answer?.0 ?? 0), late: Int(answer?.1 ?? 0))
    }

    /// Appends one batch per service (a request's rows of that service, in time order) in one
    /// transaction, one round trip, all or nothing: `.late` when a batch begins before the newest
    /// row its service accepted, and then nothing is appended (`triage_inbox_append_v2`).
    public func append(batches: [InboxBatch], acceptedBy replica: String) async throws(ReplicaError) -> InboxBatchReceipt {
        guard !batches.isEmpty else { return .accepted(rows: 0) }
        guard Set(batches.map(\.service)).count == batches.count else {
            throw .store(.invalid("an inbox append takes at most one batch per service"))
        }
        for batch in batches where batch.lastAt < batch.firstAt || batch.rowCount < 1 {
            throw .store(.invalid("the inbox batch of \(batch.service) ends before it begins or has no row"))
        }
        let services = batches.map(\.service), firsts = batches.map(\.firstAt), lasts = batches.map(\.lastAt)
        let counts = batches.map { Int64($0.rowCount) }, bodies = batches.map(\.body)
        let answer = try await statement { connection in
            try await self.store.rows("""
                SELECT accepted, late_service, late_first, newest_at FROM \(unescaped: ReplicaSchema.batchAppendFunction)(
                    \(services)::TEXT[], \(firsts)::BIGINT[], \(lasts)::BIGINT[], \(counts)::BIGINT[], \(bodies)::TEXT[], \(replica))
                """, on: connection).first.map {
                (accepted: try $0["accepted"].decode(Int64.self), late: try $0["late_service"].decode(String?.self),
                 first: try $0["late_first"].decode(Int64?.self), newest: try $0["newest_at"].decode(Int64?.self))
            }
        }
        guard let answer else {
            throw .store(.database(path: store.location, reason: "\(ReplicaSchema.batchAppendFunction) answered nothing"))
        }
        if let service = answer.late {
            return .late(service: service, first: answer.first ?? 0, newest: answer.newest ?? 0)
        }
        return .accepted(rows: Int(answer.accepted))
    }

    /// Up to `limit` rows of `service` after sequence number `position`, in order.
    public func pending(service: String, after position: Int64, limit: Int) async throws(ReplicaError) -> [InboxEntry] {
        guard limit > 0 else { return [] }
        return try await statement { connection in
            try await self.store.rows("""
                SELECT seq, at, body FROM metric_inbox WHERE service = \(service) AND seq > \(position) ORDER BY seq LIMIT \(Int64(limit))
                """, on: connection).map {
                InboxEntry(service: service, seq: try $0["seq"].decode(Int64.self), at: try $0["at"].decode(Int64.self),
                           body: try $0["body"].decode(String.self))
            }
        }
    }

    /// Which of `services` have rows after their saved checkpoint.
    public func servicesWithPendingRows(among services: [String]) async throws(ReplicaError) -> [String] {
        guard !services.isEmpty else { return [] }
        return try await statement { connection in
            try await self.store.rows("""
                SELECT h.service FROM inbox_head h LEFT JOIN service_checkpoint c ON c.service = h.service
                WHERE h.service = ANY(\(services)::TEXT[]) AND h.last_seq > COALESCE(c.inbox_position, 0) ORDER BY h.service
                """, on: connection).map { try $0["service"].decode(String.self) }
        }
    }

    /// Listens for appends on a connection of its own (see `InboxListener`).
    public func listen() async throws(ReplicaError) -> InboxListener {
        try await InboxListener.start(url: store.url, logger: store.logger)
    }

    func statement<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(ReplicaError) -> T {
        do {
            return try await store.read(body)
        } catch {
            throw .store(error)
        }
    }
}

/// The services named by inbox notifications, as they come, on a dedicated connection
/// (LISTEN needs one: a pooled connection goes back to the pool). `services` finishes when the
/// connection ends or `close()` is called; the owner then keeps to its per-round look.
public final class InboxListener: Sendable {
    public let services: AsyncStream<String>
    private let task: Task<Void, Never>
    private let connection: PostgresConnection

    private init(services: AsyncStream<String>, task: Task<Void, Never>, connection: PostgresConnection) {
        self.services = services
        self.task = task
        self.connection = connection
    }

    static func start(url: PostgresURL, logger: Logger) async throws(ReplicaError) -> InboxListener {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 2, logger: logger)
        } catch {
            throw .store(.database(path: url.location, reason: "cannot open the inbox listener: \(PostgresRecommendationStore.classify(error, url: url))"))
        }
        let (services, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
        // Yields once LISTEN is in place (or why it failed), so no append after `start`
        // returns goes unheard.
        let (ready, readyContinuation) = AsyncStream.makeStream(of: String?.self)
        let task = Task {
            do {
                try await connection.listen(on: ReplicaSchema.inboxChannel) { notifications in
                    readyContinuation.yield(nil)
                    for try await notification in notifications { continuation.yield(notification.payload) }
                }
            } catch {
                readyContinuation.yield("\(error)")
            }
            readyContinuation.finish()
            continuation.finish()
        }
        var failure: String?? = .none
        for await outcome in ready {
            failure = .some(outcome)
            break
        }
        if case .some(.some(let reason)) = failure {
            task.cancel()
            try? await connection.close()
            throw .store(.database(path: url.location, reason: "cannot listen for inbox rows: \(reason)"))
        }
        return InboxListener(services: services, task: task, connection: connection)
    }

    /// Stops listening and closes the connection.
    public func close() async {
        try? await connection.close()
        task.cancel()
        await task.value
    }
}
