import Foundation
import Testing
@testable import TriageEngine
@testable import TriageStorePostgres

/// The store while its server restarts or is down (issue 18, phase 2): the next operations
/// succeed once the server is back, nothing committed is lost, and an operation while it is down
/// fails with a typed error in bounded time instead of hanging. Each test runs a PostgreSQL
/// server of its own (the shared test server must not restart under the other tests).
@Suite(.serialized) struct PostgresRestartTests {
    static let enabled = StoreKind.postgresURL != nil

    @Test(.enabled(if: enabled)) func operationsSucceedAfterTheServerRestarts() async throws {
        let server = try OwnPostgresServer.start()
        defer { server.destroy() }
        let store = try await PostgresRecommendationStore.open(server.url)
        let approvers = Approvers(path: server.root + "/approvers.txt", names: ["alice"])
        let outbox = Outbox(path: server.root + "/outbox.jsonl")
        for i in 0..<3 { _ = try await store.raise(sampleRecommendation("api", at: Int64(i))) }
        _ = try await store.approve("rec-000001", by: .http(tokenName: "alice"), comment: nil, approvers: approvers,
                                    outbox: outbox, now: 1_100)

        try server.control("restart", "-m", "fast")

        // The pool's connections died with the server: the next calls reconnect.
        let raised = try await store.raise(sampleRecommendation("api", at: 3))
        #expect(raised.isNew && raised.recommendation.id == "rec-000004")
        _ = try await store.approve("rec-000002", by: .http(tokenName: "alice"), comment: nil, approvers: approvers,
                                    outbox: outbox, now: 1_200)
        let all = try await store.list(status: nil, now: 1_300, after: nil, limit: 10)
        #expect(all.map(\.id) == ["rec-000001", "rec-000002", "rec-000003", "rec-000004"])
        #expect(all.map(\.status) == [.approved, .approved, .pending, .pending])
        let events = try await store.events(after: 0, limit: 100)
        #expect(events.map(\.type) == ["recommendation", "recommendation", "recommendation", "approved",
                                       "recommendation", "approved"])
        await store.close()
    }

    @Test(.enabled(if: enabled)) func anOperationWhileTheServerIsDownFailsInBoundedTimeThenSucceeds() async throws {
        let server = try OwnPostgresServer.start()
        defer { server.destroy() }
        let store = try await PostgresRecommendationStore.open(server.url)
        _ = try await store.raise(sampleRecommendation("api", at: 0))

        try server.control("stop", "-m", "fast")
        let start = ContinuousClock.now
        do {
            _ = try await store.raise(sampleRecommendation("api", at: 1))
            Issue.record("a raise with the server stopped succeeded")
        } catch {
            guard case .database(let path, let reason) = error else {
                Issue.record("expected EngineError.database, got \(error)")
                return
            }
            #expect(path == store.location)
            #expect(reason.contains("no answer within"))
        }
        // Bounded: a hang would never return (the limit is `operationTimeout`; a generous margin
        // for a loaded machine).
        #expect(ContinuousClock.now - start < PostgresRecommendationStore.operationTimeout + .seconds(30))

        try server.startServer()
        let raised = try await store.raise(sampleRecommendation("api", at: 1))
        #expect(raised.isNew && raised.recommendation.id == "rec-000002")
        #expect(try await store.list(status: nil, now: 1_100, after: nil, limit: 10).count == 2)
        await store.close()
    }
}

/// A throwaway PostgreSQL server for one test, as scripts/with-postgres.sh starts one: Debian's
/// binaries, a folder under /tmp, a Unix socket only; as root it runs as the `postgres` account.
struct OwnPostgresServer {
    let bin: String
    let root: String
    let runAs: [String]

    var url: String { "postgres://triage@/postgres?host=\(root)/socket" }

    static func start() throws -> OwnPostgresServer {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.filter({ FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") })
            .max(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) else {
            throw ServerError(message: "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        }
        let root = "/tmp/triage-pg-restart-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: root + "/socket", withIntermediateDirectories: true)
        let runAs = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
        let server = OwnPostgresServer(bin: "/usr/lib/postgresql/\(version)/bin", root: root, runAs: runAs)
        if getuid() == 0 { try server.run(["/bin/chown", "-R", "postgres", root], asServer: false) }
        try server.run([server.bin + "/initdb", "-D", root + "/data", "-U", "triage", "--auth=trust", "--no-sync", "-E", "UTF8",
                        "--locale=C.UTF-8"])
        try server.startServer()
        return server
    }

    /// `pg_ctl start` (which, unlike `restart`, does not reuse the last options).
    func startServer() throws {
        try control("start", "-w", "-t", "60", "-o", "-c listen_addresses='' -k \(root)/socket -c fsync=off -c synchronous_commit=off")
    }

    /// `pg_ctl ARGUMENTS` on this server's data folder, its log beside it.
    func control(_ arguments: String...) throws {
        try run([bin + "/pg_ctl", "-D", root + "/data", "-l", root + "/server.log"] + arguments)
    }

    /// Runs `command` and waits for it with `waitpid`: Foundation's `Process` left `runuser`
    /// unreaped here (a zombie) and `waitUntilExit` never returned. Output goes to /dev/null.
    func run(_ command: [String], asServer: Bool = true) throws {
        let full = (asServer ? runAs : []) + command
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = full.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, full[0], &actions, nil, arguments, environ)
        guard spawned == 0 else { throw ServerError(message: "cannot run \(full[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // Exited normally with 0 (the low 7 bits hold a signal number, the next 8 the exit code).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let log = (try? String(contentsOfFile: root + "/server.log", encoding: .utf8)) ?? ""
            throw ServerError(message: "\(command.joined(separator: " ")) failed (wait status \(status))\n\(log)")
        }
    }

    func destroy() {
        try? control("stop", "-m", "immediate")
        try? FileManager.default.removeItem(atPath: root)
    }

    struct ServerError: Error, CustomStringConvertible { var message: String; var description: String { message } }
}
