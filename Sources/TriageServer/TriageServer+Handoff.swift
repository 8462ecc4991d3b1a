import Foundation
import Logging
import TriageEngine

extension TriageServer {
    /// The background hand-off runner of `--exec`, logging each hand-off's end; nil without a
    /// hook, and on PostgreSQL, where the outbox dispatcher runs the hook (`PostgresServing`). A
    /// hook needs the approval queue (a bundle and `--db`).
    static func handoffWorkers(_ configuration: ServerConfiguration, served: ServedModel,
                               logger: Logger) throws -> HandoffWorkers? {
        guard let settings = configuration.handoff, served.postgres == nil else { return nil }
        guard let queue = served.queue else {
            throw ServerSetupError("the hand-off hook runs approved actions: it needs a bundle and an approval queue database")
        }
        let runner: HandoffRunner
        do { runner = try HandoffRunner(queue: queue, settings: settings) } catch { throw ServerSetupError(error.description) }
        return HandoffWorkers(runner: runner, report: handoffReport(logger: logger))
    }

    /// Logs each hand-off's end (both stores).
    static func handoffReport(logger: Logger) -> @Sendable (Result<HandoffRunner.Result, EngineError>, String) -> Void {
        { result, id in
            switch result {
            case .success(.succeeded(let handoff)):
                logger.info("hand-off succeeded", metadata: ["id": .string(id), "attempts": .stringConvertible(handoff.attempts.count)])
            case .success(.failed(let handoff)):
                logger.warning("hand-off failed; recorded as a failed outcome",
                               metadata: ["id": .string(id), "last": .string(handoff.attempts.last?.summary ?? "")])
            case .success(.interrupted):
                logger.notice("hand-off stopped before a result; the next start retries it with the same key", metadata: ["id": .string(id)])
            case .success(.busy):
                logger.info("hand-off runs in another process", metadata: ["id": .string(id)])
            case .success(.notQueued):
                break
            case .failure(let error):
                logger.error("hand-off could not run", metadata: ["id": .string(id), "error": .string(error.description)])
            }
        }
    }

    /// At shutdown: hand-offs in flight get 2 s to finish; the rest are stopped and stay
    /// recorded as started, for the next start (2 s, so that with the 8 s drain of requests a
    /// stop stays near the 10 s a supervisor usually grants). Waits on a thread of its own.
    func stopHandoffs() async {
        guard let handoffs else { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                handoffs.shutdown(grace: .seconds(2))
                done.resume()
            }.start()
        }
    }
}
