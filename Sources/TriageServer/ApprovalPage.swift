import Foundation
import Hummingbird
import HummingbirdAuth
import HTTPTypes
import NIOCore
import TriageEngine

/// The approval page at `/`: server-rendered HTML for people (README "The approval page").
///
/// A thin layer like the JSON API: it reads the same queue and engine and decides through
/// `TriageServer.recordDecision`, with the signed-in token's name as approver. Signing in with a
/// token starts a session (an HttpOnly, SameSite=Strict cookie); every form that changes
/// something carries the session's CSRF token. The page runs no script at all, so its
/// Content-Security-Policy can forbid every script.
struct ApprovalPage: Sendable {
    let server: TriageServer
    let resources: Result<PageResources, PageSetupError>
    let sessions: PageSessionStore
    let signInLimiter: SignInLimiter

    /// A working shift: long enough not to interrupt an on-call engineer, short enough that a
    /// forgotten browser does not stay signed in for days.
    static let sessionLifetime: Duration = .seconds(8 * 3_600)
    static let cookieName = "triage_session"
    /// The largest form: a comment of `maxCommentBytes`, percent-encoded (up to 3 bytes per
    /// byte), plus the CSRF token and field names.
    static let formBodyLimit = 3 * TriageServer.maxCommentBytes + 1_024
    /// How many decided recommendations the page lists, newest first.
    static let recentDecisions = 20
    /// How many pending recommendations the page shows (the next to expire first): a few
    /// screens of cards; a queue longer than that is a backlog for `triage approvals list` or
    /// the JSON API, and the page says how many it left out.
    let pendingShown: Int

    init(server: TriageServer, resources: Result<PageResources, PageSetupError> = PageResources.load(),
         sessions: PageSessionStore = PageSessionStore(), signInLimiter: SignInLimiter = SignInLimiter(), pendingShown: Int = 100) {
        self.server = server
        self.signInLimiter = signInLimiter
        self.resources = resources
        self.sessions = sessions
        self.pendingShown = pendingShown
    }

    func addRoutes(to router: Router<TriageRequestContext>) {
        let page = router.group().add(middleware: PageHeadersMiddleware(page: self))
        page.get("/static/triage.css") { [self] _, _ in try asset(\.styleSheet, type: "text/css; charset=utf-8") }
        // An icon of its own, else browsers ask for /favicon.ico and log its 404 as an error.
        page.get("/static/favicon.svg") { [self] _, _ in try asset(\.icon, type: "image/svg+xml") }
        // Secure only when asked (`ServerConfiguration.secureCookies`): the server itself speaks
        // plain HTTP; SameSite=Strict keeps the cookie off every cross-site request either way.
        let cookie = SessionCookieParameters(name: Self.cookieName, path: "/", secure: server.configuration.secureCookies,
                                             sameSite: .strict)
        let withSession = page.group().add(middleware: SessionMiddleware<TriageRequestContext>(
            storage: sessions,
            configuration: .init(sessionCookieParameters: cookie, defaultSessionExpiration: Self.sessionLifetime)))
        withSession.get("/") { [self] _, context in try await show(context) }
        withSession.post("/login") { [self] request, context in try await signIn(request, context: context) }
        withSession.post("/logout") { [self] request, context in try await signOut(request, context: context) }
        // A reload or a typed address after a refused sign-in lands on the page, not on a 404.
        page.get("/login") { _, _ in Self.redirectHome() }
        page.get("/logout") { _, _ in Self.redirectHome() }
        withSession.post("/ui/recommendations/:id/approve") { [self] request, context in
            try await decide(request, context: context, approve: true)
        }
        withSession.post("/ui/recommendations/:id/reject") { [self] request, context in
            try await decide(request, context: context, approve: false)
        }
    }

    // MARK: Routes

    func asset(_ file: KeyPath<PageResources, [UInt8]>, type: String) throws -> Response {
        let resources = try resources.get()
        var buffer = ByteBuffer()
        buffer.writeBytes(resources[keyPath: file])
        // Five minutes: a restart with a new style sheet shows up soon without refetching it
        // on every page view.
        return Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"],
                        body: ResponseBody(byteBuffer: buffer))
    }

    /// `GET /`: the sign-in form, or the queue (read-only without a token file).
    func show(_ context: TriageRequestContext) async throws -> Response {
        guard server.tokens != nil else {
            return try render(PageView(readOnly: true, board: try await board(canDecide: false, csrf: nil)))
        }
        guard let session = context.sessions.session else { return try render(PageView(signIn: SignInView())) }
        if session.flash != nil {
            // Shown once: a reload does not repeat it.
            context.sessions.withLockedSession { $0?.flash = nil }
        }
        let isApprover = approvers().map { $0.names.contains(session.name) } ?? false
        let view = PageView(flash: session.flash,
                            user: UserView(name: session.name, csrf: session.csrf, isApprover: isApprover),
                            board: try await board(canDecide: isApprover, csrf: session.csrf))
        return try render(view)
    }

    /// `POST /login`: a valid token starts a session; a wrong one gets the form again with 401.
    func signIn(_ request: Request, context: TriageRequestContext) async throws -> Response {
        guard let tokens = server.tokens else { throw PageError.readOnly }
        try Self.checkSameOrigin(request)
        let address = context.remoteAddress ?? "unknown"
        if let wait = signInLimiter.retryAfter(address) {
            var response = try render(PageView(signIn: SignInView(error: "Too many sign-ins with a wrong token from your address. "
                                                                  + "Wait \(wait) s, then try again.")),
                                      status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        }
        let form = try await Self.form(LoginForm.self, request)
        guard let token = form.token, !token.isEmpty, let name = tokens.name(forToken: token) else {
            signInLimiter.failed(address)
            return try render(PageView(signIn: SignInView(error: "That token is not valid. Check it and try again.")),
                              status: .unauthorized)
        }
        signInLimiter.succeeded(address)
        // A new session id on every sign-in, so an id planted before sign-in is worth nothing.
        context.sessions.createSession(PageSession(name: name, csrf: Self.newCSRFToken()), expiresIn: Self.sessionLifetime)
        return Self.redirectHome()
    }

    /// `POST /logout`: ends the session (the cookie is expired).
    func signOut(_ request: Request, context: TriageRequestContext) async throws -> Response {
        try Self.checkSameOrigin(request)
        guard let session = context.sessions.session else { return Self.redirectHome() }
        let form = try await Self.form(CSRFForm.self, request)
        try Self.checkCSRF(form.csrf, session: session)
        context.sessions.clearSession()
        return Self.redirectHome()
    }

    /// `POST /ui/recommendations/{id}/approve|reject`: the decision, then back to `/` with a
    /// message saying what happened (303, so a reload does not post again).
    func decide(_ request: Request, context: TriageRequestContext, approve: Bool) async throws -> Response {
        guard server.tokens != nil else { throw PageError.readOnly }
        try Self.checkSameOrigin(request)
        guard let session = context.sessions.session else { throw PageError.signedOut }
        let form = try await Self.form(DecisionForm.self, request)
        try Self.checkCSRF(form.csrf, session: session)
        let id = try server.id(context)
        let comment = form.comment.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        let flash: PageFlash
        if let comment, comment.utf8.count > TriageServer.maxCommentBytes {
            flash = PageFlash(error: "The comment is longer than \(TriageServer.maxCommentBytes) bytes; nothing was decided.")
        } else {
            do {
                let approvers = try approversOrRefusal()
                let record = try await server.recordDecision(id, approve: approve, by: session.name, comment: comment,
                                                       approvers: approvers)
                flash = PageFlash(success: Self.decided(record, handedOff: server.handoffs != nil))
            } catch let error as APIError {
                flash = PageFlash(error: "\(id) was not \(approve ? "approved" : "rejected"): \(error.message)")
            }
        }
        context.sessions.withLockedSession { $0?.flash = flash }
        return Self.redirectHome()
    }

    // MARK: Helpers

    /// The allowlist, or nil when it cannot be read (the page then offers no decision).
    func approvers() -> Approvers? {
        try? approversOrRefusal()
    }

    func approversOrRefusal() throws -> Approvers {
        guard let path = server.configuration.approversPath else { throw APIError(.forbidden, "no approver allowlist is configured") }
        do { return try Approvers.load(path) } catch { throw TriageServer.map(error) }
    }

    static func decided(_ record: Recommendation, handedOff: Bool = false) -> String {
        let what = "\(record.action.name) on \(record.service)"
        switch record.status {
        case .approved where handedOff:
            return "Approved \(record.id) (\(what)); it is in the outbox, and its hand-off command runs in the background."
        case .approved: return "Approved \(record.id) (\(what)); it is in the outbox for the remediation layer."
        case .rejected: return "Rejected \(record.id) (\(what))."
        default: return "\(record.id) (\(what)) is \(record.status.rawValue)."
        }
    }

    func render(_ view: PageView, status: HTTPResponse.Status = .ok) throws -> Response {
        let html = try resources.get().page.render(view)
        var buffer = ByteBuffer()
        buffer.writeString(html)
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: buffer))
    }

    static func redirectHome() -> Response {
        Response(status: .seeOther, headers: [.location: "/"])
    }

    /// 32 bytes from the system's cryptographic generator, hex: 256 bits nobody can guess.
    static func newCSRFToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// 403 unless `presented` is the session's CSRF token, compared in constant time.
    static func checkCSRF(_ presented: String?, session: PageSession) throws {
        guard let presented, constantTimeEqual(Array(presented.utf8), Array(session.csrf.utf8)) else {
            throw PageError.csrf
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// A form body (`application/x-www-form-urlencoded`, at most `formBodyLimit` bytes).
    static func form<Form: Decodable>(_ type: Form.Type, _ request: Request) async throws -> Form {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            throw PageError.notAForm(contentType)
        }
        var request = request
        let body = try await request.collectBody(limit: formBodyLimit)
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body))
        } catch {
            throw PageError.malformedForm
        }
    }
}

/// The sign-in form's one field.
struct LoginForm: Decodable {
    var token: String?
}

struct CSRFForm: Decodable {
    var csrf: String?
}

struct DecisionForm: Decodable {
    var csrf: String?
    var comment: String?
}

/// A message shown once on the next page view.
public struct PageFlash: Codable, Sendable, Equatable {
    public var text: String
    public var isError: Bool

    init(success text: String) { self.text = text; isError = false }
    init(error text: String) { self.text = text; isError = true }
}

/// Why a page request is refused: shown as a page with this status.
extension ApprovalPage {
    /// Refuses a form posted from another site, which the CSRF token alone cannot stop for the
    /// sign-in form (a site could sign the browser in with the attacker's token: login CSRF).
    /// Browsers say where a request comes from in `Sec-Fetch-Site` (or, older ones, `Origin`);
    /// a request with neither is not from a browser form of another site, and is let through.
    static func checkSameOrigin(_ request: Request) throws {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            guard site == "same-origin" || site == "none" else { throw PageError.crossSite }
            return
        }
        guard let origin = request.headers[.origin] else { return }
        guard let host = request.head.authority,
              let schemeEnd = origin.range(of: "://"), origin[schemeEnd.upperBound...] == host[...] else {
            throw PageError.crossSite
        }
    }
}

enum PageError: Error, Equatable {
    case readOnly
    case signedOut
    case csrf
    case crossSite
    case notAForm(String)
    case malformedForm

    var status: HTTPResponse.Status {
        switch self {
        case .readOnly, .signedOut: return .unauthorized
        case .csrf, .crossSite: return .forbidden
        case .notAForm: return .unsupportedMediaType
        case .malformedForm: return .badRequest
        }
    }

    var message: String {
        switch self {
        case .readOnly: return "This server is read-only: it was started without a token file, so nobody can sign in or decide."
        case .signedOut: return "Your session has ended. Sign in again, then repeat the decision."
        case .csrf: return "The form was stale or did not come from this page (its security token did not match). "
            + "Nothing was changed; reload the page and try again."
        case .crossSite: return "The form was sent from another site. Nothing was changed; use the page itself."
        case .notAForm(let type): return "Expected a form (application/x-www-form-urlencoded), got \(type.isEmpty ? "no content type" : type)."
        case .malformedForm: return "The form could not be read. Nothing was changed."
        }
    }
}
