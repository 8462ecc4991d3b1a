/// One row of an incident log: one remediation attempt.
public struct IncidentRecord: Sendable, Equatable {
    public var id: String
    public var service: String
    public var start: Int64
    public var end: Int64
    /// The fault as the operators labelled it (free text; may be empty).
    public var fault: String
    public var action: RemediationAction
    public var succeeded: Bool
    /// Seconds the attempt took (from deciding to the fix, or to knowing it failed).
    public var seconds: Double
    /// Physical line in the log (for messages).
    public var line: Int

    public init(id: String, service: String, start: Int64, end: Int64, fault: String, action: RemediationAction,
                succeeded: Bool, seconds: Double, line: Int) {
        self.id = id
        self.service = service
        self.start = start
        self.end = end
        self.fault = fault
        self.action = action
        self.succeeded = succeeded
        self.seconds = seconds
        self.line = line
    }
}

/// Consecutive attempts on one incident.
public struct IncidentEpisode: Sendable, Equatable {
    public var service: String
    public var attempts: [IncidentRecord]
    public var start: Int64 { attempts[0].start }
    public var fault: String { attempts[0].fault }
    /// Attempts that form the learnable part: up to (not including) the first repeat of an
    /// action already tried, since a state records each action as tried at most once.
    public var distinctPrefix: [IncidentRecord] {
        var tried = ActionSet()
        var prefix = [IncidentRecord]()
        for a in attempts {
            if tried.contains(a.action) { break }
            tried = tried.adding(a.action)
            prefix.append(a)
        }
        return prefix
    }
}

extension IncidentRecord {
    /// Groups attempts into incidents: on the same service, an attempt belongs to the incident
    /// before it when that incident's last attempt failed and ended at most `gap` seconds
    /// before this one started (the format of `simulate`, where `INC-7-2` starts as `INC-7-1`
    /// ends). Ids are not parsed, so logs with any id scheme work.
    public static func episodes(_ records: [IncidentRecord], gap: Int64 = 60) -> [IncidentEpisode] {
        let ordered = records.sorted { ($0.service, $0.start, $0.line) < ($1.service, $1.start, $1.line) }
        var episodes = [IncidentEpisode]()
        for record in ordered {
            if let last = episodes.last, last.service == record.service, let previous = last.attempts.last,
               !previous.succeeded, record.start >= previous.end - gap, record.start <= previous.end + gap {
                episodes[episodes.count - 1].attempts.append(record)
            } else {
                episodes.append(IncidentEpisode(service: record.service, attempts: [record]))
            }
        }
        return episodes.sorted { ($0.start, $0.service) < ($1.start, $1.service) }
    }
}

extension RemediationAction {
    /// Default cost of each action in seconds-equivalent, added to its downtime in the reward:
    /// a restart is cheap, extra capacity costs money, a rollback loses a release's work, a
    /// failover risks the other zone, and paging a person costs their time.
    public static let defaultCosts: [Double] = [60, 120, 120, 240, 300]
}
