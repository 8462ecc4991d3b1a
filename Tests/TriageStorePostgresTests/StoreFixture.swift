import Foundation
import Logging
import PostgresNIO
import Testing
import TriageCore
@testable import TriageEngine
import TriageStorePostgres

/// Which store a conformance test runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// The PostgreSQL server the tests use: a superuser URL from `TRIAGE_TEST_POSTGRES_URL`
    /// (scripts/test.sh starts a server on a Unix socket and sets it), nil when unset.
    static let postgresURL: String? = {
        let value = ProcessInfo.processInfo.environment["TRIAGE_TEST_POSTGRES_URL"] ?? ""
        return value.isEmpty ? nil : value
    }()

    /// Set by scripts/test.sh (and so by CI): a missing PostgreSQL fails the suite instead of
    /// skipping it.
    static let postgresRequired = ProcessInfo.processInfo.environment["TRIAGE_REQUIRE_POSTGRES"] == "1"

    /// The stores to run against: SQLite always, PostgreSQL when a server was given.
    static let available: [StoreKind] = postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
}

/// A fresh store for one test: an SQLite file in a new folder, or a new PostgreSQL database on
/// the test server (dropped by `tearDown`). The allowlist names alice and bob; the outbox is a
/// file in the test's folder.
struct StoreFixture {
    let kind: StoreKind
    let store: any RecommendationStore
    let folder: String
    let approvers: Approvers
    var outbox: Outbox { Outbox(path: folder + "/outbox.jsonl") }
    private let cleanUp: @Sendable () async -> Void

    static func make(_ kind: StoreKind) async throws -> StoreFixture {
        let folder = NSTemporaryDirectory() + "triage-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let approvers = Approvers(path: folder + "/approvers.txt", names: ["alice", "bob"])
        switch kind {
        case .sqlite:
            let queue = try ApprovalQueue(path: folder + "/triage.sqlite")
            return StoreFixture(kind: kind, store: SQLiteRecommendationStore(queue), folder: folder, approvers: approvers,
                                cleanUp: { try? FileManager.default.removeItem(atPath: folder) })
        case .postgres:
            let database = try await TestServer.createDatabase()
            let store = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
            return StoreFixture(kind: kind, store: store, folder: folder, approvers: approvers, cleanUp: {
                await store.close()
                try? await TestServer.dropDatabase(database)
                try? FileManager.default.removeItem(atPath: folder)
            })
        }
    }

    func tearDown() async { await cleanUp() }

    /// The same store behind the engine's synchronous protocol: the SQLite queue itself, or the
    /// PostgreSQL store blocking on postgres-nio (call it through `onOwnThread`).
    var approvalStore: any ApprovalStore {
        switch store {
        case let sqlite as SQLiteRecommendationStore: return sqlite.queue
        case let postgres as PostgresRecommendationStore: return PostgresApprovalStore(postgres)
        default: fatalError("unknown store \(type(of: store))")
        }
    }

    func outboxLines() -> [String] {
        guard let data = FileManager.default.contents(atPath: outbox.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// The PostgreSQL server of `TRIAGE_TEST_POSTGRES_URL`, reached as its superuser to create and
/// drop one database per test (tests run in parallel; each has a database of its own).
enum TestServer {
    static let logger = Logger(label: "triage.tests.postgres")

    static var baseURL: PostgresURL {
        get throws { try PostgresURL(StoreKind.postgresURL ?? "") }
    }

    /// The URL of `database` on the test server, as `user` with `password` (the superuser of the
    /// base URL without a password by default).
    static func url(database: String, user: String? = nil, password: String? = nil) throws -> String {
        let base = try baseURL
        let credentials = (user ?? base.user) + (password.map { ":" + $0 } ?? "")
        if let socket = base.socketDirectory { return "postgres://\(credentials)@/\(database)?host=\(socket)" }
        return "postgres://\(credentials)@\(base.endpoint)/\(database)?sslmode=\(base.sslMode.rawValue)"
    }

    /// Runs `body` on a superuser connection to `database` (the base URL's database by default).
    @discardableResult
    static func withAdmin<T: Sendable>(database: String? = nil, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let base = try baseURL
        var configuration: PostgresConnection.Configuration
        if let socket = base.socketDirectory {
            configuration = .init(unixSocketPath: socket + "/.s.PGSQL.\(base.port)", username: base.user,
                                  password: base.password, database: database ?? base.database)
        } else {
            configuration = .init(host: base.host ?? "", port: base.port, username: base.user, password: base.password,
                                  database: database ?? base.database, tls: .disable)
        }
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func createDatabase() async throws -> String {
        let name = "triage_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await withAdmin { c in try await c.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger) }
        return String(name)
    }

    static func dropDatabase(_ name: String) async throws {
        try await withAdmin { c in try await c.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger) }
    }

    /// Runs one statement in `database` as the superuser.
    static func execute(_ sql: String, in database: String) async throws {
        try await withAdmin(database: database) { c in try await c.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
    }
}

let sampleSymptoms = Symptoms(features: [1.5, 0.2], levels: [1, 1, 0, 0, 1, 0, 0])

func sampleRecommendation(_ service: String, at created: Int64, raisedAt: Int64 = 1_000, ttl: Int64 = 1_800,
                          action: RemediationAction = .restart) -> Recommendation {
    Recommendation(service: service, action: action, confidence: 0.8, created: created, raisedAt: raisedAt,
                   expires: raisedAt + ttl, reasons: ["latency_p99_ms 6.2× its baseline"],
                   parameters: action == .scaleUp ? ["replicas": 4] : [:], scores: ["iforest": 0.71],
                   symptoms: sampleSymptoms)
}

/// Runs `body` on a thread of its own: the synchronous PostgreSQL store blocks its caller, which
/// must not be one of Swift concurrency's cooperative threads (a test's async body runs on one).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
