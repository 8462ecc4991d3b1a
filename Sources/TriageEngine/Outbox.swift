import Foundation
import TriageCore
import TriageData

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The hand-off to the remediation layer: a JSON-lines file to which each approved action is
/// appended once, as one `write` of a whole line followed by `fsync`.
///
/// Delivery is exactly-once in the file under crashes: the queue commits the approval first and
/// marks the line written only after the `fsync`; recovery re-sends approved, unmarked actions
/// unless their idempotency key is already in the file (the crash fell between the write and
/// the mark). Consumers should still deduplicate by `idempotency_key`, as for any queue.
public struct Outbox: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// `outbox.jsonl` beside the database.
    public static func defaultPath(forDatabase database: String) -> String {
        // A PostgreSQL database has no folder to be beside: the working folder's file.
        guard !DatabaseAddress.isPostgres(database), let slash = database.lastIndex(of: "/") else { return "outbox.jsonl" }
        return String(database[...slash]) + "outbox.jsonl"
    }

    /// The line handed off for an approved recommendation.
    public static func line(for recommendation: Recommendation) -> String {
        var fields: [String: JSONValue] = [
            "id": .string(recommendation.id), "idempotency_key": .string(recommendation.idempotencyKey),
            "service": .string(recommendation.service), "action": .string(recommendation.action.name),
            "approved_by": .string(recommendation.decidedBy ?? ""),
            // Who authenticated it (OS account or token name) and how; null for approvals made
            // before the queue recorded them.
            "approved_account": recommendation.decidedAccount.map(JSONValue.string) ?? .null,
            "approved_channel": recommendation.decidedChannel.map { .string($0.rawValue) } ?? .null,
            "approved_at": .string(Timestamp.iso(recommendation.decidedAt ?? 0)),
            "confidence": .number(recommendation.confidence),
            "created": .string(Timestamp.iso(recommendation.created)),
            "parameters": .object(recommendation.parameters.mapValues(JSONValue.integer)),
        ]
        if let comment = recommendation.decisionNote { fields["comment"] = .string(comment) }
        // Parameters also at top level (`replicas` beside `action`), as the contract shows them.
        for (name, value) in recommendation.parameters where fields[name] == nil { fields[name] = .integer(value) }
        return JSONValue.object(fields).serialized()
    }

    /// Appends `line` and a newline durably.
    public func append(_ line: String) throws(EngineError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .outbox(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let failure = Array((line + "\n").utf8).withUnsafeBytes { AtomicFile.writeAll(fd, $0) }
        guard failure == 0 else { throw .outbox(path: path, reason: String(cString: strerror(failure))) }
        // A device or FIFO outbox (a consumer reading a pipe) cannot be synced: EINVAL there
        // means the line was handed over, not lost.
        guard fsync(fd) == 0 || FileNode.of(descriptor: fd)?.isSpecial == true else {
            throw .outbox(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Runs `body` holding an exclusive `flock` on `PATH.lock`, so two processes flushing at once
    /// (a CLI approval while the server approves) cannot both send the same approval. An outbox
    /// that is a device or FIFO is locked itself (opened without blocking): no `/dev/null.lock`
    /// is created beside a device node.
    public func withLock<T>(_ body: () throws(EngineError) -> T) throws(EngineError) -> T {
        let special = FileNode.of(path)?.isSpecial == true
        let lockPath = special ? path : path + ".lock"
        let fd = special ? open(lockPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .outbox(path: lockPath, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw .outbox(path: lockPath, reason: String(cString: strerror(errno))) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Refuses an outbox that is the queue's database, one of SQLite's files beside it, or the
    /// approver allowlist: an appended line would corrupt the database (`--outbox DB` did) or
    /// add a line to the allowlist.
    public func checkSeparate(fromDatabase database: String, allowlist: String?) throws(EngineError) {
        for suffix in ["", "-wal", "-shm", "-journal"] where Outbox.sameFile(path, database + suffix) {
            throw .outbox(path: path, reason: "it is the approval queue's database\(suffix.isEmpty ? "" : " (its \(suffix) file)")")
        }
        if let allowlist, Outbox.sameFile(path, allowlist) {
            throw .outbox(path: path, reason: "it is the approver allowlist")
        }
    }

    /// Same file: same device and inode when both exist, else the same resolved path (a `-wal`
    /// file comes and goes with the database's connections).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        if stat(a, &first) == 0, stat(b, &second) == 0 {
            return first.st_dev == second.st_dev && first.st_ino == second.st_ino
        }
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        return resolved(a) == resolved(b)
    }

    /// Whether a line with this idempotency key is already in the file (recovery only).
    ///
    /// Scans in 1 MiB chunks, so an outbox grown over years is not read into memory whole. Only
    /// a regular file can be searched: a device or FIFO (a consumer reading the hand-off live)
    /// holds nothing to re-read and would block or never end.
    public func contains(idempotencyKey: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
              let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let needle = Data("\"idempotency_key\":\(JSONValue.quote(idempotencyKey))".utf8)
        var window = Data()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            window.append(chunk)
            if window.range(of: needle) != nil { return true }
            // Keep what could be the start of a needle cut by the chunk boundary.
            window = Data(window.suffix(needle.count - 1))
        }
        return false
    }
}
