import Foundation
import Metrics
import Prometheus
import TriageEngine
import TriageRuntime

/// The server's Prometheus metrics (`GET /metrics`), recorded through swift-metrics into a
/// registry of this server's own (not the process-global one, so two servers in one process —
/// tests — do not mix their counts).
///
/// Handles are made once and kept: making a `Counter` or `Timer` asks the registry, which
/// sanitises the label and dimensions and looks them up under its lock — work that was done
/// twice for every request of every route (see BENCHMARKS.md, "HTTP server (issue 15)").
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let scored: Metrics.Counter
    private let ingested: Metrics.Counter
    private let raised: Metrics.Counter
    /// Request handles by method, route pattern and status: bounded by the routes and the few
    /// statuses they answer (the route is a pattern, never a raw path).
    private let requestHandles = Locked<[RequestKey: RequestHandles]>([:])

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request latency: the targets are in single milliseconds, so the buckets start at 0.25 ms.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        scored = Metrics.Counter(label: "triage_rows_scored_total", factory: factory)
        ingested = Metrics.Counter(label: "triage_rows_ingested_total", factory: factory)
        raised = Metrics.Counter(label: "triage_recommendations_raised_total", factory: factory)
    }

    /// One answered request: by method, route and status. `endpoint` is the router's matched
    /// pattern (`/v1/recommendations/:id`), nil when no route matched; the route as the metrics
    /// and the log name it (`/v1/recommendations/{id}`, `unmatched`) is returned for the log.
    @discardableResult
    func request(method: String, endpoint: String?, status: Int, duration: Duration) -> String {
        let key = RequestKey(method: method, endpoint: endpoint, status: status)
        let handles = requestHandles.withLock { cache in
            if let known = cache[key] { return known }
            let made = RequestHandles(key, factory: factory)
            cache[key] = made
            return made
        }
        handles.count.increment()
        handles.latency.record(duration: duration)
        return handles.route
    }

    func rowsScored(_ count: Int) {
        scored.increment(by: count)
    }

    func rowsIngested(_ summary: IngestSummary) {
        ingested.increment(by: summary.accepted)
        if summary.recommendations > 0 {
            raised.increment(by: summary.recommendations)
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
    /// others, as kube-state-metrics does), why a critical one escalated (the same 1/0 over the
    /// causes, all 0 when it is not critical) and the queue's depth by status.
    func refresh(services: [ServiceStatus], queueCounts: [Recommendation.Status: Int]) {
        for service in services {
            for state in HealthState.allCases {
                Gauge(label: "triage_service_state", dimensions: [("service", service.service), ("state", state.rawValue)],
                      factory: factory).record(service.state == state ? 1 : 0)
            }
            for cause in CriticalEscalation.Cause.allCases {
                Gauge(label: "triage_service_critical_cause", dimensions: [("service", service.service), ("cause", cause.rawValue)],
                      factory: factory).record(service.escalation?.cause == cause ? 1 : 0)
            }
        }
        for status in Recommendation.Status.allCases {
            Gauge(label: "triage_recommendations", dimensions: [("status", status.rawValue)], factory: factory)
                .record(queueCounts[status] ?? 0)
        }
    }

    /// A replica's gauges at scrape time: the services it runs now, and its counts since start
    /// (rows processed from the inbox, raises, health changes, gains and losses of services,
    /// writes refused by the fence), so a dashboard sees the cluster's balance and failovers.
    func refreshReplica(name: String, services: Int, totals: ReplicaTotals) {
        let replica = [("replica", name)]
        Gauge(label: "triage_replica_services", dimensions: replica, factory: factory).record(services)
        for (label, value) in [("triage_replica_rows_processed", totals.rows), ("triage_replica_recommendations_raised", totals.recommendations),
                               ("triage_replica_state_changes", totals.stateChanges), ("triage_replica_services_gained", totals.gained),
                               ("triage_replica_services_lost", totals.lost), ("triage_replica_fenced_writes", totals.fenced)] {
            Gauge(label: label, dimensions: replica, factory: factory).record(value)
        }
    }

    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// What a request's metrics are kept under.
struct RequestKey: Hashable, Sendable {
    let method: String
    let endpoint: String?
    let status: Int
}

/// The handles of one method, route and status.
struct RequestHandles: Sendable {
    let route: String
    let count: Metrics.Counter
    let latency: Metrics.Timer

    init(_ key: RequestKey, factory: PrometheusMetricsFactory) {
        route = RequestHandles.route(key.endpoint)
        count = Metrics.Counter(label: "triage_http_requests_total",
                        dimensions: [("method", key.method), ("route", route), ("status", String(key.status))], factory: factory)
        latency = Metrics.Timer(label: "triage_http_request_duration_seconds", dimensions: [("method", key.method), ("route", route)],
                                factory: factory)
    }

    /// The route as logs and metrics name it: the OpenAPI form of the pattern, `unmatched` when
    /// no route matched.
    static func route(_ endpoint: String?) -> String {
        endpoint.map { $0.replacingOccurrences(of: ":id", with: "{id}") } ?? "unmatched"
    }
}

/// A value guarded by a lock, for the few caches requests share.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
