import Foundation
import Logging
import PostgresNIO
import TriageCore
import TriageData
import TriageEngine

#if canImport(Glibc)
import Glibc
#endif

/// One dispatcher's pass over the outbox table (`OutboxSchema`): the undispatched rows, in
/// `seq` (approval) order, appended to `outbox.jsonl` and marked dispatched, each exactly once.
///
/// **The exactly-once rule.** For each row: append its line (one `write` and `fsync`), then mark
/// it dispatched through the dispatcher lock's connection (`DispatcherLock.withLockConnection`:
/// a dispatcher that lost the lock can mark nothing). A crash can fall between the two; the line
/// is then in the file and the row still undispatched. So before appending a row's line the pass
/// looks for its `idempotency_key` in the file's last MiB, and a row found there is marked
/// without being written again. The last MiB suffices because rows are marked one at a time
/// right after their line: at most one line of the file (the last one a dispatcher wrote
/// before dying) can be unmarked, and the MiB holds over a thousand lines. The whole pass
/// holds the outbox file's lock (`PATH.lock`, as `Outbox.withLock`), so a dispatcher that lost
/// the database lock but still runs cannot append between another's look at the tail and its
/// own append.
///
/// **What the rule assumes.** One outbox file shared by the dispatchers (one host, or a shared
/// volume): a dispatcher that takes over on another machine with a file of its own cannot see
/// the line its predecessor wrote just before dying, and that one line may then be handed off
/// in both files (at least once, never lost; consumers deduplicate by `idempotency_key`, as the
/// contract asks of any queue). A device or FIFO outbox (a consumer reading the hand-off live)
/// has no tail to read: the same holds. Outside a crash in that window, every approval is one
/// line in one file.
struct OutboxFeed: Sendable {
    let store: PostgresRecommendationStore
    let lock: DispatcherLock
    let outbox: Outbox
    /// Recorded in `dispatched_by`: which process wrote the line, and where.
    let holder: String

    /// How much of the file's end is searched for keys already written.
    static let tailBytes = 1 << 20
    /// Rows read per round trip.
    static let batch = 256

    /// Dispatches every undispatched row; returns how many lines it appended. Throws when the
    /// lock's connection fails (the lock is lost) or the file cannot be written.
    func drain() async throws -> Int {
        try outbox.checkSeparate(fromDatabase: store.location, allowlist: nil)
        let fileLock = try await OutboxFileLock.acquire(outbox)
        defer { fileLock.release() }
        var written = 0
        while true {
            let rows = try await onLock { connection in
                try await store.rows("""
                    SELECT seq, idempotency_key, line FROM outbox WHERE dispatched_at IS NULL ORDER BY seq LIMIT \(Int64(Self.batch))
                    """, on: connection).map {
                    (seq: try $0["seq"].decode(Int64.self), key: try $0["idempotency_key"].decode(String.self),
                     line: try $0["line"].decode(String.self))
                }
            }
            guard !rows.isEmpty else { return written }
            let tail = OutboxTail(outbox, bytes: Self.tailBytes)
            for row in rows {
                if !tail.contains(idempotencyKey: row.key) {
                    try outbox.append(row.line)
                    written += 1
                }
                try await mark(row.seq)
            }
        }
    }

    /// Runs `body` on the lock's connection within `lockStatementTimeout`: a statement on a
    /// connection the server terminated was seen to wait forever (postgres-nio 1.33.2, see
    /// `withDeadline`), and a pass holds the outbox file's lock, which the next dispatcher needs.
    private func onLock<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lock = self.lock
        guard let value = try await withDeadline(Self.lockStatementTimeout, { try await lock.withLockConnection(body) }) else {
            throw EngineError.database(path: store.location, reason: "the dispatcher lock's connection gave no answer within "
                                       + "\(Self.lockStatementTimeout) (lost)")
        }
        return value
    }

    /// The connect timeout: a healthy server answers these one-row statements in milliseconds.
    static let lockStatementTimeout: Duration = .seconds(PostgresURL.connectTimeoutSeconds)

    /// Marks row `seq` dispatched, and its recommendation's `outbox_written` as SQLite sets it.
    private func mark(_ seq: Int64) async throws {
        let now = Int64(Date().timeIntervalSince1970), holder = self.holder
        _ = try await onLock { connection in
            try await connection.query("""
                WITH marked AS (UPDATE outbox SET dispatched_at = \(now), dispatched_by = \(holder)
                                WHERE seq = \(seq) AND dispatched_at IS NULL RETURNING recommendation_id)
                UPDATE recommendation SET outbox_written = true WHERE id IN (SELECT recommendation_id FROM marked)
                """, logger: store.logger)
        }
    }

    /// Puts approvals that have no outbox row into the table: approved before the outbox table
    /// existed (an upgraded database) or by an older Triage still running beside this one.
    /// Run once per lock acquisition; returns how many it added.
    func adoptUnsentApprovals() async throws -> Int {
        let unsent = try await onLock { connection in
            try await store.fetch(where: """
                status = 'approved' AND outbox_written = false
                AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.recommendation_id = recommendation.id)
                """, order: "decided_at, id", on: connection)
        }
        for record in unsent {
            let line = Outbox.line(for: record)
            _ = try await onLock { connection in
                try await connection.query("""
                    INSERT INTO outbox (recommendation_id, idempotency_key, line, approved_at)
                    VALUES (\(record.id), \(record.idempotencyKey), \(line), \(record.decidedAt ?? 0)) ON CONFLICT DO NOTHING
                    """, logger: store.logger)
            }
        }
        return unsent.count
    }

    /// A dispatcher of one pass (a command, or an approval with no dispatcher running here):
    /// takes the dispatcher lock if it is free, drains, releases. Nil when another process holds
    /// the lock: that dispatcher hands the rows off (it is woken by the outbox's notification).
    static func once(store: PostgresRecommendationStore, outbox: Outbox) async throws(EngineError) -> Int? {
        let lock = DispatcherLock(store: store)
        let taken: Bool
        do { taken = try await lock.tryAcquire() } catch { throw error.engineError }
        guard taken else { return nil }
        let feed = OutboxFeed(store: store, lock: lock, outbox: outbox, holder: OutboxFeed.holder(outbox: outbox))
        do {
            _ = try await feed.adoptUnsentApprovals()
            let written = try await feed.drain()
            await lock.release()
            return written
        } catch {
            await lock.release()
            throw store.map(error)
        }
    }

    /// `host pid N outbox PATH`: who wrote a line, for the audit.
    static func holder(outbox: Outbox) -> String {
        "\(ProcessInfo.processInfo.hostName) pid \(getpid()) outbox \(outbox.path)"
    }
}

extension ReplicaError {
    /// As a store error: the database error it carries, or its description.
    var engineError: EngineError {
        if case .store(let error) = self { return error }
        return .invalid(description)
    }
}

/// The end of an outbox file, read once, searched for idempotency keys (`OutboxFeed`'s rule).
struct OutboxTail {
    let data: Data

    init(_ outbox: Outbox, bytes: Int) {
        var info = stat()
        guard stat(outbox.path, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
              let handle = FileHandle(forReadingAtPath: outbox.path) else {
            data = Data()
            return
        }
        defer { try? handle.close() }
        let size = Int64(info.st_size)
        let start = max(0, size - Int64(bytes))
        do {
            try handle.seek(toOffset: UInt64(start))
            data = try handle.readToEnd() ?? Data()
        } catch {
            data = Data()
        }
    }

    /// Whether a line with this key is in the tail (the needle `Outbox.contains` looks for).
    func contains(idempotencyKey: String) -> Bool {
        data.range(of: Data("\"idempotency_key\":\(JSONValue.quote(idempotencyKey))".utf8)) != nil
    }
}

/// The outbox file's lock (`PATH.lock`, or the device itself), as `Outbox.withLock` takes it,
/// held across the awaits of a pass. Taken without blocking a thread: a busy lock is tried again
/// every 5 ms (another process holds it for the length of its own pass).
struct OutboxFileLock {
    let descriptor: Int32

    static func acquire(_ outbox: Outbox) async throws(EngineError) -> OutboxFileLock {
        let special = FileNode.of(outbox.path)?.isSpecial == true
        let lockPath = special ? outbox.path : outbox.path + ".lock"
        let fd = special ? open(lockPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .outbox(path: lockPath, reason: String(cString: strerror(errno))) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            guard failure == EWOULDBLOCK || failure == EINTR else {
                close(fd)
                throw .outbox(path: lockPath, reason: String(cString: strerror(failure)))
            }
            do { try await Task.sleep(for: .milliseconds(5)) } catch {
                close(fd)
                throw .outbox(path: lockPath, reason: "cancelled while waiting for the outbox lock")
            }
        }
        return OutboxFileLock(descriptor: fd)
    }

    /// Closing the descriptor releases the lock.
    func release() { close(descriptor) }
}
