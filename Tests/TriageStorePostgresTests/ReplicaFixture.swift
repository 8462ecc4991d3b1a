import Foundation
import PostgresNIO
import Synchronization
import Testing
@testable import TriageStorePostgres

/// A database of its own for one replica test, and one store (one pool, as one process has) per
/// replica opened on it; `tearDown` closes them and drops the database.
final class ReplicaFixture: Sendable {
    static let enabled = StoreKind.postgresURL != nil

    let database: String
    let url: String
    private let stores = Mutex<[PostgresRecommendationStore]>([])

    private init(database: String, url: String) {
        self.database = database
        self.url = url
    }

    static func make() async throws -> ReplicaFixture {
        let database = try await TestServer.createDatabase()
        return ReplicaFixture(database: database, url: try TestServer.url(database: database))
    }

    /// A store of its own, as a separate replica process would have.
    func store() async throws -> PostgresRecommendationStore {
        let store = try await PostgresRecommendationStore.open(url)
        stores.withLock { $0.append(store) }
        return store
    }

    /// A replica `name` on a store of its own, leases short enough for tests.
    func replica(_ name: String, settings: LeaseSettings = ReplicaFixture.shortLeases) async throws -> LeaseKeeper {
        try await LeaseKeeper.join(store: try await store(), replica: name, settings: settings)
    }

    /// 1.5 s leases: long beside one round (a few ms), short enough for the tests to wait out.
    static let shortLeases = LeaseSettings(renewInterval: .milliseconds(300), ttl: .milliseconds(1_500))

    func tearDown() async {
        for store in stores.withLock({ $0 }) { await store.close() }
        try? await TestServer.dropDatabase(database)
    }
}

/// Polls `probe` every `interval` until it gives a value, failing the test after `limit` (a
/// bound, never a sleep that races: every wait in these tests is on database time).
func eventually<T>(within limit: Duration = .seconds(20), every interval: Duration = .milliseconds(100),
                   _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                   _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + limit
    while true {
        if let value = try await probe() { return value }
        if ContinuousClock.now >= deadline {
            Issue.record("timed out after \(limit) waiting for: \(what)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: interval)
    }
}

/// Runs a round of each keeper in turn, `rotations` times.
func rounds(_ keepers: [LeaseKeeper], rotations: Int = 3) async throws {
    for _ in 0..<rotations {
        for keeper in keepers { try await keeper.round() }
    }
}

func services(_ count: Int) -> [String] { (1...count).map { String(format: "svc-%02d", $0) } }

/// A value shared by a test's tasks (a `Mutex` cannot be captured by an escaping closure).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
