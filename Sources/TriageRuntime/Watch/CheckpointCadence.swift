/// When an engine watch commits its read position (with the engine state) before the end.
///
/// Mid-run commits are allowed only when no output would be outlived by them: not while
/// outputs are temporary files renamed into place at the end (a position past their rows would
/// survive a crash that lost them). While reading a backlog, a checkpoint comes after at least
/// 1 000 rows and 1 s: each one fsyncs the outputs and the database (≈ 5 ms here), which every
/// 1 000 rows (≈ 50 ms of work) would cost 10 %; a crash replays at most about a second of rows.
public struct CheckpointCadence: Sendable, Equatable {
    public var minimumRows = 1_000
    public var minimumSeconds = 1.0

    public init() {}

    /// Whether commits may happen before the end: when following (outputs are live files,
    /// synced in each checkpoint) or when there are no outputs at all.
    public static func checkpointsMidRun(following: Bool, hasOutputs: Bool) -> Bool {
        following || !hasOutputs
    }

    /// Whether a checkpoint is due while reading a backlog.
    public func isDue(rowsSinceCommit: Int, secondsSinceCommit: Double) -> Bool {
        rowsSinceCommit >= minimumRows && secondsSinceCommit >= minimumSeconds
    }
}
