import Foundation
import TriageEngine

/// Why replica coordination refused or failed (see `LeaseKeeper`), with the names a person needs.
public enum ReplicaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A live process already runs under this replica name (its registration has not expired).
    case nameInUse(replica: String, location: String, expiresInMilliseconds: Int64)
    /// The replica's registration lapsed (it was paused or cut off past the lease time) and
    /// another process took its name meanwhile.
    case registrationLost(replica: String)
    /// A write under epoch `epoch` of `service`, whose lease is now `currentEpoch` held by
    /// `currentOwner` (nil: free or expired): the writer lost the lease and must stop.
    case fenced(service: String, epoch: Int64, currentOwner: String?, currentEpoch: Int64)
    /// A checkpoint whose inbox position is outside what can be consumed: before the saved one
    /// (`lowest`) or past the last row appended (`highest`).
    case checkpointOutOfRange(service: String, position: Int64, lowest: Int64?, highest: Int64?)
    /// A checkpoint saved from `expectedPosition` while the stored one is `storedPosition`:
    /// another consumer of the same lease saved first; this one's work must not count.
    case checkpointMoved(service: String, expectedPosition: Int64, storedPosition: Int64)
    /// Settings that cannot work (a lease shorter than two renewals, say).
    case invalidSettings(String)
    /// The database failed (unreachable, restarting, refused a statement).
    case store(EngineError)

    public var description: String {
        switch self {
        case .nameInUse(let replica, let location, let expires):
            return "replica name '\(replica)' is in use at \(location) by a live process (its heartbeat expires in "
                + "\(max(0, expires)) ms); start each replica with a name of its own"
        case .registrationLost(let replica):
            return "replica '\(replica)' lost its registration (paused or cut off past its lease) and another process took the name"
        case .fenced(let service, let epoch, let owner, let current):
            return "write for service '\(service)' under lease epoch \(epoch) refused: the lease is now epoch \(current)"
                + (owner.map { " held by '\($0)'" } ?? " and free")
        case .checkpointOutOfRange(let service, let position, let lowest, let highest):
            if let lowest { return "checkpoint of '\(service)' at inbox position \(position) goes back before the saved \(lowest)" }
            return "checkpoint of '\(service)' at inbox position \(position) is past the last row appended (\(highest ?? 0))"
        case .checkpointMoved(let service, let expected, let stored):
            return "checkpoint of '\(service)' saved from inbox position \(expected), but another consumer moved it to \(stored)"
        case .invalidSettings(let reason): return "invalid replica settings: \(reason)"
        case .store(let error): return "\(error)"
        }
    }
}
