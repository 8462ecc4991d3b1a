import Foundation
import PostgresNIO
import Synchronization
import TriageEngine

/// What `triage serve` needs of the PostgreSQL store beyond the commands: the approval page's
/// recent decisions and the readiness probe.
extension PostgresRecommendationStore {
    /// The `limit` most recently decided or expired recommendations, newest first, as of `now`
    /// (`ApprovalQueue.recentlyDecided`'s query).
    public func recentlyDecided(limit: Int, now: Int64) async throws(EngineError) -> [Recommendation] {
        guard limit > 0 else { return [] }
        return try await read { connection in
            try await self.fetch(where: "status <> 'pending' OR expires <= $1", binds: { $0.append(now) },
                                 order: "COALESCE(decided_at, expires) DESC, id DESC LIMIT \(Int64(limit))", on: connection)
                .map { $0.asOf(now) }
        }
    }

    /// Whether the server answers `SELECT 1` within `timeout`: nil when it does, else why not
    /// (naming the server). For `/readyz`, which a load balancer polls: bounded by `timeout`
    /// where an operation waits up to `operationTimeout`, and never retried.
    ///
    /// A probe that found no server replaces the pool (at most every `poolRenewal`): the pool
    /// backs its connection attempts off up to a minute apart while the server is down, and
    /// would answer late once it is back (see `replacePool`), keeping the replica out of
    /// rotation for no reason.
    public func probe(timeout: Duration) async -> String? {
        let client = self.client, logger = self.logger
        let answered: Bool? = await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                do {
                    return try await client.withConnection { connection in
                        try await connection.query("SELECT 1", logger: logger).collect().count == 1
                    }
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
        if answered == true { return nil }
        let now = ContinuousClock.now
        let renew = lastPoolRenewal.withLock { last in
            guard last.map({ now - $0 >= Self.poolRenewal }) ?? true else { return false }
            last = now
            return true
        }
        if renew { replacePool() }
        return answered == nil
            ? "PostgreSQL at \(url.endpoint) gave no answer within \(timeout) (down, restarting or unreachable)"
            : "PostgreSQL at \(url.endpoint) refused the probe query"
    }

    /// Shortest time between two pool replacements by failed probes: a fresh pool tries to
    /// connect at once, so a server back up is found within this of its return.
    static let poolRenewal: Duration = .seconds(3)
}
