import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TriageCore
@testable import TriageEngine
@testable import TriageServer

/// A `triage serve` over the shipped bundle (models/simulated) with a fresh queue in a temporary
/// folder: token file, approver allowlist, outbox; recommendations are raised straight into the
/// server's own queue, so a test controls exactly what the page shows.
struct PageFixture {
    /// alice is an approver; bob has a valid token but is not in the allowlist.
    static let aliceToken = "0123456789abcdef0123"
    static let bobToken = "fedcba9876543210fedc"

    let folder: String
    let server: TriageServer

    var queue: ApprovalQueue { server.served.queue! }
    var outboxPath: String { folder + "/outbox.jsonl" }

    init(tokens: Bool = true, secureCookies: Bool = false, handoff: HandoffSettings? = nil) throws {
        folder = NSTemporaryDirectory() + "triage-page-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var configuration = ServerConfiguration(model: Self.shippedBundle)
        configuration.database = folder + "/queue.sqlite"
        configuration.port = 0
        configuration.secureCookies = secureCookies
        configuration.handoff = handoff
        if tokens {
            let path = folder + "/tokens"
            try "\(Self.aliceToken) alice\n\(Self.bobToken) bob\n".write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            configuration.tokenFile = path
        }
        try "alice\n".write(toFile: folder + "/approvers.txt", atomically: true, encoding: .utf8)
        server = try TriageServer(configuration: configuration, logger: Logger(label: "page-test"))
    }

    /// A pending recommendation expiring in 30 minutes (`expiresIn` ≤ 0: already expired); `row`
    /// keeps raises of one service apart.
    @discardableResult
    func raise(service: String = "checkout", action: RemediationAction = .scaleUp, row: Int64 = 0,
               reasons: [String] = ["latency_p99_ms 4.2× its baseline", "error_rate 0.07 above its baseline"],
               parameters: [String: Int] = ["replicas": 6], scores: [String: Double] = ["iforest": 0.734, "autoencoder": 2.5],
               tried: ActionSet = ActionSet([.restart]), expiresIn: Int64 = 1_800) throws -> Recommendation {
        let now = Int64(Date().timeIntervalSince1970)
        let raisedAt = min(now, now + expiresIn)
        let recommendation = Recommendation(service: service, action: action, confidence: 0.87, created: 1_700_000_000 + row * 60,
                                            raisedAt: raisedAt, expires: now + expiresIn, reasons: reasons, parameters: parameters,
                                            scores: scores, symptoms: Symptoms(features: [], levels: []), tried: tried)
        return try queue.raise(recommendation).recommendation
    }

    func outboxLines() -> [String] {
        guard let text = try? String(contentsOfFile: outboxPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    /// Runs `body` against the server's router (no socket).
    func test<Value: Sendable>(_ body: @Sendable @escaping (PageClient) async throws -> Value) async throws -> Value {
        try await server.application().test(.router) { client in try await body(PageClient(client: client)) }
    }

    static let shippedBundle: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path + "/models/simulated" }
        }
        fatalError("package root not found")
    }()
}

/// A browser's part: keeps the session cookie, posts forms.
struct PageClient: Sendable {
    let client: any TestClientProtocol

    struct Page: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: String
        /// The session cookie this response set (`name=value`), if any, and its attributes.
        var setCookie: String? { headers[.setCookie] }
        var cookie: String? { setCookie.flatMap { $0.split(separator: ";").first.map(String.init) } }
        /// The CSRF token of the page's first form.
        var csrf: String? {
            guard let range = body.range(of: "name=\"csrf\" value=\"") else { return nil }
            return String(body[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    func get(_ uri: String, cookie: String? = nil) async throws -> Page {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: uri, method: .get, headers: headers) { Self.page($0) }
    }

    func post(_ uri: String, form: [(String, String)], cookie: String? = nil,
              contentType: String = "application/x-www-form-urlencoded", headers extra: HTTPFields = [:]) async throws -> Page {
        try await post(uri, body: Self.encode(form), cookie: cookie, contentType: contentType, headers: extra)
    }

    func post(_ uri: String, body: String, cookie: String? = nil,
              contentType: String = "application/x-www-form-urlencoded", headers extra: HTTPFields = [:]) async throws -> Page {
        var headers: HTTPFields = [.contentType: contentType]
        headers.append(contentsOf: extra)
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) { Self.page($0) }
    }

    /// Signs in and returns the session cookie.
    func signIn(_ token: String = PageFixture.aliceToken) async throws -> String {
        let page = try await post("/login", form: [("token", token)])
        guard page.status == .seeOther, let cookie = page.cookie else { throw PageFixtureError("sign-in failed: \(page.status)") }
        return cookie
    }

    static func page(_ response: TestResponse) -> Page {
        Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
    }

    static func encode(_ form: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
    }
}

struct PageFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
