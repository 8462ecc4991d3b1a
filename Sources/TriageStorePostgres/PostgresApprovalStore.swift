import Dispatch
import Foundation
import Logging
import Synchronization
import TriageCore
import TriageData
import TriageEngine

/// The PostgreSQL store behind the engine's synchronous `ApprovalStore`: each call runs the
/// `async` `PostgresRecommendationStore` operation in a task and blocks the calling thread until
/// it answers (every operation is bounded: 15 s, then `EngineError.database`).
///
/// **Which threads may call it.** Blocking is safe from a thread that is not one of Swift
/// concurrency's cooperative threads: the main thread (`watch`, the commands) or a thread of
/// its own (`serve` runs its engine on one, `EngineService`'s executor). The task it waits for
/// runs on the cooperative pool and on postgres-nio's event loops, which the blocked thread is
/// not part of, so it always makes progress. Called from a cooperative thread it would hold one
/// of the pool's threads (two on this machine) while waiting for work that needs the pool: with
/// two such callers at once, a deadlock. Nothing in Triage calls it so.
public final class PostgresApprovalStore: ApprovalStore {
    public let store: PostgresRecommendationStore
    public var location: String { store.location }

    /// For a replica (issue 18): the lease each raise is made under, by service. With it every
    /// raise is fenced (`PostgresRecommendationStore.raise(_:under:)`); a service it gives no lease
    /// for is refused with `EngineError.fenced` before any round trip.
    let leaseForRaise: (@Sendable (String) -> Lease?)?

    public init(_ store: PostgresRecommendationStore, leaseForRaise: (@Sendable (String) -> Lease?)? = nil) {
        self.store = store
        self.leaseForRaise = leaseForRaise
    }

    /// Opens (creating or migrating) the store at `url`, blocking: errors name the server
    /// (`PostgresStoreError`: unreachable host and port, refused user, missing database, newer
    /// schema).
    public static func open(_ url: String, logger: Logger = Logger(label: "triage.postgres")) throws(PostgresStoreError)
        -> PostgresApprovalStore {
        let outcome = Blocking.wait { () async -> Result<PostgresRecommendationStore, PostgresStoreError> in
            do throws(PostgresStoreError) { return .success(try await PostgresRecommendationStore.open(url, logger: logger)) } catch { return .failure(error) }
        }
        return PostgresApprovalStore(try outcome.get())
    }

    /// Closes the pool's connections (blocking).
    public func close() {
        let store = self.store
        Blocking.wait { await store.close() }
    }

    func run<T: Sendable>(_ work: @escaping @Sendable (PostgresRecommendationStore) async throws(EngineError) -> T) throws(EngineError) -> T {
        let store = self.store
        return try Blocking.wait { () async -> Result<T, EngineError> in
            do throws(EngineError) { return .success(try await work(store)) } catch { return .failure(error) }
        }.get()
    }

    // MARK: Engine

    public func installGuards(_ settings: RemediationGuards.Settings) throws(EngineError) {
        try run { s throws(EngineError) in try await s.installGuards(settings) }
    }

    public func guardSettings() throws(EngineError) -> RemediationGuards.Settings? {
        try run { s throws(EngineError) in try await s.guardSettings() }
    }

    public func installPolicy(_ policy: RemediationPolicy, source: String, now: Int64) throws(EngineError) {
        try run { s throws(EngineError) in try await s.installPolicy(policy, source: source, now: now) }
    }

    public func policy() throws(EngineError) -> (policy: RemediationPolicy, source: String, outcomesLearned: Int)? {
        try run { s throws(EngineError) in try await s.policy().map { Stored(value: $0) } }?.value
    }

    public func policyRevision() throws(EngineError) -> Int64? {
        try run { s throws(EngineError) in try await s.policyRevision() }
    }

    public func changeStamp() throws(EngineError) -> (lastEventID: Int64, policyRevision: Int64?, guardRevision: Int64) {
        try run { s throws(EngineError) in Stored(value: try await s.changeStamp()) }.value
    }

    public func guardFacts(service: String, now: Int64) throws(EngineError) -> RemediationGuards.Facts {
        try run { s throws(EngineError) in try await s.guardFacts(service: service, now: now) }
    }

    public func decisions(of ids: [String]) throws(EngineError) -> [String: ApprovalQueue.Decision] {
        try run { s throws(EngineError) in try await s.decisions(of: ids) }
    }

    @discardableResult
    public func raise(_ recommendation: Recommendation) throws(EngineError) -> (recommendation: Recommendation, isNew: Bool) {
        guard let leaseForRaise else {
            return try run { s throws(EngineError) in Stored(value: try await s.raise(recommendation)) }.value
        }
        guard let lease = leaseForRaise(recommendation.service) else {
            throw .fenced(service: recommendation.service, reason: "this replica holds no lease for it; nothing was raised")
        }
        return try run { s throws(EngineError) in Stored(value: try await s.raise(recommendation, under: lease)) }.value
    }

    // MARK: Front doors

    public func readPosition(source: String) throws(EngineError) -> ApprovalQueue.ReadPosition? {
        try run { s throws(EngineError) in try await s.readPosition(source: source) }
    }

    public func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64) throws(EngineError) {
        try run { s throws(EngineError) in try await s.saveReadPosition(position, source: source, now: now) }
    }

    public func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64,
                                 beforeCommit: () throws -> Void) throws {
        // `beforeCommit` (fsync or rename the outputs) runs on this thread, not the task's: the
        // transaction suspends on a continuation until this thread has run it, so the closure
        // never leaves the call and file I/O never holds a cooperative thread.
        let store = self.store
        let channel = CallerChannel()
        Task.detached {
            let result: Result<Void, any Error>
            do {
                try await store.saveReadPosition(position, source: source, now: now, beforeCommit: {
                    try await withCheckedThrowingContinuation { continuation in channel.send(.runBeforeCommit(continuation)) }
                })
                result = .success(())
            } catch {
                result = .failure(error)
            }
            channel.send(.finished(result))
        }
        while true {
            switch channel.receive() {
            case .runBeforeCommit(let continuation):
                do {
                    try beforeCommit()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            case .finished(let result):
                return try result.get()
            }
        }
    }

    public func appendEvents(_ events: [(type: String, json: JSONValue)], now: Int64) throws(EngineError) {
        let lines = events.map { EventLine(type: $0.type, json: $0.json) }
        try run { s throws(EngineError) in try await s.appendEvents(lines.map { ($0.type, $0.json) }, now: now) }
    }

    // MARK: Commands

    public func list(status: Recommendation.Status?, now: Int64) throws(EngineError) -> [Recommendation] {
        try run { s throws(EngineError) in try await s.listAll(status: status, now: now) }
    }

    public func recommendation(_ id: String, now: Int64) throws(EngineError) -> Recommendation {
        try run { s throws(EngineError) in try await s.recommendation(id, now: now) }
    }

    @discardableResult
    public func expireOverdue(now: Int64) throws(EngineError) -> Int {
        try run { s throws(EngineError) in try await s.expireOverdue(now: now) }
    }

    public func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                        handOff: Bool, now: Int64) throws(EngineError) -> ApprovalQueue.Approval {
        // With `handOff` the hand-off is queued in the approval's transaction; the dispatcher
        // (`handOff(ids:settings:outbox:)` here, or a `serve` replica's) runs it.
        try run { s throws(EngineError) in
            try await s.approve(id, by: decider, comment: comment, approvers: approvers, outbox: outbox, handOff: handOff, now: now)
        }
    }

    @discardableResult
    public func reject(_ id: String, by decider: Decider, reason: String?, approvers: Approvers,
                       now: Int64) throws(EngineError) -> Recommendation {
        try run { s throws(EngineError) in try await s.reject(id, by: decider, reason: reason, approvers: approvers, now: now) }
    }

    @discardableResult
    public func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                              now: Int64) throws(EngineError) -> (recommendation: Recommendation, learned: Bool) {
        try run { s throws(EngineError) in
            Stored(value: try await s.recordOutcomeLearning(id, result: result, recoverySeconds: recoverySeconds, now: now))
        }.value
    }

    public func breakers(now: Int64) throws(EngineError) -> [ApprovalQueue.BreakerStatus] {
        try run { s throws(EngineError) in try await s.breakers(now: now) }
    }

    public func countsByStatus(now: Int64) throws(EngineError) -> [Recommendation.Status: Int] {
        try run { s throws(EngineError) in try await s.countsByStatus(now: now) }
    }

    public func handoff(_ id: String) throws(EngineError) -> Handoff? {
        try run { s throws(EngineError) in try await s.handoff(id) }
    }

    public func jsonWithHandoff(_ record: Recommendation) throws(EngineError) -> JSONValue {
        try run { s throws(EngineError) in try await s.jsonWithHandoff(record) }
    }

    // MARK: Hand-off by a command

    /// What a command's pass as the dispatcher did.
    public enum DispatchPass: Sendable {
        /// Another process holds the dispatcher lock (a `serve` replica): it writes the outbox
        /// and runs the hand-offs.
        case elsewhere
        /// This process held the lock: `lines` written to the outbox, and each hand-off's end.
        case dispatched(lines: Int, handoffs: [HandoffRunner.Result])
    }

    /// Acts as the dispatcher for one pass (`approvals approve --exec`, `approvals handoff`):
    /// takes the dispatcher lock if it is free, writes the outbox table's undispatched lines to
    /// `outbox` (`OutboxFeed`; none when nil), then runs the hand-offs of `ids` (every unfinished
    /// one when nil) through `settings`, and releases the lock. Blocking: call it from a
    /// command's main thread.
    public func handOff(_ ids: [String]?, settings: HandoffSettings, outbox: Outbox?) throws(EngineError) -> DispatchPass {
        let store = self.store
        let lock = DispatcherLock(store: store)
        // Before the lock: settings out of range are refused before anything is dispatched.
        let runner = try HandoffRunner(store: PostgresHandoffStore(approvals: self, lock: lock), settings: settings)
        let taken = try run { _ throws(EngineError) in
            do throws(ReplicaError) { return try await lock.tryAcquire() } catch { throw error.engineError }
        }
        guard taken else { return .elsewhere }
        defer { Blocking.wait { await lock.release() } }
        var lines = 0
        if let outbox {
            try outbox.checkSeparate(fromDatabase: location, allowlist: nil)
            let feed = OutboxFeed(store: store, lock: lock, outbox: outbox, holder: OutboxFeed.holder(outbox: outbox))
            lines = try run { s throws(EngineError) in
                do {
                    _ = try await feed.adoptUnsentApprovals()
                    return try await feed.drain()
                } catch {
                    throw s.map(error)
                }
            }
        }
        var results = [HandoffRunner.Result]()
        if let ids {
            for id in ids { results.append(try runner.handOff(id)) }
        } else {
            results = try runner.drain()
        }
        return .dispatched(lines: lines, handoffs: results)
    }
}

/// Waits on the calling thread for async work (see `PostgresApprovalStore` for which threads may).
enum Blocking {
    static func wait<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let result = await work()
            box.value.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return box.value.withLock { $0! }
    }

    final class Box<T: Sendable>: Sendable {
        let value = Mutex<T?>(nil)
    }
}

/// A tuple result carried across the task boundary (tuples of Sendable values are not
/// `Sendable` themselves in generic positions).
struct Stored<T>: @unchecked Sendable {
    var value: T
}

/// An event handed to the task: `JSONValue` and `String` are Sendable, the tuple type is not.
struct EventLine: Sendable {
    var type: String
    var json: JSONValue
}

/// Messages from a task to the thread blocked waiting for it: run this on your thread, or done.
final class CallerChannel: Sendable {
    enum Message: Sendable {
        case runBeforeCommit(CheckedContinuation<Void, any Error>)
        case finished(Result<Void, any Error>)
    }

    private let messages = Mutex<[Message]>([])
    private let arrived = DispatchSemaphore(value: 0)

    func send(_ message: Message) {
        messages.withLock { $0.append(message) }
        arrived.signal()
    }

    /// Blocks until a message arrives.
    func receive() -> Message {
        arrived.wait()
        return messages.withLock { $0.removeFirst() }
    }
}
