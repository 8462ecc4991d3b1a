import Foundation
import Logging
import PostgresNIO
import Synchronization
import TriageEngine

/// How long a lease lives and how often it is renewed.
///
/// Defaults (issue 18): renewed every 2 s, expiring 10 s after the last renewal, so a replica
/// survives four missed renewals (a GC-free but busy 2-core machine, a database failover of a
/// few seconds) and a dead replica's services move within TTL + one renewal ≈ 12 s (< 15 s).
public struct LeaseSettings: Sendable, Equatable {
    public var renewInterval: Duration
    public var ttl: Duration

    public init(renewInterval: Duration = .seconds(2), ttl: Duration = .seconds(10)) {
        self.renewInterval = renewInterval
        self.ttl = ttl
    }

    /// A lease must outlive two renewals, or one late round loses it.
    func validate() throws(ReplicaError) {
        guard renewInterval > .zero else { throw .invalidSettings("the renewal interval must be positive, got \(renewInterval)") }
        guard ttl >= renewInterval * 2 else {
            throw .invalidSettings("the lease time (\(ttl)) must be at least twice the renewal interval (\(renewInterval))")
        }
    }

    /// How recently a replica must have heartbeated to count in the fair share: two renewals.
    var activeMilliseconds: Int64 {
        let (seconds, attoseconds) = (renewInterval * 2).components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    var ttlMilliseconds: Int64 {
        let (seconds, attoseconds) = ttl.components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}

/// One service's lease as its owner holds it: `epoch` is the fencing token every owner write
/// carries (see `FencedWrites`).
public struct Lease: Sendable, Hashable, CustomStringConvertible {
    public let service: String
    public let replica: String
    public let epoch: Int64

    public init(service: String, replica: String, epoch: Int64) {
        self.service = service
        self.replica = replica
        self.epoch = epoch
    }

    public var description: String { "\(service)@\(epoch) (\(replica))" }
}

/// A service that came to, or went from, this replica.
public enum LeaseChange: Sendable, Hashable {
    case gained(Lease)
    case lost(Lease)
}

/// What one round did.
public struct LeaseRound: Sendable, Equatable {
    public var gained: [Lease]
    public var lost: [Lease]
    /// Every lease held after the round, by service.
    public var held: [Lease]
    public var liveReplicas: Int
    /// ⌈services / live replicas⌉: the most a replica claims.
    public var fairShare: Int
}

/// Keeps one replica's registration and service leases in PostgreSQL (issue 18).
///
/// **Model.** Each replica registers its name (a heartbeat row; a second live process with the
/// same name is refused with `ReplicaError.nameInUse`). Each service has one lease row (owner,
/// epoch, expiry). Every `renewInterval` a replica runs one round, one server function in one
/// transaction (`triage_lease_round_v1`): heartbeat; renew its unexpired leases; fair share =
/// ⌈services / live replicas⌉; release its surplus above it (free at once, for a replica that
/// just joined), or claim expired or free leases up to it with `SELECT … FOR UPDATE SKIP LOCKED`
/// (replicas claiming at once never wait on each other nor take the same lease), each claim
/// incrementing the service's epoch. Expiry is the database's clock (`clock_timestamp()`).
///
/// **Fencing.** A lease counts locally until its expiry as the database gave it, measured from
/// when the round was *sent* on this process's monotonic clock, so the local view ends before
/// the server's; `lease(for:)` returns nil after that. The server enforces it regardless: every
/// owner write names (service, epoch) and is refused unless that epoch is current and unexpired
/// (`FencedWrites`). A paused replica therefore cannot write once its lease ran out, and when it
/// resumes its round finds its registration lapsed, drops every lease and re-joins under a new
/// incarnation, claiming again with new epochs.
///
/// **Use.** `join`, then `run()` in a task (cancel it to stop; `leave()` frees the leases at
/// once for the survivors), and consume `changes` (`.gained` → load the service's checkpoint and
/// start; `.lost` → stop at once, writes will be refused anyway). Tests call `round()` directly.
public final class LeaseKeeper: Sendable {
    public let replica: String
    public let settings: LeaseSettings
    let store: PostgresRecommendationStore
    private let state: Mutex<State>
    /// Gains and losses, in the order rounds saw them (one consumer).
    public let changes: AsyncStream<LeaseChange>
    private let changesContinuation: AsyncStream<LeaseChange>.Continuation
    private let clock = ContinuousClock()

    private struct State {
        var incarnation: String
        var held: [String: (lease: Lease, deadline: ContinuousClock.Instant)] = [:]
    }

    private init(store: PostgresRecommendationStore, replica: String, settings: LeaseSettings, incarnation: String) {
        self.store = store
        self.replica = replica
        self.settings = settings
        self.state = Mutex(State(incarnation: incarnation))
        (changes, changesContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    deinit { changesContinuation.finish() }

    /// Registers `replica` with the store's database; refuses a name a live process holds.
    public static func join(store: PostgresRecommendationStore, replica: String,
                            settings: LeaseSettings = LeaseSettings()) async throws(ReplicaError) -> LeaseKeeper {
        try settings.validate()
        guard !replica.isEmpty else { throw .invalidSettings("a replica needs a name") }
        let keeper = LeaseKeeper(store: store, replica: replica, settings: settings, incarnation: newIncarnation())
        try await keeper.register()
        return keeper
    }

    private static func newIncarnation() -> String { UUID().uuidString.lowercased() }

    private func register() async throws(ReplicaError) {
        let incarnation = state.withLock { $0.incarnation }
        let (name, ttl, location) = (replica, settings.ttlMilliseconds, store.location)
        let answer = try await query { connection in
            try await self.store.rows("""
                SELECT joined, expires_in_ms FROM \(unescaped: ReplicaSchema.joinFunction)(\(name), \(incarnation), \(ttl))
                """, on: connection).first.map { (try $0["joined"].decode(Bool.self), try $0["expires_in_ms"].decode(Int64?.self)) }
        }
        guard let answer, answer.0 else {
            throw .nameInUse(replica: name, location: location, expiresInMilliseconds: answer?.1 ?? 0)
        }
    }

    /// Adds lease rows for `services` (free) where missing; the inbox adds one for a service it
    /// sees first, so this is for services known before their first row (a model's list).
    public func register(services: [String]) async throws(ReplicaError) {
        guard !services.isEmpty else { return }
        try await query { connection in
            try await connection.query("""
                INSERT INTO service_lease (service, epoch, expires_at) SELECT s, 0, '-infinity' FROM unnest(\(services)::TEXT[]) AS s
                ON CONFLICT (service) DO NOTHING
                """, logger: self.store.logger).collect()
        }
    }

    /// The lease of `service` while it lasts (nil once past its local deadline, even before a
    /// round reports it lost).
    public func lease(for service: String) -> Lease? {
        let now = clock.now
        return state.withLock { state in
            guard let held = state.held[service], held.deadline > now else { return nil }
            return held.lease
        }
    }

    /// The leases held now (unexpired locally), by service.
    public var leases: [Lease] {
        let now = clock.now
        return state.withLock { $0.held.values.filter { $0.deadline > now }.map(\.lease) }.sorted { $0.service < $1.service }
    }

    /// One round (see the type's comment); reports and returns what changed. A round that finds
    /// this replica's registration lapsed reports every lease lost, re-joins under a new
    /// incarnation (or throws `registrationLost` if the name was taken meanwhile) and claims again.
    @discardableResult
    public func round() async throws(ReplicaError) -> LeaseRound {
        var lostBeforeRejoin = [Lease]()
        for attempt in 0..<2 {
            let sent = clock.now
            let incarnation = state.withLock { $0.incarnation }
            let (name, ttl, active) = (replica, settings.ttlMilliseconds, settings.activeMilliseconds)
            let rows = try await query { connection in
                try await self.store.rows("""
                    SELECT kind, service, epoch, expires_in_ms, live_replicas, fair_share
                    FROM \(unescaped: ReplicaSchema.roundFunction)(\(name), \(incarnation), \(ttl), \(active))
                    """, on: connection).map { row in
                    (kind: try row["kind"].decode(String.self), service: try row["service"].decode(String?.self),
                     epoch: try row["epoch"].decode(Int64?.self), expiresIn: try row["expires_in_ms"].decode(Int64?.self),
                     live: try row["live_replicas"].decode(Int64.self), fair: try row["fair_share"].decode(Int64.self))
                }
            }
            if rows.first?.kind == "lost" {
                guard attempt == 0 else { throw .registrationLost(replica: replica) }
                lostBeforeRejoin = state.withLock { state in
                    defer { state.held = [:]; state.incarnation = Self.newIncarnation() }
                    return state.held.values.map(\.lease)
                }.sorted { $0.service < $1.service }
                for lease in lostBeforeRejoin { changesContinuation.yield(.lost(lease)) }
                do {
                    try await register()
                } catch .nameInUse {
                    throw .registrationLost(replica: replica)
                }
                continue
            }
            var now = [String: (lease: Lease, deadline: ContinuousClock.Instant)]()
            for row in rows where row.kind == "held" {
                guard let service = row.service, let epoch = row.epoch, let expiresIn = row.expiresIn else { continue }
                now[service] = (Lease(service: service, replica: replica, epoch: epoch), sent + .milliseconds(expiresIn))
            }
            let (gained, lost) = state.withLock { state in
                let before = state.held
                state.held = now
                let gained = now.values.map(\.lease).filter { before[$0.service]?.lease != $0 }
                let lost = before.values.map(\.lease).filter { now[$0.service]?.lease != $0 }
                return (gained.sorted { $0.service < $1.service }, lost.sorted { $0.service < $1.service })
            }
            for lease in lost { changesContinuation.yield(.lost(lease)) }
            for lease in gained { changesContinuation.yield(.gained(lease)) }
            let replicaRow = rows.first { $0.kind == "replica" }
            return LeaseRound(gained: gained, lost: lostBeforeRejoin + lost, held: now.values.map(\.lease).sorted { $0.service < $1.service },
                              liveReplicas: Int(replicaRow?.live ?? 0), fairShare: Int(replicaRow?.fair ?? 0))
        }
        throw .registrationLost(replica: replica)
    }

    /// Runs a round every `renewInterval` until the task is cancelled. A round the database did
    /// not answer is logged and retried at the next tick; leases whose local deadline passed
    /// meanwhile are reported lost. Throws only `registrationLost` (the name was taken while this
    /// replica was away: it must stop).
    public func run() async throws(ReplicaError) {
        while !Task.isCancelled {
            do {
                try await round()
            } catch .registrationLost {
                throw .registrationLost(replica: replica)
            } catch {
                store.logger.warning("lease round of replica '\(replica)' failed: \(error)")
                dropExpired()
            }
            do { try await Task.sleep(for: settings.renewInterval, clock: clock) } catch { return }
        }
    }

    /// Reports the leases whose local deadline passed as lost (the database was unreachable).
    private func dropExpired() {
        let now = clock.now
        let expired = state.withLock { state in
            let expired = state.held.values.filter { $0.deadline <= now }.map(\.lease)
            for lease in expired { state.held[lease.service] = nil }
            return expired
        }
        for lease in expired.sorted(by: { $0.service < $1.service }) { changesContinuation.yield(.lost(lease)) }
    }

    /// Frees this replica's leases at once (the survivors claim them at their next round) and
    /// removes its registration; reports them lost.
    public func leave() async throws(ReplicaError) {
        let (name, incarnation) = (replica, state.withLock { $0.incarnation })
        try await query { connection in
            _ = try await connection.query("SELECT \(unescaped: ReplicaSchema.leaveFunction)(\(name), \(incarnation))", logger: self.store.logger).collect()
        }
        let released = state.withLock { state in
            defer { state.held = [:] }
            return state.held.values.map(\.lease)
        }
        for lease in released.sorted(by: { $0.service < $1.service }) { changesContinuation.yield(.lost(lease)) }
        changesContinuation.finish()
    }

    /// One statement on the store's pool, retried as the store's reads are (every statement here
    /// may run twice: a round reports what it holds, whatever ran before), but given up after
    /// the lease time (at least 5 s) rather than the store's 15 s: a round that cannot finish
    /// within a lease has lost its leases anyway, and failing it sooner lets the next round, on
    /// a fresh pool, re-claim them as soon as the server is back (a round caught by a server
    /// restart used to wait the whole 15 s).
    @discardableResult
    func query<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(ReplicaError) -> T {
        do {
            return try await store.read(within: max(settings.ttl, .seconds(5)), body)
        } catch {
            throw .store(error)
        }
    }
}
