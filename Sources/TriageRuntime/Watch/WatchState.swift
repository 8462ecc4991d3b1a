import TriageCore
import TriageData

/// What a model-free watch's state file holds: the detector and where reading stopped.
public struct WatchState: Codable, Sendable {
    public static let kind = "watch-state"
    /// Layout of the detector inside; raised whenever it changes. 1 (no field): before the
    /// seasonal detector; 2: with it; 3: the range rule as its own `RangeBreakDetector` (and the
    /// alarm hold-off); 4: the recurring-alarm filter (`RecurringAlarmFilter`); 5: the forest's
    /// score averaged before calibration (`forestAveraging`).
    public static let currentVersion = 5
    public var version = WatchState.currentVersion
    public var timeColumn: String
    public var metrics: [String]
    /// Identity and byte offset (just after the last row processed) of the file read.
    public var device: UInt64?
    public var inode: UInt64?
    public var offset: Int64
    public var line: Int
    public var lastTime: Double?
    public var detector: MetricStreamDetector

    public init(timeColumn: String, metrics: [String], device: UInt64?, inode: UInt64?, offset: Int64, line: Int,
                lastTime: Double?, detector: MetricStreamDetector) {
        self.timeColumn = timeColumn
        self.metrics = metrics
        self.device = device
        self.inode = inode
        self.offset = offset
        self.line = line
        self.lastTime = lastTime
        self.detector = detector
    }
}

extension WatchState {
    /// Only the version, read first so an older layout gets a clear message rather than a
    /// decoding error about some field.
    private struct Version: Decodable { var version: Int? }

    public static func read(from path: String) throws(DataError) -> WatchState {
        let version = try ModelFile.read(Version.self, kind: kind, from: path).version ?? 1
        guard version == currentVersion else {
            let age = version < currentVersion ? "an older" : "a newer"
            throw DataError(.invalidModel("state file was written by \(age) triage (state version \(version), this one "
                                          + "reads \(currentVersion)); delete it to start learning afresh"), file: path)
        }
        return try ModelFile.read(WatchState.self, kind: kind, from: path)
    }

    public func write(to path: String) throws(DataError) {
        try ModelFile.write(self, kind: WatchState.kind, to: path)
    }
}
