import Hummingbird
import HTTPTypes

/// The approval page's security headers on every answer of its routes, and a refusal shown as
/// a page (with the same headers) rather than the JSON API's error body.
struct PageHeadersMiddleware: RouterMiddleware {
    typealias Context = TriageRequestContext
    let page: ApprovalPage

    /// Nothing but this server's own style sheet and forms: no script of any kind (the page has
    /// none, so an injected one cannot run), no plugin, no frame around it (clickjacking), no
    /// `<base>` to redirect relative links, and forms post only back here.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static let headers: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, contentSecurityPolicy),
        (.xContentTypeOptions, "nosniff"),
        (.referrerPolicy, "no-referrer"),
        // For browsers that predate frame-ancestors.
        (.xFrameOptions, "DENY"),
        (HTTPField.Name("Cross-Origin-Opener-Policy")!, "same-origin"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = failurePage(error)
        }
        for (name, value) in Self.headers { response.headers[name] = value }
        // The page shows the queue as of now and a CSRF token: never from a cache.
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    func failurePage(_ error: any Error) -> Response {
        let status: HTTPResponse.Status, message: String
        switch error {
        case let error as PageError: (status, message) = (error.status, error.message)
        case let error as APIError: (status, message) = (error.status, error.message)
        case let error as PageSetupError: (status, message) = (.serviceUnavailable, error.description)
        case let error as HTTPError: (status, message) = (error.status, error.body ?? error.status.reasonPhrase)
        default: (status, message) = (.internalServerError, "\(error)")
        }
        let view = PageView(failure: FailureView(title: "\(status.code) \(status.reasonPhrase)", message: message))
        if let response = try? page.render(view, status: status) { return response }
        // Without templates: the reason as text.
        var plain = Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"])
        plain.body = .init(byteBuffer: .init(string: message + "\n"))
        return plain
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
