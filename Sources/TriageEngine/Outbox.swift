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
        guard let slash = database.lastIndex(of: "/") else { return "outbox.jsonl" }
        return String(database[...slash]) + "outbox.jsonl"
    }

    /// The line handed off for an approved recommendation.
    public static func line(for recommendation: Recommendation) -> String {
        var fields: [String: JSONValue] = [
            "id": .string(recommendation.id), "idempotency_key": .string(recommendation.idempotencyKey),
            "service": .string(recommendation.service), "action": .string(recommendation.action.name),
            "approved_by": .string(recommendation.decidedBy ?? ""),
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

    /// Whether a line with this idempotency key is already in the file (recovery only).
    public func contains(idempotencyKey: String) -> Bool {
        // Only a regular file can be read back; what went to a device or FIFO is gone.
        guard let text = try? MappedFile(path: path).withBytes({ String(decoding: $0, as: UTF8.self) }) else { return false }
        return text.contains("\"idempotency_key\":\(JSONValue.quote(idempotencyKey))")
    }
}
