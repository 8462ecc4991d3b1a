import Hummingbird
import Logging

/// One log line and one metrics sample per request: method, route, status, duration. The route
/// is the matched pattern (`/v1/recommendations/{id}`), so neither the log nor the metrics hold
/// ids or query strings; headers are never logged (tokens travel in them).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = TriageRequestContext
    let metrics: ServerMetrics
    let stopping: StopFlag
    let inFlight: InFlight

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        // A stopping server takes no new work (liveness still answers: the process is alive).
        if stopping.isSet && request.uri.path != "/healthz" {
            record(method, context, status: 503, since: start)
            var error = APIError.unavailable("the server is stopping")
            error.headers[.connection] = "close"
            throw error
        }
        inFlight.enter()
        do {
            var response = try await next(request, context)
            record(method, context, status: response.status.code, since: start)
            // Counted until the answer is written (a graceful stop waits for it).
            let body = response.body, inFlight = self.inFlight
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { inFlight.leave() }
                try await body.write(writer)
            }
            return response
        } catch {
            inFlight.leave()
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(method, context, status: status, since: start)
            throw error
        }
    }

    private func record(_ method: String, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let duration = ContinuousClock.now - start
        let route = metrics.request(method: method, endpoint: context.endpointPath, status: status, duration: duration)
        // The metadata is an autoclosure: built only when info lines are logged.
        context.logger.info("request", metadata: [
            "method": .string(method), "route": .string(route), "status": .stringConvertible(status),
            "duration_ms": .string(Self.milliseconds(duration)),
        ])
    }

    /// Milliseconds with three decimals (`12.345`), from integer microseconds: what
    /// `String(format: "%.3f")` printed, without Foundation's format parser on every line.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micros = seconds &* 1_000_000 &+ (attoseconds &+ 500_000_000_000) / 1_000_000_000_000
        let whole = micros / 1_000, fraction = micros % 1_000
        let digits = String(fraction)
        return "\(whole)." + String(repeating: "0", count: 3 - digits.count) + digits
    }
}
