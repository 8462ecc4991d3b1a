import Foundation
import TriageCore

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
        var fields: [(String, PublicValue)] = [
            ("id", .text(recommendation.id)), ("idempotency_key", .text(recommendation.idempotencyKey)),
            ("service", .text(recommendation.service)), ("action", .text(recommendation.action.name)),
            ("approved_by", .text(recommendation.decidedBy ?? "")),
            ("approved_at", .text(Timestamp.iso(recommendation.decidedAt ?? 0))),
            ("confidence", .number(recommendation.confidence)),
            ("created", .text(Timestamp.iso(recommendation.created))),
        ]
        if let comment = recommendation.decisionNote { fields.append(("comment", .text(comment))) }
        for (name, value) in recommendation.parameters.sorted(by: { $0.key < $1.key }) {
            fields.append((name, .integer(value)))
        }
        return PublicValue.render(fields)
    }

    /// Appends `line` and a newline durably.
    public func append(_ line: String) throws(EngineError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .outbox(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .outbox(path: path, reason: String(cString: strerror(errno)))
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw .outbox(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Whether a line with this idempotency key is already in the file (recovery only).
    public func contains(idempotencyKey: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        let needle = "\"idempotency_key\":\(PublicValue.quote(idempotencyKey))"
        return String(decoding: data, as: UTF8.self).contains(needle)
    }
}
