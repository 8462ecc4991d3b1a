import Foundation
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
        let route = context.endpointPath.map { $0.replacingOccurrences(of: ":id", with: "{id}") } ?? "unmatched"
        metrics.request(method: method, route: route, status: status, duration: duration)
        context.logger.info("request", metadata: [
            "method": .string(method), "route": .string(route), "status": .stringConvertible(status),
            "duration_ms": .string(String(format: "%.3f", Double(duration.components.attoseconds) / 1e15
                                          + Double(duration.components.seconds) * 1e3)),
        ])
    }
}
