import Foundation
import TriageCore
import TriageData

/// The audit of handing one approved action to the operator's command (`--exec`): its state and
/// every attempt, as stored in the queue (`ApprovalQueue+Handoff.swift`).
///
/// States: `queued` (approved, no attempt yet) → `started` (an attempt began; it may have
/// finished with a failure and wait for a retry, or have no result because the process running
/// it was killed) → `succeeded` (an attempt exited 0: never run again) or `failed` (every try
/// failed: recorded as a failed outcome).
public struct Handoff: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case queued, started, succeeded, failed
    }

    public var recommendationID: String
    /// The recommendation's idempotency key, the same for every attempt (`TRIAGE_IDEMPOTENCY_KEY`).
    public var idempotencyKey: String
    public var state: State
    public var queuedAt: Int64
    public var updatedAt: Int64
    public var attempts: [HandoffAttempt]

    public init(recommendationID: String, idempotencyKey: String, state: State, queuedAt: Int64, updatedAt: Int64,
                attempts: [HandoffAttempt]) {
        self.recommendationID = recommendationID
        self.idempotencyKey = idempotencyKey
        self.state = state
        self.queuedAt = queuedAt
        self.updatedAt = updatedAt
        self.attempts = attempts
    }

    /// Attempts that ended and did not succeed (an attempt without a result is not one).
    public var failures: Int { attempts.filter(\.failed).count }

    public var json: JSONValue {
        .object([
            "state": .string(state.rawValue), "idempotency_key": .string(idempotencyKey),
            "queued_at": .string(Timestamp.iso(queuedAt)), "updated_at": .string(Timestamp.iso(updatedAt)),
            "attempts": .array(attempts.map(\.json)),
        ])
    }
}

/// One run of the hand-off command.
public struct HandoffAttempt: Sendable, Equatable {
    /// 1, 2, …
    public var number: Int
    public var command: String
    public var startedAt: Int64
    /// Nil while it runs, or when the process running it died before recording its result.
    public var finishedAt: Int64?
    public var exitCode: Int32?
    public var signal: Int32?
    public var timedOut: Bool
    public var durationMilliseconds: Int64?
    /// The first KiB of standard output and error (invalid UTF-8 replaced).
    public var output: String?
    /// All bytes the command wrote.
    public var outputBytes: Int?
    /// Why it could not start, or why it has no result.
    public var error: String?

    public init(number: Int, command: String, startedAt: Int64, finishedAt: Int64? = nil, exitCode: Int32? = nil,
                signal: Int32? = nil, timedOut: Bool, durationMilliseconds: Int64? = nil, output: String? = nil,
                outputBytes: Int? = nil, error: String? = nil) {
        self.number = number
        self.command = command
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.durationMilliseconds = durationMilliseconds
        self.output = output
        self.outputBytes = outputBytes
        self.error = error
    }

    public var succeeded: Bool { finishedAt != nil && exitCode == 0 && !timedOut && error == nil }
    public var failed: Bool { finishedAt != nil && !succeeded }

    /// One line for people: `exit 0 in 12 ms`, `timed out after 30000 ms`, `no result recorded`.
    public var summary: String {
        guard finishedAt != nil else { return error ?? "started, no result recorded yet" }
        let took = durationMilliseconds.map { " after \($0) ms" } ?? ""
        if timedOut { return "timed out\(took) (process group killed)" }
        if let error { return error }
        if let exitCode { return "exit \(exitCode)\(took)" }
        if let signal { return "killed by signal \(signal)\(took)" }
        return "ended\(took)"
    }

    public var json: JSONValue {
        .object([
            "attempt": .integer(number), "command": .string(command),
            "started_at": .string(Timestamp.iso(startedAt)),
            "finished_at": finishedAt.map { .string(Timestamp.iso($0)) } ?? .null,
            "exit_code": exitCode.map { .integer(Int($0)) } ?? .null,
            "signal": signal.map { .integer(Int($0)) } ?? .null,
            "timed_out": .bool(timedOut),
            "duration_ms": durationMilliseconds.map { .integer(Int($0)) } ?? .null,
            "output": output.map(JSONValue.string) ?? .null,
            "output_bytes": outputBytes.map(JSONValue.integer) ?? .null,
            "error": error.map(JSONValue.string) ?? .null,
        ])
    }
}

/// How approved actions are handed to the operator's command.
public struct HandoffSettings: Sendable, Equatable {
    /// Run as `/bin/sh -c COMMAND` (see `HookProcess`).
    public var command: String
    /// Per attempt; the process group is killed when it passes.
    public var timeout: Duration = .seconds(30)
    /// Attempts in all, the first included.
    public var tries = 3
    /// The wait before the second try; it doubles before each next one (1 s, 2 s, 4 s, …).
    public var backoff: Duration = .seconds(1)
    /// Bytes of output kept in the audit.
    public var outputLimit = 1_024

    public init(command: String) { self.command = command }

    /// Longest timeout and backoff accepted: a hand-off that takes longer than an hour is not
    /// one a person waits for, and an hour also bounds how long a stopping server may be held.
    public static let longest: Duration = .seconds(3_600)
    /// Most tries: with doubling waits, 20 tries already span days at a 1 s start.
    public static let mostTries = 20

    /// Checks every setting, naming it (not a flag) when out of range.
    public func validate() throws(EngineError) {
        guard !command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .outOfRange(field: "hand-off command", value: "''", expected: "a command to run")
        }
        guard timeout > .zero, timeout <= Self.longest else {
            throw .outOfRange(field: "hand-off timeout", value: "\(timeout)", expected: "more than 0 and at most 1 hour")
        }
        guard (1...Self.mostTries).contains(tries) else {
            throw .outOfRange(field: "hand-off tries", value: "\(tries)", expected: "1–\(Self.mostTries)")
        }
        guard backoff >= .zero, backoff <= Self.longest else {
            throw .outOfRange(field: "hand-off backoff", value: "\(backoff)", expected: "0 to 1 hour")
        }
    }

    /// The wait before try `next` (2, 3, …): `backoff` × 2^(next − 2), at most an hour.
    public func wait(beforeTry next: Int) -> Duration {
        guard next > 1 else { return .zero }
        let doublings = min(next - 2, 30)
        let wait = backoff * (1 << doublings)
        return min(wait, Self.longest)
    }
}
