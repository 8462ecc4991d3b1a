import Foundation
import PostgresNIO
import Testing
@testable import TriageStorePostgres
#if canImport(Glibc)
import Glibc
#endif

/// `triage serve --replica NAME` end to end through the built binary (issue 18): replicas on one
/// PostgreSQL database share the services, any replica takes rows for any service, and the
/// recommendations equal a single SQLite server's for the same rows, with one replica killed and
/// another paused past its leases meanwhile; the faults the issue lists at the serve level.
@Suite(.enabled(if: StoreKind.postgresURL != nil), .serialized)
struct ReplicaServeTests {
    typealias Serve = ServeOnPostgresTests

    /// Leases short enough for a test to wait out (the defaults are 2 s and 10 s).
    static let shortLeases = ["--lease-ttl", "2", "--lease-renew", "0.4"]

    static func replicaArguments(db: String, folder: String, name: String) -> [String] {
        Serve.serveArguments(db: db, folder: folder) + ["--replica", name] + shortLeases
    }

    /// The metrics CSV cut into bodies of `rows` rows, each with the header.
    static func bodies(_ path: String, rows: Int) throws -> [String] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header = lines[0]
        return stride(from: 1, to: lines.count, by: rows).map { start in
            ([header] + lines[start..<min(start + rows, lines.count)]).joined(separator: "\n") + "\n"
        }
    }

    static func post(_ body: String, to server: ServeProcess) throws -> (status: Int, body: String) {
        try HTTP.request("POST", server.base + "/v1/metrics", body: body,
                         headers: ["Content-Type: text/csv", "Authorization: Bearer \(Serve.token)"])
    }

    /// Services with inbox rows not yet processed, and whether every service has a live owner.
    static func backlog(_ store: PostgresRecommendationStore) async throws -> (pending: Int, owned: Int) {
        try await store.read { connection in
            let rows = try await store.rows("""
                SELECT (SELECT count(*) FROM inbox_head h LEFT JOIN service_checkpoint c USING (service)
                        WHERE h.last_seq > COALESCE(c.inbox_position, 0)) AS pending,
                       (SELECT count(*) FROM service_lease WHERE owner IS NOT NULL AND expires_at > clock_timestamp()) AS owned
                """, on: connection)
            return (Int(try rows[0]["pending"].decode(Int64.self)), Int(try rows[0]["owned"].decode(Int64.self)))
        }
    }

    /// Three replicas take rows round-robin; one is killed with SIGKILL a third of the way in and
    /// another paused with SIGSTOP past its leases; the rows are all still processed once, in
    /// order, and the recommendations (service, action, created) equal a single SQLite server's.
    @Test func threeReplicasAnswerAsOneServerThroughAKillAndAPause() async throws {
        let folder = try Serve.folder()
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let bodies = try Self.bodies(CommandsOnPostgresTests.data.metrics, rows: 300)

        let single = try ServeProcess.start(Serve.serveArguments(db: folder + "/single.sqlite", folder: folder), folder: folder, name: "single")
        for body in bodies { #expect(try Self.post(body, to: single).status == 202) }
        let expected = try Serve.answers(single.base).sorted()
        single.stop()
        #expect(!expected.isEmpty)

        let replicas = try ["r1", "r2", "r3"].map {
            try ServeProcess.start(Self.replicaArguments(db: url, folder: folder, name: $0), folder: folder, name: $0)
        }
        defer { for replica in replicas { kill(replica.process.processIdentifier, SIGCONT); replica.stop() } }
        let store = try await PostgresRecommendationStore.open(url)
        defer { Task { await store.close() } }
        _ = try await eventually("every service owned") { try await Self.backlog(store).owned == 3 ? true : nil }

        let (r1, r2, r3) = (replicas[0], replicas[1], replicas[2])
        var live = [r1, r2, r3]
        var paused: ContinuousClock.Instant?
        for (k, body) in bodies.enumerated() {
            if k == bodies.count / 3 {
                kill(r2.process.processIdentifier, SIGKILL)
                kill(r3.process.processIdentifier, SIGSTOP)
                paused = .now
                live = [r1]
            }
            if k == 2 * bodies.count / 3, let since = paused {
                // Past the 2 s lease: r3's services were taken over while it slept.
                let wake = since + .seconds(3)
                if ContinuousClock.now < wake { try await Task.sleep(until: wake) }
                kill(r3.process.processIdentifier, SIGCONT)
                live = [r1, r3]
            }
            let answer = try Self.post(body, to: live[k % live.count])
            #expect(answer.status == 202, "\(answer.body)")
        }
        _ = try await eventually(within: .seconds(60), "every row processed") {
            let backlog = try await Self.backlog(store)
            return backlog.pending == 0 && backlog.owned == 3 ? true : nil
        }
        let answers = try Serve.answers(r1.base).sorted()
        #expect(answers == expected)
        #expect(Set(answers).count == answers.count)
        // The paused replica came back: it re-joined and owns services again.
        _ = try await eventually("r3 owning a service again") {
            try await store.read { connection in
                try await store.rows("SELECT count(*) AS n FROM service_lease WHERE owner = 'r3' AND expires_at > clock_timestamp()",
                                     on: connection)[0]["n"].decode(Int64.self)
            } > 0 ? true : nil
        }
        let services = try HTTP.request("GET", r3.base + "/v1/services")
        #expect(services.status == 200 && services.body.contains("\"service\":\"svc-0"), "\(services.body)")
        #expect(r3.log.contains("replica 'r3' took"), "\(r3.log)")
        let scrape = try HTTP.request("GET", r1.base + "/metrics")
        #expect(scrape.body.contains("triage_replica_services{replica=\"r1\"}") && scrape.body.contains("triage_replica_rows_processed"),
                "\(scrape.body.suffix(1_500))")
    }

    /// PostgreSQL restarted under two replicas: while it is down they answer 503 to rows and to
    /// `/readyz`; once it is back they re-claim the services (their leases lapsed), and every row
    /// accepted before the stop or after the restart is processed once: the recommendations equal
    /// a single SQLite server's.
    @Test(.enabled(if: PostgresRestartTests.enabled)) func replicasCarryOnAfterPostgresRestarts() async throws {
        let server = try OwnPostgresServer.start()
        defer { server.destroy() }
        let folder = try Serve.folder()
        let bodies = try Self.bodies(CommandsOnPostgresTests.data.metrics, rows: 500)
        let single = try ServeProcess.start(Serve.serveArguments(db: folder + "/single.sqlite", folder: folder), folder: folder, name: "single")
        for body in bodies { #expect(try Self.post(body, to: single).status == 202) }
        let expected = try Serve.answers(single.base).sorted()
        single.stop()
        let replicas = try ["p1", "p2"].map {
            try ServeProcess.start(Self.replicaArguments(db: server.url, folder: folder, name: $0), folder: folder, name: $0)
        }
        defer { for replica in replicas { replica.stop() } }
        let half = bodies.count / 2
        for (k, body) in bodies[..<half].enumerated() { #expect(try Self.post(body, to: replicas[k % 2]).status == 202) }
        try server.control("stop", "-m", "fast", "-w")
        try await Task.sleep(for: .milliseconds(2_500))
        let refused = try Self.post(bodies[half], to: replicas[0])
        #expect(refused.status == 503, "\(refused.body)")
        #expect(try HTTP.request("GET", replicas[1].base + "/readyz").status == 503)
        try server.startServer()
        for replica in replicas {
            _ = try await eventually("\(replica.base) ready again") {
                try HTTP.request("GET", replica.base + "/readyz").status == 200 ? true : nil
            }
        }
        for (k, body) in bodies[half...].enumerated() {
            let answer = try Self.post(body, to: replicas[k % 2])
            #expect(answer.status == 202, "\(answer.body)")
        }
        let store = try await PostgresRecommendationStore.open(server.url)
        var last = (pending: -1, owned: -1)
        do {
            _ = try await eventually(within: .seconds(60), "every row processed") {
                last = try await Self.backlog(store)
                return last.pending == 0 && last.owned == 3 ? true : nil
            }
        } catch {
            Issue.record("backlog \(last)\n--- p1:\n\(replicas[0].log.suffix(3_000))\n--- p2:\n\(replicas[1].log.suffix(3_000))")
            throw error
        }
        await store.close()
        #expect(try Serve.answers(replicas[0].base).sorted() == expected)
    }

    /// A second process with a live replica's name is refused before it listens; the first
    /// keeps serving. A stopped replica hands its services over at once.
    @Test func aSecondReplicaWithTheSameNameIsRefused() async throws {
        let folder = try Serve.folder()
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let first = try ServeProcess.start(Self.replicaArguments(db: url, folder: folder, name: "same"), folder: folder, name: "first")
        defer { first.stop() }
        let second = try Triage.run(["serve", "--port", "0"] + Self.replicaArguments(db: url, folder: folder, name: "same"))
        #expect(second.status == 1 && second.stderr.contains("replica name 'same' is in use"), "\(second.stderr)")
        #expect(try HTTP.request("GET", first.base + "/readyz").status == 200)
    }

    /// Rows for a service older than rows another replica already accepted: 409 naming the
    /// service, nothing of the request kept. Rows of an unknown service are named, not queued.
    @Test func lateRowsAcrossReplicasAreRefusedWholeRequestAtATime() async throws {
        let folder = try Serve.folder()
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let a = try ServeProcess.start(Self.replicaArguments(db: url, folder: folder, name: "a"), folder: folder, name: "a")
        defer { a.stop() }
        let b = try ServeProcess.start(Self.replicaArguments(db: url, folder: folder, name: "b"), folder: folder, name: "b")
        defer { b.stop() }
        let header = "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s"
        func row(_ minute: Int, _ service: String) -> String { "2026-01-05T00:\(String(format: "%02d", minute)):00Z,\(service),33.8,55.4,38.8,0.004,272.5,2,14" }
        let accepted = try Self.post([header, row(10, "svc-01"), row(10, "svc-02"), row(0, "svc-zz")].joined(separator: "\n") + "\n", to: a)
        #expect(accepted.status == 202 && accepted.body.contains("\"accepted\":2") && accepted.body.contains("svc-zz"), "\(accepted.body)")
        let late = try Self.post([header, row(11, "svc-02"), row(9, "svc-01")].joined(separator: "\n") + "\n", to: b)
        #expect(late.status == 409 && late.body.contains("svc-01"), "\(late.body)")
        // The head counts every entry ever appended (consumed ones included): svc-02 has one.
        let store = try await PostgresRecommendationStore.open(url)
        let head = try await store.read { connection in
            try await store.rows("SELECT last_seq, last_at FROM inbox_head WHERE service = 'svc-02'", on: connection).map {
                [try $0["last_seq"].decode(Int64.self), try $0["last_at"].decode(Int64.self)]
            }
        }
        await store.close()
        #expect(head == [[1, 1_767_571_800]], "\(head)")
    }

    /// An inbox entry its owner cannot read (another version's, or damaged) is consumed alone
    /// with an `inbox_refused` event naming it, and the service's later rows are processed.
    @Test func aDamagedInboxEntryIsJournaledAndSkipped() async throws {
        let folder = try Serve.folder()
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let a = try ServeProcess.start(Self.replicaArguments(db: url, folder: folder, name: "a"), folder: folder, name: "a")
        defer { a.stop() }
        let store = try await PostgresRecommendationStore.open(url)
        let appended = try await MetricsInbox(store: store).append(
            batches: [InboxBatch(service: "svc-01", firstAt: 60, lastAt: 60, rowCount: 1, body: "60,not,numbers\n")], acceptedBy: "old")
        #expect(appended == .accepted(rows: 1))
        let header = "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s"
        let posted = try Self.post(header + "\n2026-01-05T00:10:00Z,svc-01,33.8,55.4,38.8,0.004,272.5,2,14\n", to: a)
        #expect(posted.status == 202, "\(posted.body)")
        _ = try await eventually("the service's rows processed") { try await Self.backlog(store).pending == 0 ? true : nil }
        let refused = try await store.events(after: 0, limit: 100).filter { $0.type == "inbox_refused" }
        #expect(refused.count == 1, "\(refused)")
        let services = try HTTP.request("GET", a.base + "/v1/services")
        #expect(services.body.contains("\"last_row\":\"2026-01-05T00:10:00Z\""), "\(services.body)")
        #expect(a.log.contains("skips inbox entry 1 of svc-01"), "\(a.log)")
        await store.close()
    }

    /// Usage faults: replicas need PostgreSQL; an unreachable server is named with its port.
    @Test func replicasRefuseSQLiteAndNameAnUnreachableServer() throws {
        let folder = try Serve.folder()
        let onSQLite = try Triage.run(["serve", "--port", "0"] + Self.replicaArguments(db: folder + "/q.sqlite", folder: folder, name: "r"))
        #expect(onSQLite.status != 0 && onSQLite.stderr.contains("--replica needs a PostgreSQL --db"), "\(onSQLite.stderr)")
        let badLeases = try Triage.run(["serve", "--port", "0"] + Serve.serveArguments(db: "postgres://u@127.0.0.1:1/d", folder: folder)
                                       + ["--replica", "r", "--lease-ttl", "1", "--lease-renew", "1"])
        #expect(badLeases.status != 0 && badLeases.stderr.contains("--lease-ttl must be at least twice"), "\(badLeases.stderr)")
        let down = try Triage.run(["serve", "--port", "0"] + Self.replicaArguments(db: "postgres://triage@127.0.0.1:1/triage", folder: folder, name: "r"))
        #expect(down.status == 1 && down.stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "\(down.stderr)")
    }
}
