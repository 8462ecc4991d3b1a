import ArgumentParser
import Glibc
import Dispatch
import Logging
import Synchronization
import TriageData
import TriageEngine
import TriageServer
import TriageStorePostgres

/// `triage serve --model MODEL|BUNDLE [--db DB] …`: the HTTP service (../shared/CLI.md "HTTP").
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve scoring, metrics ingest and approvals over HTTP until SIGTERM or SIGINT.",
        discussion: """
            With a model file (triage fit), POST /v1/score scores feature rows. With a bundle \
            (triage train), it scores raw metric rows; with --db the bundle's engine also takes \
            POST /v1/metrics, raises recommendations into the queue, and the approval routes, the \
            event stream and the approval page at / work on that queue. Without --token-file the \
            server is read-only. With --exec each approved action is also run through CMD in the \
            background (hand-offs a previous run left unfinished are resumed at start). See \
            openapi/triage.yaml for every route.
            """)

    @Option(help: "Model file from 'triage fit' or bundle folder from 'triage train'.") var model: String
    @Option(help: "Approval queue database, with a bundle: an SQLite file or postgres://USER[:PASS]@HOST[:PORT]/DB (password also from PGPASSWORD).") var db: String?
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed at start).") var port = 8080
    @Option(help: "Bearer tokens, one 'TOKEN NAME' per line; must not be readable by group or others.")
    var tokenFile: String?
    @Option(help: "Approver allowlist (default: approvers.txt beside --db).") var approvers: String?
    @Option(help: "Where approved actions are handed off (default: outbox.jsonl beside --db).") var outbox: String?
    @Option(help: "How long a recommendation waits for a decision: 90s, 30m, 2h, 1d or seconds.")
    var ttl = TimeToLive(seconds: 1_800)
    @Option(help: "Per-service targets and replica bounds of the HPA scaling rule (CSV: service,cpu,request_rate,min_replicas,max_replicas; default: from the bundle's baselines).")
    var scalingTargets: String?
    @Option(help: "How long (data time) an incident may stay open before it becomes critical: 30m, 2h or seconds (1m–7d).")
    var incidentLimit = TimeToLive(seconds: 1_800)
    @Option(help: "Largest request body: bytes, or with KiB, MiB (e.g. 16MiB).") var maxBody = ByteSize(bytes: 16 << 20)
    @Option(help: "Log level: trace, debug, info (one line per request), notice, warning, error.")
    var logLevel = "info"
    @Flag(help: "Mark the approval page's session cookie Secure (when browsers reach the server through HTTPS).")
    var secureCookies = false
    @Option(help: "Run as replica NAME of a cluster sharing the services of one PostgreSQL --db (each replica needs a name of its own).")
    var replica: String?
    @Option(help: "With --replica: seconds a service's lease lives without renewal (failover takes about this plus one renewal).")
    var leaseTtl = 10.0
    @Option(help: "With --replica: seconds between lease renewals (at most half of --lease-ttl).")
    var leaseRenew = 2.0
    @OptionGroup var handoff: HandoffOptions
    @OptionGroup(title: "Remediation guards (with a bundle and --db)") var guards: GuardOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0–65535, got \(port)") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got \(logLevel)")
        }
        guard (60...604_800).contains(incidentLimit.seconds) else {
            throw ValidationError("--incident-limit must be 1m–7d, got \(incidentLimit)")
        }
        if db == nil && scalingTargets != nil { throw ValidationError("--scaling-targets needs --db: only the engine scales services") }
        if db == nil && (approvers != nil || outbox != nil) {
            throw ValidationError("--approvers and --outbox need --db: they belong to the approval queue")
        }
        if let replica {
            guard let db, DatabaseAddress.isPostgres(db) else {
                throw ValidationError("--replica needs a PostgreSQL --db (postgres://…): replicas share their services through it")
            }
            guard !replica.isEmpty, replica.utf8.count <= 128,
                  replica.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
                throw ValidationError("--replica must be 1–128 printable ASCII characters without spaces, got '\(replica)'")
            }
        }
        guard leaseTtl.isFinite, leaseRenew.isFinite, (0.1...3_600).contains(leaseRenew), leaseTtl >= 2 * leaseRenew, leaseTtl <= 7_200 else {
            throw ValidationError("--lease-ttl must be at least twice --lease-renew (0.1–3600 s), got \(leaseTtl) and \(leaseRenew)")
        }
        if db == nil && handoff.exec != nil {
            throw ValidationError("--exec needs --db: it hands off actions approved in the approval queue")
        }
    }

    func run() throws {
        var files = FileRoles()
        files.inputFolder("--model", model)
        files.input("--token-file", tokenFile)
        files.input("--approvers", approvers)
        files.input("--scaling-targets", scalingTargets)
        if let db, !DatabaseAddress.isPostgres(db) { files.output("--db", db) }
        files.output("--outbox", outbox)
        try files.check()
        var settings = ServerConfiguration(model: model)
        settings.database = db
        settings.host = host
        settings.port = port
        settings.tokenFile = tokenFile
        settings.approvers = approvers
        settings.outbox = outbox
        settings.ttlSeconds = ttl.seconds
        settings.scalingTargets = scalingTargets
        settings.incidentLimitSeconds = incidentLimit.seconds
        settings.maxBodyBytes = maxBody.bytes
        settings.secureCookies = secureCookies
        settings.handoff = handoff.settings
        settings.guards = guards.settings
        settings.replica = replica
        settings.leases = LeaseSettings(renewInterval: .milliseconds(Int64(leaseRenew * 1_000)), ttl: .milliseconds(Int64(leaseTtl * 1_000)))
        var logger = Logger(label: "triage.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel)!
        let server: TriageServer
        do {
            server = try TriageServer(configuration: settings, logger: logger)
        } catch let error as TokenFile.Failure {
            throw CLIFailure.failed(error.description)
        } catch let error as ServerSetupError {
            throw CLIFailure.failed(error.description)
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await server.run() } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw CLIFailure.failed("serve: \(error)") }
    }

    /// The error the server stopped with, handed from its task to the command.
    final class Outcome: Sendable {
        private let stored = Mutex<(any Error)?>(nil)
        var error: (any Error)? { stored.withLock { $0 } }
        func set(_ error: any Error) { stored.withLock { $0 = error } }
    }
}

/// `--max-body`: bytes, optionally with KiB or MiB.
struct ByteSize: ExpressibleByArgument {
    let bytes: Int
    init(bytes: Int) { self.bytes = bytes }
    init?(argument: String) {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("K", 1 << 10), ("M", 1 << 20), ("B", 1)]
        var text = Substring(argument), unit = 1
        for (suffix, size) in units where text.hasSuffix(suffix) {
            unit = size
            text = text.dropLast(suffix.count)
            break
        }
        // At most 1 GiB: the body is held in memory.
        guard let n = Int(text), n > 0, n <= (1 << 30) / unit else { return nil }
        bytes = n * unit
    }
}
