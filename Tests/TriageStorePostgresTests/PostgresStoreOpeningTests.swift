import Foundation
import Testing
@testable import TriageEngine
@testable import TriageStorePostgres

/// What only the PostgreSQL store can get wrong: URLs, an unreachable server, refused
/// credentials, a newer or foreign schema, several processes migrating at once, and a schema
/// that must stay the SQLite queue's column for column.
@Suite struct PostgresStoreOpeningTests {
    static let serverGiven = StoreKind.postgresURL != nil

    @Test func urlsParseInLibpqForm() throws {
        let tcp = try PostgresURL("postgres://triage:s3cr%40t@db.example:6543/queue?sslmode=require")
        #expect(tcp.user == "triage" && tcp.password == "s3cr@t" && tcp.host == "db.example" && tcp.port == 6543)
        #expect(tcp.database == "queue" && tcp.sslMode == .require && tcp.socketDirectory == nil)
        #expect(tcp.endpoint == "db.example:6543" && tcp.location == "postgres://triage@db.example:6543/queue")
        let plain = try PostgresURL("postgresql://me@localhost/q")
        #expect(plain.port == 5432 && plain.sslMode == .prefer && plain.password == nil)
        let socket = try PostgresURL("postgres://me@/q?host=/run/pg")
        #expect(socket.socketDirectory == "/run/pg" && socket.endpoint == "socket /run/pg/.s.PGSQL.5432")
    }

    /// libpq's convention: without a password in the URL, `PGPASSWORD` gives it (so a
    /// deployment keeps it out of process arguments); one in the URL wins; neither is shown.
    @Test func aURLWithoutAPasswordTakesPGPASSWORD() throws {
        let fromEnvironment = try PostgresURL("postgres://triage@db.example/queue", environment: ["PGPASSWORD": "from-env"])
        #expect(fromEnvironment.password == "from-env")
        #expect(!fromEnvironment.location.contains("from-env") && !fromEnvironment.endpoint.contains("from-env"))
        let given = try PostgresURL("postgres://triage:in-url@db.example/queue", environment: ["PGPASSWORD": "from-env"])
        #expect(given.password == "in-url")
        #expect(try PostgresURL("postgres://triage@db.example/queue", environment: ["PGPASSWORD": ""]).password == nil)
        #expect(try PostgresURL("postgres://triage@db.example/queue", environment: [:]).password == nil)
        // A URL that does not parse names no password either way.
        #expect {
            _ = try PostgresURL("postgres://triage@db.example/queue?sslmode=sometimes", environment: ["PGPASSWORD": "from-env"])
        } throws: { error in !"\(error)".contains("from-env") }
    }

    @Test(arguments: [
        ("mysql://u@h/db", "scheme"), ("postgres://h/db", "no user"), ("postgres://u@h", "no database"),
        ("postgres://u@h/db?sslmode=sometimes", "sslmode"), ("postgres://u@h/db?host=relative", "socket folder"),
        ("postgres://u@h/db?colour=blue", "unknown parameter"), ("postgres://u@/db", "no host"),
    ])
    func badURLsAreRefusedSayingWhy(url: String, problem: String) {
        #expect {
            _ = try PostgresURL(url)
        } throws: { error in
            guard case .invalidURL(_, let reason) = error as? PostgresStoreError else { return false }
            return reason.contains(problem)
        }
    }

    @Test func aPasswordIsNeverShownInAnError() {
        #expect {
            _ = try PostgresURL("postgres://u:hunter2@h/db?sslmode=sometimes")
        } throws: { error in
            "\(error)".contains("***") && !"\(error)".contains("hunter2")
        }
    }

    /// Nothing listens on port 1 of the loopback: refused at once, and the error says where.
    @Test func anUnreachableServerIsNamedByHostAndPort() async {
        await #expect {
            _ = try await PostgresRecommendationStore.open("postgres://triage:pw@127.0.0.1:1/queue?sslmode=disable")
        } throws: { error in
            guard case .unreachable(let endpoint, _) = error as? PostgresStoreError else { return false }
            return endpoint == "127.0.0.1:1" && "\(error)".hasPrefix("cannot reach PostgreSQL at 127.0.0.1:1: ")
                && !"\(error)".contains("pw")
        }
    }

    @Test func aMissingSocketIsNamed() async {
        let folder = NSTemporaryDirectory() + "no-postgres-" + UUID().uuidString
        await #expect {
            _ = try await PostgresRecommendationStore.open("postgres://triage@/queue?host=\(folder)")
        } throws: { error in
            guard case .unreachable(let endpoint, _) = error as? PostgresStoreError else { return false }
            return endpoint == "socket \(folder)/.s.PGSQL.5432"
        }
    }

    @Test(.enabled(if: serverGiven)) func aWrongPasswordIsRefusedNamingUserAndServer() async throws {
        // scripts/test.sh's pg_hba.conf asks this role (only) for a SCRAM password.
        let role = "triage_password"
        try await TestServer.withAdmin { c in
            try await c.query("""
                DO $$ BEGIN
                  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'triage_password') THEN CREATE ROLE triage_password LOGIN; END IF;
                END $$
                """, logger: TestServer.logger)
            try await c.query("ALTER ROLE triage_password PASSWORD 'right-password'", logger: TestServer.logger)
        }
        let database = try await TestServer.createDatabase()
        try await TestServer.execute("ALTER DATABASE \(database) OWNER TO \(role)", in: "postgres")
        let endpoint = try PostgresURL(try TestServer.url(database: database)).endpoint
        await #expect {
            _ = try await PostgresRecommendationStore.open(try TestServer.url(database: database, user: role, password: "wrong"))
        } throws: { error in
            guard case .authenticationFailed(let shown, let user, _) = error as? PostgresStoreError else { return false }
            return shown == endpoint && user == role && !"\(error)".contains("wrong")
        }
        await #expect {
            _ = try await PostgresRecommendationStore.open(try TestServer.url(database: database, user: role))
        } throws: { error in
            if case .authenticationFailed = error as? PostgresStoreError { return true }
            return false
        }
        let store = try await PostgresRecommendationStore.open(try TestServer.url(database: database, user: role, password: "right-password"))
        #expect(try await store.appliedMigrations() == ApprovalQueue.migrationIdentifiers)
        await store.close()
        // The binary takes the password from PGPASSWORD when the URL has none (how the cluster
        // manifest passes it), and never shows it.
        let bare = try TestServer.url(database: database, user: role)
        let listed = try Triage.run(["approvals", "list", "--db", bare], environment: ["PGPASSWORD": "right-password"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let refused = try Triage.run(["approvals", "list", "--db", bare], environment: ["PGPASSWORD": "wrong-password"])
        #expect(refused.status == 1 && refused.stderr.contains("triage_password") && !refused.stderr.contains("wrong-password"),
                "\(refused.stderr)")
        try await TestServer.dropDatabase(database)
    }

    @Test(.enabled(if: serverGiven)) func aMissingDatabaseIsNamed() async throws {
        await #expect {
            _ = try await PostgresRecommendationStore.open(try TestServer.url(database: "triage_no_such_database"))
        } throws: { error in
            guard case .noSuchDatabase(_, let name) = error as? PostgresStoreError else { return false }
            return name == "triage_no_such_database"
        }
    }

    /// A newer Triage's migration: refused, and nothing is changed or migrated down.
    @Test(.enabled(if: serverGiven)) func aNewerSchemaIsRefused() async throws {
        let database = try await TestServer.createDatabase()
        let store = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
        _ = try await store.raise(sampleRecommendation("svc-01", at: 1))
        await store.close()
        try await TestServer.execute("INSERT INTO grdb_migrations (identifier) VALUES ('v99-future')", in: database)
        await #expect {
            _ = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
        } throws: { error in
            guard case .newerSchema(_, let migration) = error as? PostgresStoreError else { return false }
            return migration == "v99-future" && "\(error)".contains("never migrates down")
        }
        try await TestServer.execute("DELETE FROM grdb_migrations WHERE identifier = 'v99-future'", in: database)
        let reopened = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
        #expect(try await reopened.recommendation("rec-000001", now: 1_000).service == "svc-01")
        await reopened.close()
        try await TestServer.dropDatabase(database)
    }

    @Test(.enabled(if: serverGiven)) func anotherApplicationsDatabaseIsRefusedUntouched() async throws {
        let database = try await TestServer.createDatabase()
        try await TestServer.execute("CREATE TABLE customers (id BIGINT PRIMARY KEY)", in: database)
        await #expect {
            _ = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
        } throws: { error in
            guard case .notTriageDatabase(_, let reason) = error as? PostgresStoreError else { return false }
            return reason.contains("customers")
        }
        let tables = try await TestServer.withAdmin(database: database) { c in
            try await PostgresSchema.tableNames(c, logger: TestServer.logger)
        }
        #expect(tables == ["customers"])
        try await TestServer.dropDatabase(database)
    }

    /// Several processes opening one new database at once: the advisory lock lets one migrate,
    /// the others wait and find the schema done.
    @Test(.enabled(if: serverGiven)) func concurrentOpensMigrateOnce() async throws {
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let instances = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let store = try await PostgresRecommendationStore.open(url)
                    let instance = store.instance
                    #expect(try await store.appliedMigrations() == ApprovalQueue.migrationIdentifiers)
                    await store.close()
                    return instance
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(instances.count == 1)
        try await TestServer.dropDatabase(database)
    }

    /// Two stores (two services) raising into one database at once: each numbers its rows for
    /// the count it last saw, the server refuses a stale number and the raise renumbers, so ids
    /// stay gap-free and unique and the journal holds one event per raise in id order.
    @Test(.enabled(if: serverGiven)) func twoStoresRaisingAtOnceKeepIdsGapFree() async throws {
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let first = try await PostgresRecommendationStore.open(url)
        let second = try await PostgresRecommendationStore.open(url)
        let perStore = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, store) in [first, second].enumerated() {
                group.addTask {
                    for i in 0..<perStore {
                        let raised = try await store.raise(sampleRecommendation("svc-\(index)", at: Int64(i)))
                        #expect(raised.isNew)
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try await first.list(status: nil, now: 1_000, after: nil, limit: 1_000)
        #expect(Set(all.map(\.id)) == Set((1...2 * perStore).map { Recommendation.id(number: $0) }))
        // The same row again, from the other store: found, not raised twice.
        let again = try await second.raise(sampleRecommendation("svc-0", at: 0))
        #expect(!again.isNew)
        let events = try await first.events(after: 0, limit: 1_000)
        #expect(events.count == 2 * perStore)
        #expect(events.map(\.id) == events.map(\.id).sorted())
        await first.close()
        await second.close()
        try await TestServer.dropDatabase(database)
    }

    /// The PostgreSQL tables are SQLite's, column for column: same names, nullability and keys,
    /// types mapped.
    @Test(.enabled(if: serverGiven)) func theSchemaIsSQLitesColumnForColumn() async throws {
        let database = try await TestServer.createDatabase()
        let store = try await PostgresRecommendationStore.open(try TestServer.url(database: database))
        await store.close()
        let columns = try await TestServer.withAdmin(database: database) { c in
            var found = [String: [String: (type: String, notNull: Bool)]]()
            for try await (table, column, type, nullable) in try await c.query("""
                SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
                FROM information_schema.columns WHERE table_schema = current_schema()
                """, logger: TestServer.logger).decode((String, String, String, String).self) {
                found[table, default: [:]][column] = (type, nullable == "NO")
            }
            // Replica coordination's tables and the outbox are PostgreSQL's alone (`ReplicaSchema`, `OutboxSchema`).
            return found.filter { !ReplicaSchema.tables.contains($0.key) && !OutboxSchema.tables.contains($0.key) }
                .mapValues { $0.mapValues { "\($0.type)\($0.notNull ? " NOT NULL" : "")" } }
        }
        let mapped = ["TEXT": "text", "INTEGER": "bigint", "DOUBLE": "double precision", "BOOLEAN": "boolean", "BLOB": "bytea"]
        let expected = try ApprovalQueue.expectedSchema(after: nil).mapValues { shape in
            Dictionary(uniqueKeysWithValues: shape.columns.map { column in
                (column.name, "\(mapped[column.type] ?? column.type)\(column.notNull || column.primaryKey > 0 ? " NOT NULL" : "")")
            })
        }
        #expect(columns == expected)
        try await TestServer.dropDatabase(database)
    }
}
