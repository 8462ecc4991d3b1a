import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import TriageEngine
import TriageStorePostgres

extension TriageServer {
    /// The journal as server-sent events. On SQLite the journal is polled every 200 ms. On
    /// PostgreSQL a stream waits on the process's listener of `triage_event` (`EventNotifier`:
    /// every insert into the shared journal notifies, whichever replica made it), with a 2 s
    /// poll as the fallback, so a notification missed while the listener reconnects only delays.
    func events(_ request: Request) async throws -> Response {
        let store = try store()
        var resumeAfter: Int64 = 0
        if let text = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters.get("after").map({ String($0) }) {
            guard let id = Int64(text.trimmingCharacters(in: CharacterSet.whitespaces)), id >= 0 else {
                throw APIError.badRequest("expected a non-negative event id", field: "Last-Event-ID")
            }
            resumeAfter = id
        }
        let after = resumeAfter
        let stopping = self.stopping, endWhenCaughtUp = streamsEndWhenCaughtUp
        let notifier = postgresServing?.events
        let body = ResponseBody { writer in
            var last = after
            var quiet = ContinuousClock.now
            // Listening before the first read: an event committed after it wakes the stream.
            await notifier?.start()
            // A retry hint for EventSource clients, then events as they come.
            var buffer = ByteBuffer()
            buffer.writeString("retry: 1000\n\n")
            try await writer.write(buffer)
            while !Task.isCancelled {
                // Read before the journal: a notification during the read wakes the next wait.
                let generation = notifier?.generation ?? 0
                let batch = try await store.events(after: last, limit: 256)
                if batch.isEmpty {
                    // Caught up: a stopping server ends the stream here (the client resumes
                    // elsewhere with Last-Event-ID); otherwise wait for more.
                    if stopping.isSet || endWhenCaughtUp.isSet { break }
                    if ContinuousClock.now - quiet >= .seconds(15) {
                        // A comment line keeps proxies from closing an idle stream and finds a gone client.
                        var ping = ByteBuffer()
                        ping.writeString(": keep-alive\n\n")
                        try await writer.write(ping)
                        quiet = ContinuousClock.now
                    }
                    if let notifier {
                        await notifier.wait(after: generation)
                    } else {
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    continue
                }
                var out = ByteBuffer()
                for event in batch {
                    out.writeString("id: \(event.id)\nevent: \(event.type)\ndata: \(event.json)\n\n")
                }
                // Suspends while the client does not read (backpressure): a reader that stalls
                // holds at most this one batch, never a growing backlog.
                try await writer.write(out)
                last = batch.last!.id
                quiet = ContinuousClock.now
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok,
                        headers: [.contentType: "text/event-stream", .cacheControl: "no-store",
                                  HTTPField.Name("X-Accel-Buffering")!: "no"],
                        body: body)
    }
}
