import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TriageEngine
import Yams
@testable import TriageServer

@Suite struct OperationsRouteTests {
    @Test func probesSayWhetherTheDatabaseCanBeUsed() async throws {
        let setup = try ServerSetup()
        try await setup.test { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            // Read-only file: not ready, and writes answer 503 with the reason; nothing written.
            chmod(setup.database, 0o444)
            let notReady = try await client.execute(uri: "/readyz", method: .get)
            #expect(notReady.status == .serviceUnavailable && (notReady.object["error"] as? String)?.contains("read-only") == true)
            let write = try await ingestFixture(client, rows: 30)
            #expect(write.status == .serviceUnavailable)
            chmod(setup.database, 0o644)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            // Deleted: a file nobody will read again must not take writes.
            try FileManager.default.removeItem(atPath: setup.database)
            let gone = try await client.execute(uri: "/readyz", method: .get)
            #expect(gone.status == .serviceUnavailable && (gone.object["error"] as? String)?.contains("deleted") == true)
            #expect(try await ingestFixture(client, rows: 30).status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test func prometheusTextCountsRequestsRowsAndStates() async throws {
        let setup = try ServerSetup()
        try await setup.test { client in
            try await ingestFixture(client, rows: 300)
            _ = try await client.execute(uri: "/v1/recommendations/rec-999999", method: .get)
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok && response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = response.text
            #expect(text.contains(#"triage_http_requests_total{method="POST",route="/v1/metrics",status="202"} 1"#))
            #expect(text.contains(#"triage_http_requests_total{method="GET",route="/v1/recommendations/{id}",status="404"} 1"#))
            #expect(text.contains("triage_rows_ingested_total 300"))
            #expect(text.contains(#"triage_http_request_duration_seconds_bucket{method="POST",route="/v1/metrics",le="+Inf"} 1"#))
            #expect(text.contains(#"triage_service_state{service="svc-01",state="healthy"}"#))
            #expect(text.contains(#"triage_recommendations{status="pending"}"#))
            // Ids never become label values.
            #expect(!text.contains("rec-999999"))
        }
    }

    @Test func theEventStreamResumesAfterTheLastEventID() async throws {
        let setup = try ServerSetup()
        setup.server.streamsEndWhenCaughtUp.set() // the stream ends once caught up
        try await setup.test { client in
            try await ingestFixture(client)
            let all = try await client.execute(uri: "/v1/events", method: .get)
            #expect(all.status == .ok && all.headers[.contentType] == "text/event-stream")
            let ids = all.text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
            #expect(ids.count >= 2 && ids == ids.sorted() && ids.first == 1)
            #expect(all.text.contains("event: recommendation\ndata: {"))
            let resumed = try await client.execute(uri: "/v1/events", method: .get, headers: [.init("Last-Event-ID")!: "\(ids[1])"])
            let rest = resumed.text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
            #expect(rest == Array(ids.dropFirst(2)))
            let bad = try await client.execute(uri: "/v1/events", method: .get, headers: [.init("Last-Event-ID")!: "yesterday"])
            #expect(bad.status == .badRequest)
        }
    }

    @Test func decisionsReachTheStreamToo() async throws {
        let setup = try ServerSetup(configure: { $0.ttlSeconds = 365 * 86_400 })
        setup.server.streamsEndWhenCaughtUp.set()
        try await setup.test { client in
            try await ingestFixture(client)
            let before = try await client.execute(uri: "/v1/events", method: .get)
            let last = before.text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.last.map { String($0.dropFirst(4)) } ?? "0"
            let list = try await client.execute(uri: "/v1/recommendations", method: .get)
            let id = try #require((list.object["recommendations"] as? [[String: Any]])?.first?["id"] as? String)
            _ = try await client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post, headers: json(aliceToken))
            let after = try await client.execute(uri: "/v1/events", method: .get, headers: [.init("Last-Event-ID")!: last])
            #expect(after.text.contains("event: approved\n") && after.text.contains("\"decided_by\":\"alice\""))
        }
    }

    /// Every route of openapi/triage.yaml is served (a route the router does not know answers an
    /// empty 404), and a path that is not in the document is not.
    @Test func everyDocumentedRouteIsServed() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("openapi/triage.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let routes: [(path: String, method: String)] = paths.flatMap { path, item in
            ((item as? [String: Any]) ?? [:]).keys.filter { ["get", "post"].contains($0) }.map { (path, $0) }
        }
        #expect(routes.count == 13)
        let setup = try ServerSetup()
        setup.server.streamsEndWhenCaughtUp.set()
        try await setup.test { client in
            for (path, method) in routes {
                do {
                    let uri = path.replacingOccurrences(of: "{id}", with: "rec-000001")
                    let response = try await client.execute(uri: uri, method: method == "get" ? .get : .post, headers: json())
                    #expect(!(response.status == .notFound && response.body.readableBytes == 0), "\(method.uppercased()) \(path) is not routed")
                }
            }
            let undocumented = try await client.execute(uri: "/v1/nothing", method: .get)
            #expect(undocumented.status == .notFound && undocumented.body.readableBytes == 0)
        }
    }
}

@Suite struct StoppingServerTests {
    @Test func aStoppingServerRefusesNewWorkButStaysAlive() async throws {
        let setup = try ServerSetup()
        setup.server.stopping.set()
        try await setup.test { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable && (ready.object["error"] as? String)?.contains("stopping") == true)
            let work = try await ingestFixture(client, rows: 3)
            #expect(work.status == .serviceUnavailable && work.headers[.connection] == "close")
        }
        #expect(setup.server.inFlight.current == 0)
    }
}

/// deploy/*.yaml: the probes point at documented routes, and every flag a manifest passes is one
/// `triage serve` has (the manifests are what users copy).
@Suite struct DeployManifestTests {
    /// The flags of `triage serve` the manifests may pass.
    static let serveFlags: Set<String> = ["--model", "--db", "--host", "--port", "--token-file", "--approvers", "--outbox",
                                          "--ttl", "--max-body", "--log-level"]

    static func documents(_ file: String) throws -> [[String: Any]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("deploy/" + file), encoding: .utf8)
        return try Array(Yams.load_all(yaml: text)).compactMap { $0 as? [String: Any] }
    }

    static func probePath(_ container: [String: Any], _ name: String) -> String? {
        ((container[name] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String
    }

    /// The flag names of `args` (`--db=VALUE` → `--db`), after the subcommand.
    static func flagNames(_ args: [String]) -> Set<String> { Set(args.dropFirst().map { String($0.split(separator: "=")[0]) }) }

    @Test func probesAndFlagsMatchTheServer() throws {
        let documents = try Self.documents("triage-serve.yaml")
        #expect(Set(documents.compactMap { $0["kind"] as? String }) == ["Secret", "PersistentVolumeClaim", "Deployment", "Service"])
        let deployment = try #require(documents.first { $0["kind"] as? String == "Deployment" })
        let pod = try #require(((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect(Self.probePath(container, "livenessProbe") == "/healthz" && Self.probePath(container, "readinessProbe") == "/readyz")
        let args = try #require(container["args"] as? [String])
        #expect(args.first == "serve")
        #expect(Self.flagNames(args).isSubset(of: Self.serveFlags))
        // The token file the server reads is a private copy made by the init container.
        let copy = try #require((pod["initContainers"] as? [[String: Any]])?.first?["command"] as? [String])
        #expect(copy.joined(separator: " ").contains("umask 077") && args.contains("--token-file=/etc/triage/tokens"))
        #expect((pod["terminationGracePeriodSeconds"] as? Int ?? 0) > 10)
    }

    /// deploy/triage-cluster.yaml (issue 18): 3 replicas, a disruption budget that keeps 2, probes on
    /// the documented routes, the database URL and password from the Secret (the password in the
    /// environment, never in arguments), and the pod's name as the replica's.
    @Test func clusterManifestWiresReplicasToTheSharedDatabase() throws {
        let documents = try Self.documents("triage-cluster.yaml")
        #expect(Set(documents.compactMap { $0["kind"] as? String }) == ["Secret", "Deployment", "PodDisruptionBudget", "Service"])
        func spec(_ kind: String) throws -> [String: Any] {
            try #require(documents.first { $0["kind"] as? String == kind }?["spec"] as? [String: Any])
        }
        let deployment = try spec("Deployment")
        #expect(deployment["replicas"] as? Int == 3)
        let template = try #require(deployment["template"] as? [String: Any])
        let podLabels = try #require((template["metadata"] as? [String: Any])?["labels"] as? [String: String])
        // The budget and the Service select exactly the Deployment's pods.
        let budget = try spec("PodDisruptionBudget")
        #expect(budget["minAvailable"] as? Int == 2)
        #expect((budget["selector"] as? [String: Any])?["matchLabels"] as? [String: String] == podLabels)
        #expect(try spec("Service")["selector"] as? [String: String] == podLabels)

        let pod = try #require(template["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect(Self.probePath(container, "livenessProbe") == "/healthz" && Self.probePath(container, "readinessProbe") == "/readyz")
        let args = try #require(container["args"] as? [String])
        #expect(args.first == "serve")
        #expect(args.contains("--db=$(TRIAGE_DATABASE_URL)") && args.contains("--replica=$(POD_NAME)"))
        #expect(Self.flagNames(args).isSubset(of: Self.serveFlags.union(["--replica"])))
        #expect(!args.joined().contains("PGPASSWORD") && !args.joined().contains("password"))
        let env = try #require(container["env"] as? [[String: Any]])
        func secretKey(_ name: String) -> String? {
            let source = env.first { $0["name"] as? String == name }?["valueFrom"] as? [String: Any]
            return (source?["secretKeyRef"] as? [String: Any])?["key"] as? String
        }
        #expect(secretKey("TRIAGE_DATABASE_URL") == "database-url" && secretKey("PGPASSWORD") == "database-password")
        let podName = env.first { $0["name"] as? String == "POD_NAME" }?["valueFrom"] as? [String: Any]
        #expect((podName?["fieldRef"] as? [String: Any])?["fieldPath"] as? String == "metadata.name")
        let copy = try #require((pod["initContainers"] as? [[String: Any]])?.first?["command"] as? [String])
        #expect(copy.joined(separator: " ").contains("umask 077") && args.contains("--token-file=/etc/triage/tokens"))
    }
}
