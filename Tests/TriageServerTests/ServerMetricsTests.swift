import Foundation
import Testing
@testable import TriageServer
import TriageEngine
import TriageRuntime

/// The request metrics keep their handles (one registry lookup per method, route and status,
/// not per request) and still count every request under the right labels.
@Suite struct ServerMetricsTests {
    static func text(_ metrics: ServerMetrics) -> String { String(decoding: metrics.exposition(), as: UTF8.self) }

    @Test func everyRequestIsCountedUnderItsRoutePattern() {
        let metrics = ServerMetrics()
        for _ in 0..<3 {
            #expect(metrics.request(method: "POST", endpoint: "/v1/score", status: 200, duration: .microseconds(300)) == "/v1/score")
        }
        #expect(metrics.request(method: "POST", endpoint: "/v1/recommendations/:id/approve", status: 404, duration: .milliseconds(3))
                == "/v1/recommendations/{id}/approve")
        #expect(metrics.request(method: "GET", endpoint: nil, status: 404, duration: .milliseconds(1)) == "unmatched")
        let text = Self.text(metrics)
        #expect(text.contains(#"triage_http_requests_total{method="POST",route="/v1/score",status="200"} 3"#))
        #expect(text.contains(#"triage_http_requests_total{method="POST",route="/v1/recommendations/{id}/approve",status="404"} 1"#))
        #expect(text.contains(#"triage_http_requests_total{method="GET",route="unmatched",status="404"} 1"#))
        #expect(text.contains(#"triage_http_request_duration_seconds_count{method="POST",route="/v1/score"} 3"#))
        // 300 µs falls in the 0.5 ms bucket, not the 0.25 ms one.
        #expect(text.contains(#"triage_http_request_duration_seconds_bucket{method="POST",route="/v1/score",le="0.00025"} 0"#))
        #expect(text.contains(#"triage_http_request_duration_seconds_bucket{method="POST",route="/v1/score",le="0.0005"} 3"#))
    }

    @Test func rowCountersAccumulate() {
        let metrics = ServerMetrics()
        metrics.rowsScored(1)
        metrics.rowsScored(1_000)
        #expect(Self.text(metrics).contains("triage_rows_scored_total 1001"))
    }

    @Test func twoServersDoNotShareCounts() {
        let one = ServerMetrics(), two = ServerMetrics()
        one.request(method: "GET", endpoint: "/healthz", status: 200, duration: .zero)
        #expect(!Self.text(two).contains("/healthz"))
    }

    /// The log's duration: what `String(format: "%.3f")` of the milliseconds printed.
    @Test(arguments: [Duration.zero, .nanoseconds(400), .nanoseconds(1_600), .microseconds(999), .microseconds(1_000),
                      .microseconds(12_345), .milliseconds(1_500), .seconds(61)])
    func logDurationHasThreeDecimals(duration: Duration) {
        let milliseconds = Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
        #expect(RequestLogMiddleware.milliseconds(duration) == String(format: "%.3f", milliseconds))
    }

    /// The state gauge has the fourth level, and a critical service says why.
    @Test func criticalIsAStateWithItsCause() {
        let metrics = ServerMetrics()
        let escalation = CriticalEscalation.Escalation(cause: .incidentLimit, observed: "1800 s", threshold: "1800 s")
        metrics.refresh(services: [ServiceStatus(service: "api", state: .critical, lastRow: 0, incidentStart: 0, escalation: escalation),
                                   ServiceStatus(service: "web", state: .healthy, lastRow: 0, incidentStart: nil)],
                        queueCounts: [:])
        let text = Self.text(metrics)
        #expect(text.contains(#"triage_service_state{service="api",state="critical"} 1"#))
        #expect(text.contains(#"triage_service_state{service="api",state="unhealthy"} 0"#))
        #expect(text.contains(#"triage_service_critical_cause{service="api",cause="incident_limit"} 1"#))
        #expect(text.contains(#"triage_service_critical_cause{service="api",cause="heartbeat_lost"} 0"#))
        #expect(text.contains(#"triage_service_critical_cause{service="web",cause="incident_limit"} 0"#))
        let json = ServiceStatus(service: "api", state: .critical, lastRow: nil, incidentStart: nil, escalation: escalation).json
        #expect(json.serialized().contains(#""critical":{"cause":"incident_limit","observed":"1800 s","threshold":"1800 s"}"#))
        #expect(ServiceStatus(service: "web", state: .healthy, lastRow: nil, incidentStart: nil).json.serialized().contains(#""critical":null"#))
    }
}
