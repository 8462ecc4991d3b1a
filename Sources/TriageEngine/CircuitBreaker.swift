/// A circuit breaker over the outcomes of one remediation action on one service: the pure state
/// machine, with the wall clock passed in (no I/O; `ApprovalQueue+Guards.swift` stores it).
///
/// Semantics of resilience4j's count-based breaker (resilience4j.readme.io/docs/circuitbreaker,
/// "Count-based sliding window" and "Failure rate and slow call rate thresholds";
/// `CircuitBreakerStateMachine` in resilience4j-circuitbreaker), with
/// `permittedNumberOfCallsInHalfOpenState` = 1:
///
/// - **closed**: each outcome enters a window of the last `windowSize` outcomes (the oldest
///   leaves). Once it holds at least `minimumOutcomes`, failure rate = failures / outcomes; when
///   it is ≥ `failureRateThreshold` the breaker **opens** (resilience4j: "if the failure rate is
///   equal or greater than the threshold"). Below the minimum it never opens, whatever fails.
/// - **open** for `waitSeconds` of wall time (`waitDurationInOpenState`): its action is not
///   recommended. An outcome arriving meanwhile (an action approved before it opened) is
///   recorded in the window but changes nothing, as resilience4j's `OpenState` records late
///   results without a transition.
/// - **half-open** once the wait is over: one trial is allowed. The next outcome decides
///   alone (a window of one): success **closes** the breaker with an empty window (resilience4j
///   starts a new `ClosedState` with new metrics), failure **opens** it again for a new wait.
///
/// **A wall clock that goes backwards** (NTP step, a restored VM) must neither keep a breaker
/// open for ever nor let it out early. The wait is therefore re-anchored, never shortened: when
/// `now` lies so far before `retryAt` that more than one whole wait would remain, the breaker
/// counts as opened at `now` (`openedAt` = `now`, `retryAt` = `now` + wait). It then stays open
/// for one full wait as the clock reads now — at least the wait of real time has passed since it
/// opened — and at most one wait after the jump; a clock that moves forwards is taken as it is.
///
/// Transitions: closed → open, open → half_open, half_open → closed | open.
public struct CircuitBreaker: Sendable, Equatable {
    public struct Settings: Codable, Sendable, Equatable {
        /// Outcomes in the sliding window (resilience4j `slidingWindowSize`).
        public var windowSize = 5
        /// Failure rate in (0, 1] at or above which the breaker opens (resilience4j's default, 50 %).
        public var failureRateThreshold = 0.5
        /// Outcomes the window needs before the rate is judged (resilience4j `minimumNumberOfCalls`):
        /// one failed restart out of one must not bar restarts.
        public var minimumOutcomes = 3
        /// Wall-clock seconds the breaker stays open before its trial (10 min: longer than a
        /// restart or rollback takes to show whether it worked, short against an incident).
        public var waitSeconds: Int64 = 600

        public init() {}

        /// Longest wait accepted: 7 days, as `RemediationPolicy.maximumRecoverySeconds`.
        public static let maximumWaitSeconds: Int64 = 604_800
        /// Largest window: the window is stored per (service, action) and read on every check.
        public static let maximumWindowSize = 1_000

        public func validate() throws(EngineError) {
            guard (1...Self.maximumWindowSize).contains(windowSize) else {
                throw .outOfRange(field: "breaker window", value: "\(windowSize) outcomes",
                                  expected: "1–\(Self.maximumWindowSize) outcomes")
            }
            guard failureRateThreshold.isFinite, failureRateThreshold > 0, failureRateThreshold <= 1 else {
                throw .outOfRange(field: "breaker failure-rate threshold", value: "\(failureRateThreshold)",
                                  expected: "a fraction in (0, 1]")
            }
            guard (1...windowSize).contains(minimumOutcomes) else {
                throw .outOfRange(field: "breaker minimum outcomes", value: "\(minimumOutcomes)",
                                  expected: "1 to the window size (\(windowSize))")
            }
            guard (1...Self.maximumWaitSeconds).contains(waitSeconds) else {
                throw .outOfRange(field: "breaker wait", value: "\(waitSeconds) s", expected: "1 s to 7 days")
            }
        }
    }

    public enum State: String, Codable, Sendable, CaseIterable {
        case closed, open
        case halfOpen = "half_open"
    }

    public struct Transition: Sendable, Equatable {
        public var from: State
        public var to: State
    }

    /// The state as stored; `state(at:)` says whether an open one is half-open by now.
    public private(set) var storedState: State
    /// Outcomes of the current window, oldest first: true = failure.
    public private(set) var window: [Bool]
    /// Wall time the breaker last opened (nil while it never did since it last closed).
    public private(set) var openedAt: Int64?
    /// Wall time an open breaker allows its trial.
    public private(set) var retryAt: Int64?

    public init() {
        storedState = .closed
        window = []
    }

    /// A stored breaker, checked: a damaged row is an error, not a breaker in an impossible state.
    public init(state: State, window: [Bool], openedAt: Int64?, retryAt: Int64?) throws(EngineError) {
        guard window.count <= Settings.maximumWindowSize else { throw .invalid("a breaker window of \(window.count) outcomes") }
        if state != .closed {
            guard let openedAt, let retryAt, retryAt >= openedAt else {
                throw .invalid("a breaker in state \(state.rawValue) without consistent opened/retry times")
            }
        }
        storedState = state
        self.window = window
        self.openedAt = openedAt
        self.retryAt = retryAt
    }

    public var failures: Int { window.reduce(0) { $0 + ($1 ? 1 : 0) } }
    public var outcomes: Int { window.count }

    /// The state at wall time `now`: an open breaker whose wait is over is half-open.
    public func state(at now: Int64) -> State {
        if storedState == .open, let retryAt, now >= retryAt { return .halfOpen }
        return storedState
    }

    /// Brings the stored state to `now`: open → half-open once the wait is over, and the wait
    /// re-anchored when the clock went back (see the type's comment). Returns whether anything
    /// changed (to be stored) and the transition, if one happened.
    @discardableResult
    public mutating func advance(to now: Int64, settings: Settings) -> (changed: Bool, transition: Transition?) {
        guard storedState == .open, let retryAt else { return (false, nil) }
        if now >= retryAt {
            storedState = .halfOpen
            return (true, Transition(from: .open, to: .halfOpen))
        }
        let latest = now.addingReportingOverflow(settings.waitSeconds)
        if !latest.overflow, retryAt > latest.partialValue {
            openedAt = now
            self.retryAt = latest.partialValue
            return (true, nil)
        }
        return (false, nil)
    }

    /// Records the outcome of the action at wall time `now`; returns the transitions it caused
    /// (at most two: open → half-open when the wait was over, then the trial's verdict).
    public mutating func record(failure: Bool, at now: Int64, settings: Settings) -> [Transition] {
        var transitions = [Transition]()
        if let t = advance(to: now, settings: settings).transition { transitions.append(t) }
        switch storedState {
        case .closed:
            window.append(failure)
            if window.count > settings.windowSize { window.removeFirst(window.count - settings.windowSize) }
            if window.count >= settings.minimumOutcomes,
               Double(failures) / Double(window.count) >= settings.failureRateThreshold {
                open(at: now, settings: settings)
                transitions.append(Transition(from: .closed, to: .open))
            }
        case .open:
            window.append(failure)
            if window.count > settings.windowSize { window.removeFirst(window.count - settings.windowSize) }
        case .halfOpen:
            if failure {
                window = [true]
                open(at: now, settings: settings)
                transitions.append(Transition(from: .halfOpen, to: .open))
            } else {
                storedState = .closed
                window = []
                openedAt = nil
                retryAt = nil
                transitions.append(Transition(from: .halfOpen, to: .closed))
            }
        }
        return transitions
    }

    private mutating func open(at now: Int64, settings: Settings) {
        storedState = .open
        openedAt = now
        let (retry, overflow) = now.addingReportingOverflow(settings.waitSeconds)
        retryAt = overflow ? Int64.max : retry
    }

    /// The window as stored: one letter per outcome, oldest first (`F` failure, `S` success).
    public var windowText: String { String(window.map { $0 ? "F" : "S" }) }

    /// Reads `windowText`.
    public static func window(from text: String) throws(EngineError) -> [Bool] {
        var window = [Bool]()
        for c in text {
            switch c {
            case "F": window.append(true)
            case "S": window.append(false)
            default: throw .invalid("a breaker window holds '\(c)' (only F and S are outcomes)")
            }
        }
        return window
    }
}
