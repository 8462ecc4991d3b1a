import Foundation
import Logging
import PostgresNIO
import Synchronization
import TriageEngine

/// One dispatcher at a time across replicas (issue 18: one process feeds `outbox.jsonl`, the
/// `--exec` hook and the stream from the outbox table): a session-level advisory lock held on a
/// connection of its own.
///
/// PostgreSQL releases a session lock when its connection ends, whatever ends it — the holder
/// exits, is killed, or its connection is cut (the server notices at once for a closed socket,
/// after `tcp_keepalives_*` for a silent network) — so another replica's `tryAcquire` then
/// succeeds. The holder learns it lost the lock when a statement on the lock's connection fails:
/// do the dispatcher's database writes (marking outbox rows dispatched) through
/// `withLockConnection`, and they can only succeed while the lock is held.
public final class DispatcherLock: Sendable {
    /// "TRIADS" (Triage dispatcher) in ASCII: apart from the migration and writer keys.
    public static let defaultKey: Int64 = 0x5452_4941_4453
    public let key: Int64
    let url: PostgresURL
    let logger: Logger
    private let connection = Mutex<PostgresConnection?>(nil)

    public init(store: PostgresRecommendationStore, key: Int64 = DispatcherLock.defaultKey) {
        self.url = store.url
        self.logger = store.logger
        self.key = key
    }

    deinit {
        if let connection = connection.withLock({ $0 }) { connection.close().whenComplete { _ in } }
    }

    /// Takes the lock if no other session holds it; true when this one holds it (again).
    public func tryAcquire() async throws(ReplicaError) -> Bool {
        if await isHeld() { return true }
        let fresh: PostgresConnection
        do {
            fresh = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 3, logger: logger)
        } catch {
            throw .store(.database(path: url.location, reason: "the dispatcher lock cannot connect: \(PostgresRecommendationStore.classify(error, url: url))"))
        }
        do {
            var taken = false
            for try await value in try await fresh.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).decode(Bool.self) {
                taken = value
            }
            guard taken else {
                try? await fresh.close()
                return false
            }
        } catch {
            try? await fresh.close()
            throw .store(.database(path: url.location, reason: "the dispatcher lock: \(error)"))
        }
        let previous = connection.withLock { current in
            defer { current = fresh }
            return current
        }
        try? await previous?.close()
        return true
    }

    /// Waits until this replica holds the lock, trying every `interval`; cancellable (then
    /// throws `CancellationError`).
    public func acquire(tryingEvery interval: Duration = .seconds(1)) async throws {
        while true {
            try Task.checkCancellation()
            do {
                if try await tryAcquire() { return }
            } catch {
                logger.warning("dispatcher lock: \(error)")
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Whether this replica holds the lock now: its connection answers (within the connect
    /// timeout) and the server lists the lock as granted to that session.
    public func isHeld() async -> Bool {
        guard let current = connection.withLock({ $0 }), !current.isClosed else { return false }
        let (key, logger) = (key, logger)
        // Bounded: a query on a connection the server terminated was seen to wait forever
        // (postgres-nio 1.33.2) instead of failing, even cancelled (see `withDeadline`).
        let answer = try? await withDeadline(.seconds(PostgresURL.connectTimeoutSeconds)) { () async throws -> Bool in
            var held = false
            for try await value in try await current.query("""
                SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                    AND ((classid::BIGINT << 32) | objid::BIGINT) = \(key)) AS held
                """, logger: logger).decode(Bool.self) {
                held = value
            }
            return held
        }
        return answer.flatMap { $0 } ?? false
    }

    /// Runs `body` on the lock's connection: it runs only while the lock is held (a lost
    /// connection took the lock with it, and its statements fail).
    public func withLockConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        guard let current = connection.withLock({ $0 }), !current.isClosed else {
            throw ReplicaError.store(.database(path: url.location, reason: "this replica does not hold the dispatcher lock"))
        }
        return try await body(current)
    }

    /// Releases the lock (closing its connection).
    public func release() async {
        let current = connection.withLock { current in
            defer { current = nil }
            return current
        }
        guard let current else { return }
        // Bounded, as `isHeld`: on a connection the server terminated the statement may never
        // answer, and closing the connection releases the lock anyway.
        let (key, logger) = (key, logger)
        _ = try? await withDeadline(.seconds(PostgresURL.connectTimeoutSeconds)) {
            try await current.query("SELECT pg_advisory_unlock(\(key))", logger: logger).collect().count
        }
        try? await current.close()
    }

    /// The backend process id of the lock's session (tests end it to simulate a cut connection).
    func backendPID() async -> Int32? {
        guard let current = connection.withLock({ $0 }) else { return nil }
        do {
            for try await pid in try await current.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) { return pid }
        } catch {}
        return nil
    }
}
