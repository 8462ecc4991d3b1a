import ArgumentParser
import TriageEngine

/// The guard flags of the commands that run the engine (`watch --model`, `serve`): circuit
/// breakers, cooldown and rate caps (`RemediationGuards.Settings`). Out-of-range values are
/// usage errors (exit 64), named by their flags; the library's own check names the settings.
struct GuardOptions: ParsableArguments {
    @Option(help: "Circuit breaker: outcomes in each (service, action) breaker's sliding window.")
    var breakerWindow = 5
    @Option(help: "Circuit breaker: failure rate in (0, 1] of the window at which it opens.")
    var breakerThreshold = 0.5
    @Option(help: "Circuit breaker: outcomes the window needs before it may open (1 to --breaker-window).")
    var breakerMinOutcomes = 3
    @Option(help: "Circuit breaker: wall time it stays open before one trial: 90s, 10m, 2h or seconds (at most 7d).")
    var breakerWait = GuardDuration(seconds: 600)
    @Option(help: "Data time after an approved automated action on a service before the next one (alert exempt; 0: none).")
    var cooldown = GuardDuration(seconds: 300)
    @Option(help: "Most approvals handed off per hour, all services together; past it recommendations are held.")
    var maxApprovalsPerHour = 20
    @Option(help: "Most approvals handed off per hour on one service; past it recommendations are held.")
    var maxApprovalsPerServicePerHour = 3

    init() {}

    /// The library setting each flag sets (`EngineError.outOfRange`'s field).
    static let flags: [String: String] = [
        "breaker window": "--breaker-window", "breaker failure-rate threshold": "--breaker-threshold",
        "breaker minimum outcomes": "--breaker-min-outcomes", "breaker wait": "--breaker-wait",
        "cooldown": "--cooldown", "approvals per hour": "--max-approvals-per-hour",
        "approvals per service per hour": "--max-approvals-per-service-per-hour",
    ]

    var settings: RemediationGuards.Settings {
        var s = RemediationGuards.Settings()
        s.breaker.windowSize = breakerWindow
        s.breaker.failureRateThreshold = breakerThreshold
        s.breaker.minimumOutcomes = breakerMinOutcomes
        s.breaker.waitSeconds = breakerWait.seconds
        s.cooldownSeconds = cooldown.seconds
        s.approvalsPerHour = maxApprovalsPerHour
        s.approvalsPerServicePerHour = maxApprovalsPerServicePerHour
        return s
    }

    func validate() throws {
        switch Result(catching: { () throws(EngineError) in try settings.validate() }) {
        case .success: return
        case .failure(.outOfRange(let field, let value, let expected)):
            throw ValidationError("\(Self.flags[field] ?? field) must be \(expected), got \(value)")
        case .failure(let error): throw ValidationError(error.description)
        }
    }
}

/// A duration flag that may be 0: seconds, or a number with s, m, h or d.
struct GuardDuration: ExpressibleByArgument, CustomStringConvertible {
    let seconds: Int64

    init(seconds: Int64) { self.seconds = seconds }

    init?(argument: String) {
        // The settings' own check gives the range in its message.
        guard let seconds = TimeToLive.seconds(argument) else { return nil }
        self.seconds = seconds
    }

    var description: String { seconds % 60 == 0 && seconds > 0 ? "\(seconds / 60)m" : "\(seconds)s" }
    static var defaultCompletionKind: CompletionKind { .default }
}
