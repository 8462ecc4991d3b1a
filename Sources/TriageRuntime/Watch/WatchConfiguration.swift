import TriageData
import TriageEngine

/// The settings of a watch run, whichever front door asks (the CLI maps its flags here).
/// Errors and warnings name these settings (`maxLineBytesSetting`), never a flag.
public struct WatchConfiguration: Sendable, Equatable {
    /// Where a stream of results goes.
    public enum Output: Sendable, Equatable {
        case none
        case standardOutput
        /// A file: renamed into place at the end, or written live while following.
        case file(String)

        var path: String? {
            if case .file(let path) = self { return path }
            return nil
        }
    }

    /// How the setting `maxLineBytes` is named in messages.
    public static let maxLineBytesSetting = "max line bytes"

    /// The metrics CSV read.
    public var metrics: String
    /// Keep reading as the file grows (`tail -F`), until the stop request.
    public var follow = false
    public var timeColumn = "timestamp"
    /// The service column of a long-format file (engine watch).
    public var serviceColumn = "service"
    /// Columns that are not metrics; `label` always is excluded.
    public var excluded: [String] = []
    /// Seconds between checks for new data while following.
    public var pollInterval = 0.2
    /// Longest accepted line, or record when a quoted field spans lines, in bytes.
    public var maxLineBytes = 1 << 20
    /// Count and skip malformed rows (with a warning) instead of stopping at the first.
    public var skipBadRows = false
    /// Seed of the model-free detector's random choices.
    public var seed: UInt64 = 0
    /// `timestamp,anomaly_score[,service,state]` rows.
    public var scores: Output
    /// JSON Lines events.
    public var events: Output = .none
    /// Model-free: the checkpoint file (detector and read position), read at start when it
    /// exists and saved at the end (and every 30 s while following).
    public var state: String?
    /// Engine: the approval queue's SQLite file, which also keeps the read position.
    public var database: String?
    /// Engine: how long a recommendation waits for a decision.
    public var ttlSeconds: Int64 = 1_800
    /// Engine: per-service targets and replica bounds of the HPA rule (`ScalingTargets`), or
    /// nil for targets from the bundle's baselines.
    public var scalingTargets: String?
    /// Engine: data time an incident may stay open before it becomes critical.
    public var incidentLimitSeconds: Int64 = 1_800
    /// Engine, while following: seconds of wall time between heartbeat events (0: none).
    public var heartbeatSeconds = 60
    /// Engine: circuit breakers, cooldown and rate caps.
    public var guards = RemediationGuards.Settings()

    public init(metrics: String, scores: Output) {
        self.metrics = metrics
        self.scores = scores
    }

    /// The output stream for `output` (nil for `.none`); checks the destination first.
    func open(_ output: Output) throws(DataError) -> StreamingOutput? {
        switch output {
        case .none: return nil
        case .standardOutput: return try StreamingOutput(path: nil, mode: .standardOutput)
        case .file(let path): return try StreamingOutput(path: path, mode: follow ? .live : .atomic)
        }
    }

    /// Checks that the file outputs can be created, before any work starts.
    func validateOutputs() throws(DataError) {
        if let path = scores.path { try AtomicFile.validateDestination(path) }
        if let path = events.path { try AtomicFile.validateDestination(path) }
    }
}
