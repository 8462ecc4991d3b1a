import Metrics
import Prometheus
import TriageEngine
import TriageRuntime

/// The server's Prometheus metrics (`GET /metrics`), recorded through swift-metrics into a
/// registry of this server's own (not the process-global one, so two servers in one process —
/// tests — do not mix their counts).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request latency: the targets are in single milliseconds, so the buckets start at 0.25 ms.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        self.factory = factory
    }

    /// One answered request: by method, route (the pattern, never the raw path: bounded
    /// cardinality) and status.
    func request(method: String, route: String, status: Int, duration: Duration) {
        let dimensions = [("method", method), ("route", route), ("status", String(status))]
        Counter(label: "triage_http_requests_total", dimensions: dimensions, factory: factory).increment()
        Metrics.Timer(label: "triage_http_request_duration_seconds", dimensions: [("method", method), ("route", route)],
                      factory: factory).record(duration: duration)
    }

    func rowsScored(_ count: Int) {
        Counter(label: "triage_rows_scored_total", factory: factory).increment(by: count)
    }

    func rowsIngested(_ summary: IngestSummary) {
        Counter(label: "triage_rows_ingested_total", factory: factory).increment(by: summary.accepted)
        if summary.recommendations > 0 {
            Counter(label: "triage_recommendations_raised_total", factory: factory).increment(by: summary.recommendations)
        }
    }

    /// A decision or outcome taken through this server.
    func decision(_ kind: String) {
        Counter(label: "triage_decisions_total", dimensions: [("decision", kind)], factory: factory).increment()
    }

    func outcome(_ result: String) {
        Counter(label: "triage_outcomes_total", dimensions: [("result", result)], factory: factory).increment()
    }

    /// Gauges read at scrape time: each service's state (1 for the current one, 0 for the
    /// others, as kube-state-metrics does) and the queue's depth by status.
    func refresh(services: [ServiceStatus], queueCounts: [Recommendation.Status: Int]) {
        for service in services {
            for state in HealthState.allCases {
                Gauge(label: "triage_service_state", dimensions: [("service", service.service), ("state", state.rawValue)],
                      factory: factory).record(service.state == state ? 1 : 0)
            }
        }
        for status in Recommendation.Status.allCases {
            Gauge(label: "triage_recommendations", dimensions: [("status", status.rawValue)], factory: factory)
                .record(queueCounts[status] ?? 0)
        }
    }

    func exposition() -> [UInt8] { registry.emitToBuffer() }
}
