import Foundation
import Logging
import Synchronization
import TriageCore
import TriageData
import TriageEngine
import TriageStorePostgres

/// The remediation engine of one replica of a cluster (`serve --replica NAME`, issue 18): it runs
/// the engine for the services this replica holds a lease on, fed from the PostgreSQL metrics
/// inbox that every replica appends to.
///
/// **The loop.** `LeaseKeeper` renews and claims leases every 2 s. A gained service's state is
/// read from its checkpoint in PostgreSQL (the engine state of that one service, the inbox
/// position) and put into the engine; a lost one is forgotten. Appends notify the service's
/// channel; the owner then reads the service's inbox rows after its position, runs them through
/// the engine in order, and saves the new checkpoint, consuming those rows, in one fenced
/// transaction that also journals the rows' health changes. Each second (and after each lease
/// change) it also looks for rows a missed notification left. One loop does all of this, so one
/// service is never drained twice at once.
///
/// **Exactly once.** A row is consumed only with the checkpoint that includes its effect, under
/// the lease epoch it was processed with; a raise for it is fenced by the same epoch (the database
/// refuses it once another replica took the lease) and is idempotent per (service, data time), so
/// a new owner that replays rows whose checkpoint was never saved finds their recommendations
/// instead of raising them twice. A replica paused past its lease can therefore neither raise nor
/// consume: when it resumes, its writes are refused (`fenced`), it forgets those services, and
/// its lease rounds re-join it.
///
/// **Its own thread.** Like `EngineService`, the actor runs on a `ThreadExecutor`: the engine
/// calls its store synchronously, and the PostgreSQL store blocks the calling thread.
public actor ReplicaEngine {
    public nonisolated let replica: String
    public nonisolated let detectors: BundleDetectors
    public nonisolated let store: PostgresRecommendationStore
    private nonisolated let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let engine: RemediationEngine
    let leases: LeaseBook
    let settings: LeaseSettings
    let fenced: FencedWrites
    let inbox: MetricsInbox
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// The checkpoint last saved (or read at the gain) of each service processed here.
    var owned: [String: ServiceCheckpoint] = [:]
    var keeper: LeaseKeeper?
    var tasks: [Task<Void, Never>] = []
    /// Services with rows and the once-a-second look, waiting for the loop; `doorbell` wakes it.
    nonisolated let mailbox = Mutex(Mailbox())
    nonisolated let doorbell: AsyncStream<Void>
    nonisolated let doorbellContinuation: AsyncStream<Void>.Continuation
    /// Why this replica stopped working (its name was taken while it was away), for `/readyz`.
    public nonisolated let failure = Mutex<String?>(nil)
    /// Counters since start.
    public private(set) var totals = ReplicaTotals()

    struct Mailbox: Sendable {
        var services: Set<String> = []
        var lookForRows = false
    }

    /// Rows read from the inbox per round trip (entries: one per request and service).
    static let entriesPerRead = 200

    /// Builds the engine of `setup` (whose store must be PostgreSQL) for replica `replica`; the
    /// engine's raises carry this replica's leases. Nothing is claimed until `start()`.
    public init(setup: EngineSetup, replica: String, leaseSettings: LeaseSettings = LeaseSettings(), logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws {
        guard let postgres = setup.store as? PostgresApprovalStore else {
            throw EngineError.invalid("replicas share a PostgreSQL database: give a postgres:// database")
        }
        let leases = LeaseBook()
        let fencing = PostgresApprovalStore(postgres.store, leaseForRaise: { leases.lease(for: $0) })
        self.replica = replica
        detectors = setup.detectors
        store = postgres.store
        executor = ThreadExecutor(name: "triage-replica")
        engine = try RemediationEngine(detectors: setup.detectors, policy: setup.policy, policySource: setup.policySource,
                                       queue: fencing, settings: setup.settings, now: clock())
        self.leases = leases
        settings = leaseSettings
        fenced = FencedWrites(store: postgres.store)
        inbox = MetricsInbox(store: postgres.store)
        self.clock = clock
        self.logger = logger
        (doorbell, doorbellContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Joins the cluster (refused with `ReplicaError.nameInUse` while a live process holds the
    /// name), registers the bundle's services, and starts the lease rounds, the inbox listener and
    /// the loop. Returns once joined: services come with the first rounds.
    public func start() async throws(ReplicaError) {
        let keeper = try await LeaseKeeper.join(store: store, replica: replica, settings: settings)
        self.keeper = keeper
        try await keeper.register(services: detectors.baselines.keys.sorted())
        let logger = self.logger, replica = self.replica
        tasks.append(Task { [weak self] in
            do { try await keeper.run() } catch {
                logger.error("replica '\(replica)' stops processing: \(error)")
                self?.failure.withLock { $0 = "replica '\(replica)' stopped: \(error)" }
            }
        })
        tasks.append(Task { [weak self] in
            for await _ in keeper.changes {
                guard let self else { return }
                self.post { _ in }
            }
        })
        let inbox = self.inbox
        tasks.append(Task { [weak self] in
            // Notifications only wake the loop sooner: a listener that cannot start or ends
            // leaves the once-a-second look, so it is retried, not fatal.
            while !Task.isCancelled {
                if let listener = try? await inbox.listen() {
                    for await service in listener.services {
                        guard let self else { await listener.close(); return }
                        self.post { $0.services.insert(service) }
                    }
                    await listener.close()
                }
                try? await Task.sleep(for: .seconds(1))
            }
        })
        tasks.append(Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self else { return }
                self.post { $0.lookForRows = true }
            }
        })
        tasks.append(Task { [weak self] in
            guard let bell = self?.doorbell else { return }
            for await _ in bell {
                guard let self else { return }
                await self.work()
            }
        })
    }

    nonisolated func post(_ change: @Sendable (inout Mailbox) -> Void) {
        mailbox.withLock { change(&$0) }
        doorbellContinuation.yield()
    }

    /// One pass of the loop: first the services to run are made those the keeper holds now
    /// (a gained one read from its checkpoint, a lost one forgotten; a gain that failed is
    /// retried here at the next pass, since the keeper keeps renewing its lease), then the
    /// services with rows are drained.
    func work() async {
        // Lease changes only wake the loop: what counts is what the keeper holds now.
        let (notified, look) = mailbox.withLock { box in
            defer { box = Mailbox() }
            return (box.services, box.lookForRows)
        }
        let held = Dictionary((keeper?.leases ?? []).map { ($0.service, $0) }, uniquingKeysWith: { a, _ in a })
        for service in owned.keys.sorted() where held[service] != leases.lease(for: service) {
            lose(service, why: held[service] == nil ? "its lease was lost or ran out" : "its lease was taken again under a new epoch")
        }
        var gained = false
        for (service, lease) in held.sorted(by: { $0.key < $1.key }) where owned[service] == nil {
            await gain(lease)
            gained = true
        }
        var services = notified.filter { owned[$0] != nil }
        if look || gained {
            do {
                services.formUnion(try await inbox.servicesWithPendingRows(among: owned.keys.sorted()))
            } catch {
                logger.warning("replica '\(replica)' cannot look for inbox rows: \(error)")
            }
        }
        for service in services.sorted() { await drain(service) }
    }

    /// Takes `service` on under `lease`: its state as last checkpointed, by whichever replica.
    func gain(_ lease: Lease) async {
        do {
            let checkpoint = try await fenced.checkpoint(for: lease.service)
            try engine.restore(service: lease.service, from: checkpoint.state)
            owned[lease.service] = checkpoint
            leases.set(lease)
            totals.gained += 1
            logger.notice("replica '\(replica)' took \(lease) at inbox position \(checkpoint.inboxPosition)")
        } catch {
            // Tried again at the next pass (within a second) while the lease is held.
            logger.error("replica '\(replica)' cannot take \(lease) yet: \(error)")
            engine.forget(service: lease.service)
        }
    }

    func lose(_ service: String, why: String) {
        guard owned.removeValue(forKey: service) != nil else { return }
        leases.remove(service)
        engine.forget(service: service)
        totals.lost += 1
        logger.notice("replica '\(replica)' dropped \(service): \(why)")
    }

    /// Processes `service`'s inbox rows after its checkpoint, in reads of `entriesPerRead`
    /// entries, saving the checkpoint after each.
    func drain(_ service: String) async {
        while let lease = leases.lease(for: service), var checkpoint = owned[service] {
            // The keeper's view ends before the database's: past it, a save would be refused.
            // The next pass drops it, or takes it again from its checkpoint if renewed.
            guard let held = keeper?.lease(for: service), held == lease else { return }
            do {
                let entries = try await inbox.pending(service: service, after: checkpoint.inboxPosition, limit: Self.entriesPerRead)
                guard !entries.isEmpty else { return }
                // The entries up to the first that cannot be read; that one alone is consumed by
                // the next save with an event saying why, so one damaged entry (another
                // version's, say) cannot stop its service for good.
                var rows: [MetricRow] = []
                var last = entries[0]
                var journal: [(type: String, body: String)] = []
                for entry in entries {
                    do {
                        let decoded = try InboxRowsCodec.decode(entry.body, service: service, entry: entry.seq)
                        rows += decoded
                        last = entry
                    } catch {
                        if rows.isEmpty {
                            last = entry
                            journal.append(("inbox_refused", JSONValue.object([
                                "service": .string(service), "entry": .integer(Int(entry.seq)),
                                "reason": .string("\(error)")]).serialized()))
                            logger.error("replica '\(replica)' skips inbox entry \(entry.seq) of \(service): \(error)")
                        }
                        break
                    }
                }
                let now = clock()
                let batch = rows.map { ($0.service, $0.time, $0.values) }
                let events = try engine.process(batch: batch, scored: try RemediationEngine.score(batch, detectors), now: now,
                                                scoreEvents: false)
                var raised = 0
                for event in events.joined() {
                    switch event {
                    case .state: journal.append((event.type, event.json.serialized()))
                    case .recommendation: raised += 1
                    case .score, .unknownService: break
                    }
                }
                checkpoint.state = try engine.checkpoint(service: service)
                checkpoint.openIncident = engine.openIncidents[service].map(Timestamp.iso)
                checkpoint.inboxPosition = last.seq
                try await fenced.saveCheckpoint(&checkpoint, under: lease, events: journal, now: now)
                owned[service] = checkpoint
                totals.rows += rows.count
                totals.recommendations += raised
                totals.stateChanges += journal.count
                if entries.count < Self.entriesPerRead && last == entries.last { return }
            } catch {
                if Self.isFencing(error) {
                    totals.fenced += 1
                    lose(service, why: "fenced: \(error)")
                    return
                }
                // The rows stay in the inbox; the engine goes back to the saved state, and the
                // next pass (within a second) tries again.
                logger.warning("replica '\(replica)' could not process \(service): \(error)")
                do { try engine.restore(service: service, from: owned[service]?.state) } catch {
                    lose(service, why: "its saved state cannot be restored: \(error)")
                }
                return
            }
        }
    }

    static func isFencing(_ error: any Error) -> Bool {
        switch error {
        case EngineError.fenced: return true
        case ReplicaError.fenced, ReplicaError.checkpointMoved: return true
        case ReplicaError.store(let inner): return isFencing(inner)
        default: return false
        }
    }

    /// The services this replica processes, by name.
    public func services() -> [ServiceStatus] { engine.serviceStatuses }

    /// The leases this replica holds now.
    public var heldLeases: [Lease] { leases.all }

    /// Stops the loop and hands every service back at once (the survivors claim them at their
    /// next round instead of waiting for the leases to expire). Rows already processed are
    /// checkpointed: each drain saves before it returns.
    public func stop() async {
        for task in tasks { task.cancel() }
        tasks = []
        doorbellContinuation.finish()
        if let keeper {
            do { try await keeper.leave() } catch { logger.warning("replica '\(replica)' could not leave cleanly: \(error)") }
        }
        for service in owned.keys.sorted() { lose(service, why: "the replica is stopping") }
    }
}

/// What a replica did since it started.
public struct ReplicaTotals: Sendable, Equatable {
    public var rows = 0
    public var recommendations = 0
    public var stateChanges = 0
    public var gained = 0
    public var lost = 0
    /// Writes the database refused because another replica had taken the service.
    public var fenced = 0
}

/// The lease each owned service is processed under, read by the engine's store at each raise
/// (from the replica's thread) and written by the replica's loop.
final class LeaseBook: Sendable {
    private let leases = Mutex<[String: Lease]>([:])

    func lease(for service: String) -> Lease? { leases.withLock { $0[service] } }
    func set(_ lease: Lease) { leases.withLock { $0[lease.service] = lease } }
    func remove(_ service: String) { _ = leases.withLock { $0.removeValue(forKey: service) } }
    var all: [Lease] { leases.withLock { $0.values.sorted { $0.service < $1.service } } }
}
