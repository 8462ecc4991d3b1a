import TriageEngine

extension TriageServer {
    /// Longest approval comment or rejection reason, in UTF-8 bytes: a paragraph or two, and a
    /// bound on what one request can add to the queue's rows.
    static let maxCommentBytes = 4_096

    /// Approves or rejects `id` as `name`: the one path for the JSON API and the approval page.
    ///
    /// The store's `approve/reject` (either database) check `name` against `approvers`, refuse a
    /// decided or expired recommendation, and (approval) write the outbox line; errors come back
    /// with the HTTP status they deserve (`TriageServer.map`).
    func recordDecision(_ id: String, approve: Bool, by name: String, comment: String?,
                        approvers: Approvers) async throws -> Recommendation {
        let store = try store()
        try await served.requireWritable()
        guard let outboxPath = configuration.outboxPath else {
            throw APIError(.notFound, "this server has no outbox (it needs a bundle and an approval queue database)")
        }
        do {
            if approve {
                switch try await store.approve(id, by: .http(tokenName: name), comment: comment, approvers: approvers,
                                               outbox: Outbox(path: outboxPath),
                                               handOff: handoffs != nil || postgresServing?.dispatcher.handoffs != nil, now: Self.now) {
                case .approved(let r):
                    metrics.decision("approved")
                    // After the commit, on a thread of its own: the answer does not wait for it.
                    // (On PostgreSQL the dispatcher starts it, here or on the replica holding its lock.)
                    handoffs?.start(r.id)
                    return r
                case .alreadyApproved(let r): return r
                }
            }
            let r = try await store.reject(id, by: .http(tokenName: name), reason: comment, approvers: approvers, now: Self.now)
            metrics.decision("rejected")
            return r
        } catch {
            throw Self.map(error)
        }
    }
}
