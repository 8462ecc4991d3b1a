import Foundation
import Logging
import ServiceLifecycle
import TriageEngine
import TriageStorePostgres

/// What `serve` runs beside its routes on PostgreSQL: the outbox dispatcher (one across
/// replicas, `OutboxDispatcher`: the outbox file and the `--exec` hook) and the listener the
/// event streams wait on (`EventNotifier`). Both are library objects; this is the service that
/// starts them with the server and stops them after it (first in the service group, so shut
/// down last: approvals still in flight are dispatched).
final class PostgresServing: Service, Sendable {
    let dispatcher: OutboxDispatcher
    let events: EventNotifier

    init(store: PostgresRecommendationStore, outbox: Outbox, handoff: HandoffSettings?, logger: Logger) throws {
        var settings = OutboxDispatcher.Settings(outbox: outbox, handoff: handoff)
        settings.poll = .seconds(1)
        do {
            dispatcher = try OutboxDispatcher(store: store, settings: settings, report: TriageServer.handoffReport(logger: logger))
        } catch {
            throw ServerSetupError(error.description)
        }
        events = EventNotifier(store: store)
    }

    func run() async throws {
        // Hand-offs in flight get 2 s, as `stopHandoffs` gives SQLite's.
        await cancelWhenGracefulShutdown { await self.dispatcher.run(handoffGrace: .seconds(2)) }
        await events.close()
    }
}

extension TriageServer {
    /// The dispatcher and event listener of a PostgreSQL store; nil on SQLite and without an
    /// engine (no `--db`).
    static func postgresServing(_ configuration: ServerConfiguration, served: ServedModel, logger: Logger) throws -> PostgresServing? {
        guard let store = served.postgres, let outbox = configuration.outboxPath else { return nil }
        return try PostgresServing(store: store, outbox: Outbox(path: outbox), handoff: configuration.handoff, logger: logger)
    }
}
