import Foundation
import PostgresNIO
import Testing
@testable import TriageEngine
@testable import TriageStorePostgres

/// An operation answers its caller at its deadline whatever the database does, and a session
/// left inside a transaction is ended by the server (a replica paused 20 s in a raise used to
/// hang for good: benchmarks/cluster_pause_repro.py).
@Suite(.enabled(if: StoreKind.postgresURL != nil), .serialized)
struct PostgresDeadlineTests {
    /// A write waiting for the writers' lock, which another session holds past the deadline:
    /// the caller gets the typed "no answer" error at the deadline, not when the lock is freed,
    /// and the store works again afterwards.
    @Test func aWriteStuckOnALockAnswersAtItsDeadline() async throws {
        let database = try await TestServer.createDatabase()
        let store = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
        let holding = Task {
            try await TestServer.withAdmin(database: database) { connection in
                try await connection.query("BEGIN", logger: TestServer.logger)
                try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLockKey))", logger: TestServer.logger)
                try await Task.sleep(for: .seconds(4))
                try await connection.query("COMMIT", logger: TestServer.logger)
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        await #expect {
            try await store.bounded(within: .seconds(1)) {
                try await store.client.withConnection { connection in
                    try await connection.query("BEGIN", logger: TestServer.logger)
                    try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.writerLockKey))", logger: TestServer.logger)
                    try await connection.query("COMMIT", logger: TestServer.logger)
                }
            }
        } throws: { error in
            "\(error)".contains("gave no answer within 1 s")
        }
        let waited = ContinuousClock.now - started
        #expect(waited < .milliseconds(2_500), "answered after \(waited)")
        try await holding.value
        #expect(try await store.lastEventID() >= 0)
        await store.close()
        try? await TestServer.dropDatabase(database)
    }

    /// Every session of the store's pool is ended by the server when it idles in a transaction.
    @Test func sessionsIdleInATransactionAreEndedByTheServer() async throws {
        let database = try await TestServer.createDatabase()
        let store = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
        let shown = try await store.read { connection in
            try await store.rows("SHOW idle_in_transaction_session_timeout", on: connection).first?["idle_in_transaction_session_timeout"]
                .decode(String.self)
        }
        #expect(shown == "\(PostgresURL.idleInTransactionSeconds)s")
        await store.close()
        try? await TestServer.dropDatabase(database)
    }
}
