import CMalloc
import Foundation
import Hummingbird
import HummingbirdAuth
import HTTPTypes
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime

/// The request context of every route: Hummingbird's core context plus the approval page's
/// session (sign-in and CSRF token).
public struct TriageRequestContext: RequestContext, SessionRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let sessions: SessionContext<PageSession>
    /// The connection, kept to read the client's address only where it is needed (sign-in):
    /// reading it costs a lock and a string on every request otherwise.
    let channel: any Channel

    /// The client's IP address (what failed sign-ins are counted by); nil when unknown.
    public var remoteAddress: String? { channel.remoteAddress?.ipAddress }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sessions = .init()
        channel = source.channel
    }
}

/// What the approval page keeps per signed-in browser.
public struct PageSession: Codable, Sendable {
    /// The token's name: who decides.
    public var name: String
    /// Sent with every form and compared with this one (CSRF).
    public var csrf: String
    /// A message for the next page view (after a decision's redirect), shown once.
    public var flash: PageFlash? = nil
}

/// `triage serve`: the HTTP front door over the runtime (../shared/CLI.md "HTTP", openapi/triage.yaml).
///
/// Nothing is computed here: scoring is `LoadedModel.score` / `BundleDetectors.score`, ingest is
/// `EngineService.ingest`, decisions are the store's `approve/reject/recordOutcome` (`ServedStore`:
/// an SQLite queue or PostgreSQL). This type parses requests, checks tokens, and renders answers.
public final class TriageServer: Sendable {
    public let configuration: ServerConfiguration
    let served: ServedModel
    let tokens: TokenFile?
    let metrics = ServerMetrics()
    let logger: Logger
    /// Set when a graceful shutdown starts: open event streams end so the server can drain.
    let stopping = StopFlag()
    let inFlight = InFlight()
    /// Event streams end once caught up (tests read a stream to its end this way).
    let streamsEndWhenCaughtUp = StopFlag()
    /// Runs approved actions through the `--exec` hook off the request path (nil without one).
    let handoffs: HandoffWorkers?
    /// On PostgreSQL: the outbox dispatcher (file and hook) and the event streams' listener.
    let postgresServing: PostgresServing?

    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        tokens = try configuration.tokenFile.map { path throws in try TokenFile.load(path) }
        let served = try ServedModel.open(configuration, logger: logger)
        self.served = served
        handoffs = try Self.handoffWorkers(configuration, served: served, logger: logger)
        postgresServing = try Self.postgresServing(configuration, served: served, logger: logger)
    }

    /// The Hummingbird application: routes, middleware and the services that run with it.
    public func application() -> some ApplicationProtocol {
        let router = Router(context: TriageRequestContext.self)
        router.add(middleware: RequestLogMiddleware(metrics: metrics, stopping: stopping, inFlight: inFlight))
        addRoutes(to: router)
        let logger = self.logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "triage"),
            onServerRunning: { channel in
                // The bound address (with --port 0, the port the system chose), at notice level
                // so scripts can find it at any log level but warning and above.
                let port = channel.localAddress?.port ?? 0
                logger.notice("listening", metadata: ["address": .string("http://\(channel.localAddress?.ipAddress ?? "?"):\(port)")])
            },
            logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting, lets requests in flight finish,
    /// saves the engine's checkpoint and returns.
    public func run() async throws {
        if tokens == nil {
            logger.notice("no token file: the server is read-only (write routes answer 401)")
        }
        // Large blocks (response and request buffers of up to a few MiB) are mmapped and given
        // back when freed. With glibc's default, the threshold rises each time one is freed and
        // they come from the heap instead, which fragments: under the mixed load of
        // benchmarks/server_load.sh resident memory then grew about 100 KiB/s (BENCHMARKS.md).
        _ = triage_fix_mmap_threshold(128 * 1024)
        // Hand-offs a previous run left queued or without a result, with their original keys.
        handoffs?.resumeUnfinished()
        // A replica joins its cluster before it listens: a name in use fails the start.
        if let replica = served.replica {
            do { try await replica.start() } catch {
                await served.postgres?.close()
                throw error
            }
            logger.notice("replica joined", metadata: ["replica": .string(replica.replica)])
        }
        let app = application()
        // Shut down in reverse order: the watcher first (open event streams end), then the server
        // (stops accepting, finishes requests in flight); past 8 s what is left is cancelled, so the
        // checkpoint below is saved within the 10 s a stop may take.
        var settings = ServiceGroupConfiguration(
            services: (postgresServing.map { [.init(service: $0)] } ?? []) + [.init(service: app), .init(service: ShutdownWatcher(flag: stopping, inFlight: inFlight))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        settings.maximumGracefulShutdownDuration = .seconds(8)
        let group = ServiceGroup(configuration: settings)
        do {
            try await group.run()
        } catch {
            await stopHandoffs()
            await served.replica?.stop()
            try? await served.engine?.close()
            await served.postgres?.close()
            throw error
        }
        await stopHandoffs()
        // Hands its services back at once: the survivors take them at their next lease round.
        await served.replica?.stop()
        do {
            try await served.engine?.close()
        } catch {
            await served.postgres?.close()
            throw error
        }
        await served.postgres?.close()
        logger.info("stopped; engine checkpoint saved")
    }

    // MARK: Routes

    func addRoutes(to router: Router<TriageRequestContext>) {
        router.get("/healthz") { _, _ in JSONResponse.make(json: .object(["status": .string("ok")])) }
        router.get("/readyz") { [self] _, _ in try await readiness() }
        router.get("/metrics") { [self] _, _ in try await prometheus() }
        router.post("/v1/score") { [self] request, _ in try await score(request) }
        router.post("/v1/metrics") { [self] request, _ in try await ingest(request) }
        router.get("/v1/services") { [self] _, _ in try await services() }
        router.get("/v1/recommendations") { [self] request, _ in try await listRecommendations(request) }
        router.get("/v1/recommendations/:id") { [self] _, context in try await showRecommendation(try id(context)) }
        router.post("/v1/recommendations/:id/approve") { [self] request, context in
            try await decide(request, context: context, approve: true)
        }
        router.post("/v1/recommendations/:id/reject") { [self] request, context in
            try await decide(request, context: context, approve: false)
        }
        router.post("/v1/recommendations/:id/outcome") { [self] request, context in
            try await outcome(request, context: context)
        }
        router.get("/v1/events") { [self] request, _ in try await events(request) }
        ApprovalPage(server: self).addRoutes(to: router)
    }

    func id(_ context: TriageRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), !id.isEmpty, id.utf8.count <= 128 else {
            throw APIError.badRequest("expected a recommendation id", field: "id")
        }
        return id
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    // MARK: Probes and metrics

    func readiness() async throws -> Response {
        if stopping.isSet { throw APIError.unavailable("the server is stopping") }
        if let reason = await served.unavailableReason() { throw APIError.unavailable(reason) }
        return JSONResponse.make(json: .object(["status": .string("ready")]))
    }

    func prometheus() async throws -> Response {
        if let store = served.store, let counts = try? await store.countsByStatus(now: Self.now) {
            metrics.refresh(services: served.lastServices.value, queueCounts: counts)
        }
        if let replica = served.replica {
            let (services, totals) = await (replica.heldLeases.count, replica.totals)
            metrics.refreshReplica(name: replica.replica, services: services, totals: totals)
        }
        var buffer = ByteBuffer()
        buffer.writeBytes(metrics.exposition())
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: buffer))
    }

    // MARK: Scoring and ingest

    func score(_ request: Request) async throws -> Response {
        var request = request
        let format = try BodyFormat.of(request)
        let body = try await request.collectBody(limit: configuration.maxBodyBytes)
        let bytes = try served.score(body, format: format, maxRows: configuration.maxRows, metrics: metrics)
        return JSONResponse.make(bytes: bytes)
    }

    func ingest(_ request: Request) async throws -> Response {
        _ = try writer(request)
        try await served.requireWritable()
        if let replica = served.replica { return try await ingest(request, into: replica) }
        guard let engine = served.engine else {
            throw APIError(.notFound, "this server has no engine: metrics ingest needs a bundle and an approval queue database")
        }
        var request = request
        let format = try BodyFormat.of(request)
        let body = try await request.collectBody(limit: configuration.maxBodyBytes)
        let rows = try RowBodies.metricRows(body, format: format, maxRows: configuration.maxRows)
        let summary: IngestSummary
        do {
            // Scored here, in this request's task, so batches of concurrent requests are scored
            // on both cores; the engine actor, which must see one batch at a time, only applies them.
            let scored = try engine.score(rows)
            summary = try await engine.ingest(rows, scored: scored)
        } catch let refusal as IngestRefusal {
            switch refusal {
            case .outOfOrder(let service, let row, _, _):
                throw APIError(.conflict, refusal.description, field: "rows[\(row)].timestamp (service \(service))")
            }
        } catch let error as EngineError {
            throw Self.map(error)
        }
        metrics.rowsIngested(summary)
        served.lastServices.set(summary.services)
        var fields: [String: JSONValue] = ["accepted": .integer(summary.accepted)]
        if !summary.unknownServices.isEmpty { fields["unknown_services"] = .strings(summary.unknownServices) }
        return JSONResponse.make(status: .accepted, json: .object(fields))
    }

    func services() async throws -> Response {
        let services: [ServiceStatus]
        if let replica = served.replica {
            services = await replica.services()
        } else if let engine = served.engine {
            services = await engine.services()
        } else {
            return JSONResponse.make(json: .object(["services": .array([])]))
        }
        served.lastServices.set(services)
        return JSONResponse.make(json: .object(["services": .array(services.map(\.json))]))
    }

    // MARK: Recommendations

    func store() throws -> ServedStore {
        guard let store = served.store else {
            throw APIError(.notFound, "this server has no approval queue (it needs a bundle and an approval queue database)")
        }
        return store
    }

    func listRecommendations(_ request: Request) async throws -> Response {
        let store = try store()
        var status: Recommendation.Status? = .pending
        if let text = request.uri.queryParameters.get("status") {
            if text == "all" { status = nil } else {
                guard let parsed = Recommendation.Status(rawValue: text) else {
                    throw APIError.badRequest("expected one of pending, approved, rejected, expired, all; got \(JSONValue.quote(text))",
                                              field: "status")
                }
                status = parsed
            }
        }
        // Streamed a page at a time: memory per request stays that of one page however long the
        // queue grows (the whole list, decoded and rendered at once, made resident memory grow
        // with the queue under mixed load). The first page is read before answering, so a queue
        // that cannot be read is a 503 with the reason, not a broken stream.
        let now = Self.now
        let first: [Recommendation]
        do {
            if store.isWritable { try await store.expireOverdue(now: now) }
            first = try await store.list(status: status, now: now, after: nil, limit: Self.listPageRecords)
        } catch {
            throw Self.map(error)
        }
        let headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        let shown = status
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var page = first
            var buffer = ByteBuffer(string: "{\"recommendations\":[")
            var written = 0
            while true {
                for record in page {
                    if written > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                    buffer.writeString(record.json.serialized())
                    written += 1
                }
                try await writer.write(buffer)
                buffer.clear()
                guard page.count == Self.listPageRecords, let last = page.last else { break }
                page = try await store.list(status: shown, now: now, after: ApprovalQueue.ListCursor(after: last), limit: Self.listPageRecords)
            }
            buffer.writeString("]}\n")
            try await writer.write(buffer)
            try await writer.finish(nil)
        })
    }

    /// Records per page of a streamed list (about 1 KiB each).
    static let listPageRecords = 200

    func showRecommendation(_ id: String) async throws -> Response {
        let store = try store()
        do {
            return JSONResponse.make(json: try await store.jsonWithHandoff(try await store.recommendation(id, now: Self.now)))
        } catch {
            throw Self.map(error)
        }
    }

    /// The name of the request's token: 401 without a token file (read-only server), without
    /// a token, or with an unknown one.
    func writer(_ request: Request) throws -> String {
        guard let tokens else {
            throw APIError.unauthorized("this server is read-only: it was started without a token file")
        }
        guard let bearer = request.headers.bearer else {
            throw APIError.unauthorized("missing token: send Authorization: Bearer TOKEN")
        }
        guard let name = tokens.name(forToken: bearer.token) else { throw APIError.unauthorized("unknown token") }
        return name
    }

    /// The approver acting with the request's token; 403 when the token's name is not in the
    /// allowlist (checked before the id is looked up).
    func approver(_ request: Request) throws -> (name: String, approvers: Approvers) {
        let name = try writer(request)
        guard let path = configuration.approversPath else { throw APIError(.forbidden, "no approver allowlist is configured") }
        let approvers: Approvers
        do { approvers = try Approvers.load(path) } catch {
            throw APIError(.forbidden, "approvals are refused: \(error)")
        }
        // The allowlist's own check, the one the queue makes again when it decides.
        do { try approvers.check(Decider.http(tokenName: name)) } catch { throw APIError(.forbidden, error.description) }
        return (name, approvers)
    }

    func decide(_ request: Request, context: TriageRequestContext, approve: Bool) async throws -> Response {
        let (name, approvers) = try approver(request)
        let id = try id(context)
        var request = request
        let body = try await decisionBody(&request)
        let fields = try Self.flatObject(body, allowed: ["comment"])
        var comment: String?
        switch fields["comment"] {
        case nil, .null?: comment = nil
        case .string(let text)?:
            guard text.utf8.count <= Self.maxCommentBytes else {
                throw APIError.badRequest("longer than \(Self.maxCommentBytes) bytes", field: "comment")
            }
            comment = text
        default: throw APIError.badRequest("expected a string", field: "comment")
        }
        let record = try await recordDecision(id, approve: approve, by: name, comment: comment, approvers: approvers)
        // With a hook, the answer carries the hand-off as queued or started (it runs after this).
        let store = try store()
        return JSONResponse.make(json: (try? await store.jsonWithHandoff(record)) ?? record.json)
    }

    func outcome(_ request: Request, context: TriageRequestContext) async throws -> Response {
        _ = try approver(request)
        let id = try id(context)
        var request = request
        let body = try await decisionBody(&request)
        let fields = try Self.flatObject(body, allowed: ["result", "recovery_seconds"])
        let result: Recommendation.OutcomeResult
        switch fields["result"] {
        case .string(let text)?:
            guard let parsed = Recommendation.OutcomeResult(rawValue: text) else {
                throw APIError.badRequest("expected success or failure, got \(JSONValue.quote(text))", field: "result")
            }
            result = parsed
        case nil: throw APIError.badRequest("missing (success or failure)", field: "result")
        default: throw APIError.badRequest("expected a string: success or failure", field: "result")
        }
        var seconds: Double?
        switch fields["recovery_seconds"] {
        case nil, .null?: seconds = nil
        case .number(let value)?: seconds = value
        default: throw APIError.badRequest("expected a number of seconds", field: "recovery_seconds")
        }
        try await served.requireWritable()
        let store = try store()
        let recorded: Recommendation
        do {
            recorded = try await store.recordOutcome(id, result: result, recoverySeconds: seconds, now: Self.now)
        } catch {
            throw Self.map(error)
        }
        metrics.outcome(result.rawValue)
        return JSONResponse.make(json: recorded.json)
    }

    /// The small JSON body of a decision or outcome: JSON only, at most 64 KiB (or `--max-body`).
    func decisionBody(_ request: inout Request) async throws -> ByteBuffer {
        guard try BodyFormat.of(request) == .json else {
            throw APIError(.unsupportedMediaType, "this route takes a JSON object (Content-Type: application/json)",
                           field: "Content-Type")
        }
        return try await request.collectBody(limit: min(64 << 10, configuration.maxBodyBytes))
    }

    static func flatObject(_ body: ByteBuffer, allowed: Set<String>) throws -> [String: JSONFlatObject.Value] {
        let object: JSONFlatObject
        do {
            object = try body.withUnsafeReadableBytes { bytes throws(JSONRows.Failure) in try JSONFlatObject.parse(bytes) }
        } catch {
            throw APIError.badRequest(error.message, field: error.field)
        }
        if let unknown = object.fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.badRequest("unknown field (accepted: \(allowed.sorted().joined(separator: ", ")))", field: unknown)
        }
        return object.fields
    }

    /// The status of an engine or queue error: the caller's mistake is 4xx, a database that
    /// cannot be used is 503.
    static func map(_ error: any Error) -> APIError {
        guard let error = error as? EngineError else {
            if let api = error as? APIError { return api }
            return APIError.unavailable("\(error)")
        }
        switch error {
        case .notFound: return APIError(.notFound, error.description, field: "id")
        case .notPending, .outcomeNotAllowed, .outcomeAlreadyRecorded, .held: return APIError(.conflict, error.description)
        case .notAnApprover, .noAllowlist, .notAllowedAs, .invalidAllowlist: return APIError(.forbidden, error.description)
        case .outOfRange(let field, _, _):
            return APIError.badRequest(error.description, field: field == "recovery seconds" ? "recovery_seconds" : field)
        case .invalid, .invalidConfiguration: return APIError.badRequest(error.description)
        case .database, .newerDatabase, .notTriageDatabase, .readOnlyDatabase, .schemaMismatch, .outbox, .unsupportedByStore, .fenced:
            return APIError.unavailable(error.description)
        }
    }
}

/// A flag set once, read from any task.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// A value shared between requests.
final class Shared<T: Sendable>: Sendable {
    private let stored: Mutex<T>
    init(_ value: T) { stored = Mutex(value) }
    var value: T { stored.withLock { $0 } }
    func set(_ value: T) { stored.withLock { $0 = value } }
}

/// Requests being answered, counted until their answer is written.
final class InFlight: Sendable {
    private let count = Mutex(0)
    var current: Int { count.withLock { $0 } }
    func enter() { count.withLock { $0 += 1 } }
    func leave() { count.withLock { $0 -= 1 } }
}

/// The first step of a graceful stop, before the server's own: raises the stop flag (new
/// requests are refused with 503 and `/readyz` fails, so a load balancer moves on; event
/// streams end), then waits until every request in flight has written its answer, at most 7 s.
///
/// Why not leave it to the server: Hummingbird 2.28 closes a connection that receives the
/// quiesce event right after writing the end of its response, and SwiftNIO's full close drops
/// writes still queued — a large answer in flight was cut short (seen with a 100 000-row score
/// answer). Waiting here first means the server quiesces only idle connections.
struct ShutdownWatcher: Service {
    let flag: StopFlag
    let inFlight: InFlight
    func run() async throws {
        try? await gracefulShutdown()
        flag.set()
        let deadline = ContinuousClock.now + .seconds(7)
        while inFlight.current > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // The last chunk of the last answer may still be leaving the socket buffer.
        try? await Task.sleep(for: .milliseconds(100))
    }
}
