import Foundation
import TriageEngine
import TriageStorePostgres

/// What `triage serve` runs with (../shared/CLI.md "HTTP"); the CLI fills it from its flags.
public struct ServerConfiguration: Sendable {
    /// A model file from `triage fit` or a bundle folder from `triage train`.
    public var model: String
    /// The approval queue (SQLite); with a bundle, the engine's rows, states and recommendations.
    public var database: String?
    public var host = "127.0.0.1"
    public var port = 8080
    /// `TOKEN NAME` lines; without it the server is read-only.
    public var tokenFile: String?
    /// The approver allowlist (default: `approvers.txt` beside the database).
    public var approvers: String?
    /// Where approved actions are handed off (default: `outbox.jsonl` beside the database).
    public var outbox: String?
    /// How long a recommendation waits for a decision.
    public var ttlSeconds: Int64 = 1_800
    /// Per-service targets and replica bounds of the HPA rule (`ScalingTargets`), or nil for
    /// targets from the bundle's baselines.
    public var scalingTargets: String?
    /// Data time an incident may stay open before it becomes critical.
    public var incidentLimitSeconds: Int64 = 1_800
    /// Circuit breakers, cooldown and rate caps of the engine and the approval routes.
    public var guards = RemediationGuards.Settings()
    /// Largest request body accepted.
    public var maxBodyBytes = 16 << 20
    /// Most rows in one request.
    public var maxRows = 100_000
    /// Marks the approval page's session cookie `Secure`: set it when browsers reach the server
    /// through HTTPS (a TLS proxy in front); over plain HTTP to another host a browser would then
    /// never send the cookie back.
    public var secureCookies = false
    /// The hand-off hook (`--exec`): approved actions are run through it in the background.
    public var handoff: HandoffSettings?
    /// This process's name in a cluster of replicas sharing a PostgreSQL database (issue 18): the
    /// services are shared out by leases, and metrics rows go through the database's inbox to
    /// their service's owner. Nil: one process runs the engine for every service.
    public var replica: String?
    /// How long a replica's leases live and how often they are renewed.
    public var leases = LeaseSettings()

    public init(model: String) { self.model = model }

    var approversPath: String? { approvers ?? database.map(Approvers.defaultPath(forDatabase:)) }
    var outboxPath: String? { outbox ?? database.map(Outbox.defaultPath(forDatabase:)) }
}
