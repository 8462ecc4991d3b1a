import TriageCore
import TriageData

/// The engine loop over metric rows of many services: detector scores per row → health state
/// with hysteresis → on an incident, the policy's recommended action with its confidence and
/// reasons → the approval queue. No I/O of its own besides the queue; the caller feeds rows in
/// time order per service and writes the events.
public final class RemediationEngine {
    public struct Settings: Codable, Sendable, Equatable {
        public var health = HealthTracker.Settings()
        /// How long a person has to decide, from the moment a recommendation is raised.
        public var ttlSeconds: Int64 = 1_800
        /// Rows an incident may stay unhealthy after its last recommendation was decided (or
        /// expired) before the next one is raised, with the approved actions counted as tried.
        public var escalateAfterRows = 10
        /// The HPA rule for `scale_up`'s replica count and for `scale_down` (its tolerance and
        /// stabilisation window), with per-service targets and bounds.
        public var scaling = HorizontalScalingRule()
        public var scalingTargets = ScalingTargets()
        /// When an incident becomes `critical`, and what a critical service gets.
        public var critical = CriticalEscalation()
        /// Circuit breakers, cooldown and rate caps (`RemediationGuards`); installed in the queue.
        public var guards = RemediationGuards.Settings()

        public init() {}

        public func validate() throws(EngineError) {
            try health.validate()
            try scaling.validate()
            try critical.validate()
            try guards.validate()
            guard (1...31_536_000).contains(ttlSeconds) else {
                throw .outOfRange(field: "ttl (time to decide)", value: "\(ttlSeconds) s", expected: "1 s to 365 days")
            }
            guard (1...100_000).contains(escalateAfterRows) else {
                throw .invalid("escalate-after must be 1–100000 rows, got \(escalateAfterRows)")
            }
        }
    }

    public let detectors: BundleDetectors
    public private(set) var policy: RemediationPolicy? {
        didSet { hasPolicy = policy != nil }
    }
    /// `policy != nil`, kept apart: comparing the optional with nil copied the whole policy
    /// (a value type holding the Q-table), and the scaling rule asks on every healthy row.
    private(set) var hasPolicy = false
    public let settings: Settings
    /// The store of recommendations (SQLite or PostgreSQL), nil to run without one.
    let queue: (any ApprovalStore)?
    /// Per-service state, one slot per service in order of first appearance; `monitorSlots`
    /// names each service's slot. A row's monitor is updated in place in its slot: taking it
    /// out of a dictionary and putting it back (so its history stayed uniquely referenced) cost
    /// 1.5 k instructions a row, two hashes of the name and two copies of the monitor.
    var monitorList: [ServiceMonitor] = []
    var monitorSlots: [String: Int] = [:]
    /// Every service's state by name.
    var monitors: [String: ServiceMonitor] {
        get { monitorSlots.mapValues { monitorList[$0] } }
        set {
            monitorList = []
            monitorSlots = [:]
            for (service, monitor) in newValue {
                monitorSlots[service] = monitorList.count
                monitorList.append(monitor)
            }
        }
    }
    /// The stored policy's revision when it was last read (`ApprovalQueue.policyRevision`).
    var policyRevision: Int64?
    /// Decisions of the open incidents' recommendations as last read from the queue, valid while
    /// its journal has not moved past `decisionCopiesAsOf` (every decision, expiry and outcome
    /// journals an event in its own transaction). Read once per batch instead of once per row of
    /// an incident (that read was 5 % of ingest time).
    var decisionCopies: [String: ApprovalQueue.Decision] = [:]
    var decisionCopiesAsOf: Int64 = -1
    /// Whether the copies were checked against the queue during the current call: a batch
    /// checks once, at its first row that needs them, and so sees decisions taken up to then.
    var queueCopiesChecked = false
    /// What the guards know of each service (`ApprovalQueue.guardFacts`), valid while the
    /// queue's guard revision stays `guardFactsAsOf` (approvals, rejections, expiries and breaker
    /// changes move it; a service's copy is dropped when the engine raises for it).
    var guardFactsCopies: [String: RemediationGuards.Facts] = [:]
    var guardFactsAsOf: Int64 = -1

    /// - Parameters:
    ///   - policySource: identifies the policy (e.g. its file's SHA-256): the queue keeps what it
    ///     learned from outcomes as long as the source is the same.
    public init(detectors: BundleDetectors, policy: RemediationPolicy?, policySource: String, queue: (any ApprovalStore)?,
                settings: Settings = Settings(), now: Int64) throws(EngineError) {
        try settings.validate()
        guard detectors.isolationForest != nil || detectors.autoencoder != nil else {
            throw .invalid("the bundle has no detector (isolation forest or autoencoder) to watch with")
        }
        // A bundle's policy is a file: its extractor settings, costs and Q-table are checked before
        // they size windows and index arrays.
        if let policy {
            do { try policy.validate() } catch { throw .invalid("the bundle's policy is invalid: \(error)") }
        }
        self.detectors = detectors
        self.settings = settings
        self.queue = queue
        self.policy = policy
        hasPolicy = policy != nil
        // The commands that decide and record outcomes have no engine: they apply these.
        try queue?.installGuards(settings.guards)
        if let policy, let queue {
            try queue.installPolicy(policy, source: policySource, now: now)
            self.policy = try queue.policy()?.policy ?? policy
            policyRevision = try queue.policyRevision()
        }
    }

    /// The per-service state (health, recent rows, open incidents) as bytes, to be stored with
    /// the read position so a restart resumes where it stopped.
    public func checkpoint() throws(EngineError) -> Data {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = Self.nonFinite
        do { return try encoder.encode(monitors) } catch { throw .invalid("cannot encode the engine state: \(error)") }
    }

    /// Recent rows hold gaps (a missing value is NaN) and may hold ±inf, which JSON has no number
    /// for: they are stored as these strings (a state stored before never held any: it could not
    /// be encoded).
    static let nonFinite = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    /// Restores a `checkpoint()`; a state from an incompatible version is an error, not a crash.
    public func restore(_ data: Data) throws(EngineError) {
        let restored: [String: ServiceMonitor]
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { restored = try decoder.decode([String: ServiceMonitor].self, from: data) } catch {
            throw .invalid("the stored engine state does not decode (written by another version?): \(error)")
        }
        for monitor in restored.values {
            guard monitor.values.count == ServiceMetric.allCases.count,
                  monitor.values.allSatisfy({ $0.count == monitor.times.count }) else {
                throw .invalid("the stored engine state has the wrong shape (another version of Triage?)")
            }
        }
        monitors = restored
    }

    // MARK: One service's state (replicas: a service moves between processes)

    /// The state of `service` alone, as `checkpoint()` encodes it, or nil for a service this
    /// engine has not seen. A replica stores it with the service's lease (issue 18), so whoever
    /// owns the service next resumes it.
    public func checkpoint(service: String) throws(EngineError) -> Data? {
        guard let slot = monitorSlots[service] else { return nil }
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = Self.nonFinite
        do { return try encoder.encode(monitorList[slot]) } catch {
            throw .invalid("cannot encode the state of service \(service): \(error)")
        }
    }

    /// Replaces the state of `service` with one `checkpoint(service:)` made (by this process or
    /// another); nil forgets it, as for a service never seen. Other services are untouched.
    public func restore(service: String, from data: Data?) throws(EngineError) {
        guard let data else { return forget(service: service) }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let monitor: ServiceMonitor
        do { monitor = try decoder.decode(ServiceMonitor.self, from: data) } catch {
            throw .invalid("the stored state of service \(service) does not decode (written by another version?): \(error)")
        }
        guard monitor.values.count == ServiceMetric.allCases.count, monitor.values.allSatisfy({ $0.count == monitor.times.count }) else {
            throw .invalid("the stored state of service \(service) has the wrong shape (another version of Triage?)")
        }
        if let slot = monitorSlots[service] {
            monitorList[slot] = monitor
        } else {
            monitorSlots[service] = monitorList.count
            monitorList.append(monitor)
        }
        guardFactsCopies[service] = nil
    }

    /// Forgets the state of `service` (its owner is now another replica).
    public func forget(service: String) {
        guard let slot = monitorSlots.removeValue(forKey: service) else { return }
        monitorList.remove(at: slot)
        for (name, other) in monitorSlots where other > slot { monitorSlots[name] = other - 1 }
        guardFactsCopies[service] = nil
    }

    /// Data time of each service's last row.
    public var lastRowTimes: [String: Int64] { monitors.compactMapValues(\.times.last) }

    /// Data time at which each service's open incident began (services without one are absent).
    public var openIncidents: [String: Int64] { monitors.compactMapValues(\.incidentStart) }

    /// Why each critical service is critical (services that are not are absent).
    public var escalations: [String: CriticalEscalation.Escalation] { monitors.compactMapValues(\.escalation) }

    /// Services seen so far and their states.
    public var states: [String: HealthState] { monitors.mapValues(\.tracker.state) }

    /// Processes one metrics row of `service` (`values` in `ServiceMetric` order, NaN = missing)
    /// taken at data time `time`; `now` is the wall clock for the queue. Returns what happened.
    public func process(service: String, time: Int64, values: [Double], now: Int64) throws(EngineError) -> [EngineEvent] {
        // A caller's row of the wrong width would trap in the feature extractor (a precondition).
        guard values.count == ServiceMetric.allCases.count else {
            throw .invalid("a metrics row needs \(ServiceMetric.allCases.count) values (\(ServiceMetric.names.joined(separator: ", "))), got \(values.count)")
        }
        queueCopiesChecked = false
        let scored: BundleDetectors.RowScore?
        do { scored = try detectors.score(service: service, values: values) } catch {
            throw .invalid("service \(service): \(error)")
        }
        return try apply(service: service, time: time, values: values, scored: scored, now: now)
    }

    /// Processes rows in order, like `process(service:time:values:now:)` row by row, with the
    /// detectors scoring the whole batch at once (`BundleDetectors.scores`). Returns each row's
    /// events, in row order.
    public func process(batch rows: [(service: String, time: Int64, values: [Double])], now: Int64) throws(EngineError) -> [[EngineEvent]] {
        try process(batch: rows, scored: try Self.score(rows, detectors), now: now)
    }

    /// The detector scores of `rows`, for `process(batch:scored:now:)`: they depend on nothing
    /// but the rows, so a caller may compute them on another thread, before taking its turn
    /// with the engine (the server scores in the request's task, beside other requests).
    public static func score(_ rows: [(service: String, time: Int64, values: [Double])],
                             _ detectors: BundleDetectors) throws(EngineError) -> [BundleDetectors.RowScore?] {
        try Self.checkWidths(rows)
        do { return try detectors.scores(rows.map { ($0.service, $0.values) }) } catch {
            throw .invalid("\(error)")
        }
    }

    /// A caller's row of the wrong width would trap in the feature extractor (a precondition).
    static func checkWidths(_ rows: [(service: String, time: Int64, values: [Double])]) throws(EngineError) {
        for row in rows where row.values.count != ServiceMetric.allCases.count {
            throw .invalid("a metrics row needs \(ServiceMetric.allCases.count) values (\(ServiceMetric.names.joined(separator: ", "))), got \(row.values.count)")
        }
    }

    /// Processes rows in order whose detector scores are known (`score(_:_:)` of the same rows,
    /// by this engine's detectors). With `scoreEvents` false the per-row `score` events are left
    /// out (a caller that does not report them saves building them).
    public func process(batch rows: [(service: String, time: Int64, values: [Double])], scored: [BundleDetectors.RowScore?],
                        now: Int64, scoreEvents: Bool = true) throws(EngineError) -> [[EngineEvent]] {
        guard scored.count == rows.count else {
            throw .invalid("\(scored.count) scores for \(rows.count) rows")
        }
        try Self.checkWidths(rows)
        queueCopiesChecked = false
        var events: [[EngineEvent]] = []
        events.reserveCapacity(rows.count)
        for (row, score) in zip(rows, scored) {
            events.append(try apply(service: row.service, time: row.time, values: row.values, scored: score, now: now,
                                    scoreEvent: scoreEvents))
        }
        return events
    }

    /// The stateful part of processing a row whose detector scores are known.
    private func apply(service: String, time: Int64, values: [Double], scored: BundleDetectors.RowScore?,
                       now: Int64, scoreEvent: Bool = true) throws(EngineError) -> [EngineEvent] {
        guard let score = scored else {
            return [.unknownService(service: service, time: time)]
        }
        let slot: Int
        if let known = monitorSlots[service] {
            slot = known
        } else {
            slot = monitorList.count
            monitorList.append(ServiceMonitor(settings: settings.health, capacity: historyCapacity))
            monitorSlots[service] = slot
        }
        // Updated in place (a copy would make every row copy the whole history: 5 % of ingest
        // time in a profile); nothing below reads `monitorList`.
        return try apply(&monitorList[slot], service: service, time: time, values: values, score: score, now: now,
                         scoreEvent: scoreEvent)
    }

    private func apply(_ monitor: inout ServiceMonitor, service: String, time: Int64, values: [Double],
                       score: BundleDetectors.RowScore, now: Int64, scoreEvent: Bool) throws(EngineError) -> [EngineEvent] {
        monitor.remember(time: time, values: values)
        let anomalous = (score.isolationForest?.anomaly ?? false) || (score.autoencoder?.anomaly ?? false)
        let previous = monitor.tracker.state
        let changed = monitor.tracker.observe(anomalous: anomalous)
        var events: [EngineEvent] = []
        if scoreEvent {
            events.append(.score(ScoreEvent(service: service, time: time, score: score, anomalous: anomalous,
                                            state: monitor.tracker.state)))
        }
        if let changed {
            events.append(.state(service: service, time: time, from: previous, to: changed))
            if changed == .unhealthy { monitor.openIncident(at: time) }
            if changed == .healthy { monitor.closeIncident() }
        }
        if monitor.tracker.state == .unhealthy, let escalation = try criticalEscalation(monitor, time: time, values: values, now: now),
           let critical = monitor.tracker.escalate() {
            monitor.escalate(escalation)
            events.append(.state(service: service, time: time, from: .unhealthy, to: critical, escalation: escalation))
        }
        if monitor.tracker.state.isIncident {
            monitor.rowsSinceRecommendation += 1
            if let raised = try recommend(&monitor, service: service, time: time, score: score, now: now) {
                events.append(.recommendation(raised))
            }
        } else if let raised = try scaleDown(&monitor, service: service, time: time, values: values, score: score, now: now) {
            events.append(.recommendation(raised))
        }
        return events
    }

    /// Rows of history a monitor keeps: enough for the symptom extractor's reference window.
    var historyCapacity: Int {
        guard let e = policy?.extractor else { return 64 }
        return max(e.referenceStart, e.deployLookbackRows, e.windowRows) + 2
    }

    /// Brings the copies of the queue's decisions and policy up to date, once per call.
    func refreshQueueCopies(_ queue: any ApprovalStore) throws(EngineError) {
        guard !queueCopiesChecked else { return }
        queueCopiesChecked = true
        let stamp = try queue.changeStamp()
        if stamp.lastEventID != decisionCopiesAsOf {
            decisionCopies.removeAll(keepingCapacity: true)
            decisionCopiesAsOf = stamp.lastEventID
        }
        if stamp.guardRevision != guardFactsAsOf {
            guardFactsCopies.removeAll(keepingCapacity: true)
            guardFactsAsOf = stamp.guardRevision
        }
        // Outcomes recorded meanwhile (`triage outcome`, another process) have taught it; the
        // policy is decoded again only when its stored revision changed.
        if stamp.policyRevision != policyRevision, let stored = try queue.policy() {
            policy = stored.policy
            policyRevision = stamp.policyRevision
        }
    }

    /// The guards' facts of `service`, from the copy while it is valid. A copy whose breakers the
    /// clock has moved on (a wait over, or a clock gone back) is read again, so the queue
    /// stores that change.
    func guardFacts(_ queue: any ApprovalStore, service: String, now: Int64) throws(EngineError) -> RemediationGuards.Facts {
        if let copy = guardFactsCopies[service], !copy.breakers.contains(where: { facts in
            var breaker = facts.breaker
            return breaker.advance(to: now, settings: settings.guards.breaker).changed
        }) {
            return copy
        }
        let facts = try queue.guardFacts(service: service, now: now)
        guardFactsCopies[service] = facts
        return facts
    }

    /// Raises the next recommendation of the open incident when one is due.
    private func recommend(_ monitor: inout ServiceMonitor, service: String, time: Int64,
                           score: BundleDetectors.RowScore, now: Int64) throws(EngineError) -> Recommendation? {
        guard self.policy != nil else { return nil }
        let first = monitor.incidentRecommendations.isEmpty && !monitor.raisedWithoutQueue
        guard first || monitor.rowsSinceRecommendation >= settings.escalateAfterRows || monitor.escalationDue else { return nil }
        var tried = ActionSet(), refused = ActionSet()
        if let queue {
            // One open question per incident: while this incident's last recommendation waits
            // for a person, no other is raised. (A pending one from an earlier incident does not
            // block: it stays until its TTL, as the person may still want it.)
            for decision in try incidentDecisions(monitor, queue: queue) {
                switch decision.status(at: now) {
                case .pending: return nil
                case .approved: tried = tried.adding(decision.action)
                case .rejected: refused = refused.adding(decision.action)
                case .expired: break
                }
            }
        } else if !first && !monitor.escalationDue {
            // Without a queue no decision is ever known: one recommendation per incident, and
            // one more when it becomes critical.
            return nil
        }
        guard let policy = self.policy else { return nil }
        var allowed = ActionSet(rawValue: ActionSet.all.rawValue & ~refused.rawValue & ~tried.rawValue)
        var guardReasons = [String](), trialActions = ActionSet()
        if let queue {
            // Open breakers and the cooldown narrow the choice; the policy picks among the rest.
            let verdict = RemediationGuards.verdict(try guardFacts(queue, service: service, now: now), service: service,
                                                    candidates: allowed, time: time, now: now, settings: settings.guards)
            allowed = ActionSet(rawValue: allowed.rawValue & ~verdict.blocked.rawValue)
            guardReasons = verdict.reasons
            trialActions = verdict.trials
        }
        let baseline = detectors.baselines[service]
        guard let symptoms = policy.extractor.symptoms(monitor.series, startRow: monitor.series.count - 1, baseline: baseline),
              var choice = policy.recommendation(symptoms, tried: tried, allowed: allowed) else { return nil }
        var escalationReason: String?
        if monitor.tracker.state == .critical {
            monitor.escalationDue = false
            guard let critical = criticalChoice(choice, policy: policy, symptoms: symptoms, tried: tried, allowed: allowed,
                                                escalation: monitor.escalation) else {
                // A person was already asked (alert tried or refused) and nothing has strong
                // evidence: wait, as after any decided recommendation.
                monitor.rowsSinceRecommendation = 0
                return nil
            }
            (choice, escalationReason) = critical
        }
        monitor.rowsSinceRecommendation = 0
        let scaling = choice.action == .scaleUp ? scaleUpParameters(service: service, values: monitor.lastValues) : nil
        var reasons = Self.reasons(score: score, symptoms: symptoms, choice: choice, tried: tried, guards: guardReasons)
        if let escalationReason { reasons.insert(escalationReason, at: 0) }
        if let scaling { reasons.append(scaling.reason) }
        let recommendation = Recommendation(
            service: service, action: choice.action, confidence: min(1, max(0, choice.confidence)), created: time,
            raisedAt: now, expires: now + settings.ttlSeconds, reasons: reasons, parameters: scaling?.parameters ?? [:],
            scores: Self.scores(score), symptoms: symptoms, tried: tried)
        guard let queue else {
            monitor.raisedWithoutQueue = true
            return recommendation
        }
        let raised = try queue.raise(recommendation).recommendation
        // Raising a half-open breaker's action took its trial (`ApprovalQueue.takeTrial`): the copy
        // says so, as a read would, instead of being read again after every raise.
        if trialActions.contains(raised.action), var facts = guardFactsCopies[service],
           let k = facts.breakers.firstIndex(where: { $0.action == raised.action }) {
            facts.breakers[k].pendingTrial = raised.id
            facts.breakers[k].pendingTrialExpires = raised.expires
            guardFactsCopies[service] = facts
        }
        decisionCopies[raised.id] = ApprovalQueue.Decision(status: raised.status, action: raised.action, expires: raised.expires,
                                                           outcome: raised.outcome)
        // Already in the queue for this row (`isNew` false): the row is replayed after a crash or a
        // failed run, from the last committed position, whose events never covered this row; it
        // is reported again, with its id, so the rerun's events equal an uninterrupted run's.
        // One this incident already holds (a repeated timestamp) is not reported twice.
        guard !monitor.incidentRecommendations.contains(raised.id) else { return nil }
        monitor.incidentRecommendations.append(raised.id)
        return raised
    }

    /// What an approver reads: the detector features furthest from the service's baseline, the
    /// symptom levels that are not normal, and the policy's support.
    static func reasons(score: BundleDetectors.RowScore, symptoms: Symptoms, choice: RemediationPolicy.Recommendation,
                        tried: ActionSet, guards: [String] = []) -> [String] {
        var reasons = [String]()
        let names = ServiceFeatureExtractor.featureNames
        let ranked = score.features.indices.sorted { abs(score.features[$0]) > abs(score.features[$1]) }
        for j in ranked.prefix(3) where abs(score.features[j]) >= 1 {
            // Undo the log compression for the reader: |z| = e^|f| − 1 baseline spreads.
            let z = Double(score.features[j]).magnitude
            let spread = (Foundation.exp(z) - 1)
            let direction = score.features[j] > 0 ? "above" : "below"
            reasons.append("\(names[j].dropLast(2)) is \(format(spread)) baseline spreads \(direction) its normal level")
        }
        let f = symptoms.features, l = symptoms.levels
        if l[0] != 1 { reasons.append("request rate \(format(f[0]))× its recent level") }
        if l[1] != 1 { reasons.append("CPU \(format(f[1]))× its recent level") }
        if l[2] > 0 { reasons.append("p99 latency \(format(f[2]))× its recent level") }
        if l[3] > 0 { reasons.append("error rate \(format(f[3] * 100)) points above its recent level") }
        if l[4] > 0 { reasons.append("memory peaked at \(format(f[4])) %") }
        if l[5] > 0 { reasons.append("heartbeat \(format(f[5])) s old") }
        if l[6] > 0 { reasons.append("a deploy just happened") }
        if !tried.actions.isEmpty { reasons.append("already tried: " + tried.actions.map(\.name).joined(separator: ", ")) }
        reasons += guards
        let match = choice.exactMatch ? "these symptoms" : "the nearest symptom pattern seen"
        reasons.append("policy: \(choice.action.name) ends about \(Int((choice.confidence * 100).rounded())) % of incidents with \(match) (\(choice.evidence) logged attempts)")
        return reasons
    }

    /// The detector scores a recommendation carries.
    static func scores(_ score: BundleDetectors.RowScore) -> [String: Double] {
        var scores = [String: Double]()
        if let s = score.isolationForest { scores["iforest"] = s.score }
        if let s = score.autoencoder { scores["autoencoder"] = s.score }
        return scores
    }

    static func format(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        let rounded = x >= 10 ? (x * 1).rounded() / 1 : (x * 10).rounded() / 10
        // Int(_:) traps beyond ±9.2e18: a damaged column (a heartbeat age of 1e300) reaches the
        // reasons, so such values keep Double's own notation.
        guard abs(rounded) < 1e15 else { return "\(rounded)" }
        return rounded == rounded.rounded() ? String(Int(rounded)) : "\(rounded)"
    }
}

/// Per-service state of the engine: health, recent rows for the symptoms, the open incident.
struct ServiceMonitor: Codable {
    var tracker: HealthTracker
    let capacity: Int
    private(set) var times: [Int64] = []
    private(set) var values: [[Double]] = Array(repeating: [], count: ServiceMetric.allCases.count)
    var incidentStart: Int64?
    var incidentRecommendations: [String] = []
    var raisedWithoutQueue = false
    var rowsSinceRecommendation = 0
    /// Why the open incident is critical (nil: not escalated).
    var escalation: CriticalEscalation.Escalation?
    /// Escalated since its last recommendation: the next one is raised without waiting
    /// `escalateAfterRows` (still not while one of the incident's waits for a person).
    var escalationDue = false
    var scaleDown = ScaleDownStabilisation()
    /// The service's scaling targets, worked out on first use; not stored in the checkpoint
    /// (they come from the settings and the bundle, which may differ after a restart).
    var scalingTargets: ScalingTargets.Resolved?

    init(settings: HealthTracker.Settings, capacity: Int) {
        tracker = HealthTracker(settings: settings)
        self.capacity = capacity
    }

    enum CodingKeys: String, CodingKey {
        case tracker, capacity, times, values, incidentStart, incidentRecommendations, raisedWithoutQueue, rowsSinceRecommendation
        case escalation, escalationDue = "escalation_due", scaleDown = "scale_down"
        /// The history as raw little-endian bytes (base64 in JSON): NaN and ±inf kept exactly,
        /// and about 20× faster to encode than numbers in JSON — the checkpoint is written every
        /// second while rows arrive, and as JSON numbers it cost 4 % of ingest.
        case timesBytes = "times_i64le", valuesBytes = "values_f64le"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tracker, forKey: .tracker)
        try container.encode(capacity, forKey: .capacity)
        try container.encode(Self.bytes(times.map { UInt64(bitPattern: $0) }), forKey: .timesBytes)
        try container.encode(values.map { Self.bytes($0.map(\.bitPattern)) }, forKey: .valuesBytes)
        try container.encodeIfPresent(incidentStart, forKey: .incidentStart)
        try container.encode(incidentRecommendations, forKey: .incidentRecommendations)
        try container.encode(raisedWithoutQueue, forKey: .raisedWithoutQueue)
        try container.encode(rowsSinceRecommendation, forKey: .rowsSinceRecommendation)
        try container.encodeIfPresent(escalation, forKey: .escalation)
        try container.encode(escalationDue, forKey: .escalationDue)
        try container.encode(scaleDown, forKey: .scaleDown)
    }

    /// Reads both the byte form and the numbers of states checkpointed before it.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tracker = try container.decode(HealthTracker.self, forKey: .tracker)
        capacity = try container.decode(Int.self, forKey: .capacity)
        if container.contains(.timesBytes) {
            times = try Self.words(container.decode(Data.self, forKey: .timesBytes), path: container.codingPath).map { Int64(bitPattern: $0) }
            values = try container.decode([Data].self, forKey: .valuesBytes).map {
                try Self.words($0, path: container.codingPath).map(Double.init(bitPattern:))
            }
        } else {
            times = try container.decode([Int64].self, forKey: .times)
            values = try container.decode([[Double]].self, forKey: .values)
        }
        incidentStart = try container.decodeIfPresent(Int64.self, forKey: .incidentStart)
        incidentRecommendations = try container.decode([String].self, forKey: .incidentRecommendations)
        raisedWithoutQueue = try container.decode(Bool.self, forKey: .raisedWithoutQueue)
        rowsSinceRecommendation = try container.decode(Int.self, forKey: .rowsSinceRecommendation)
        // Absent from states checkpointed before the critical state and scale_down existed.
        escalation = try container.decodeIfPresent(CriticalEscalation.Escalation.self, forKey: .escalation)
        escalationDue = try container.decodeIfPresent(Bool.self, forKey: .escalationDue) ?? false
        scaleDown = try container.decodeIfPresent(ScaleDownStabilisation.self, forKey: .scaleDown) ?? ScaleDownStabilisation()
    }

    static func bytes(_ words: [UInt64]) -> Data {
        var data = Data(capacity: words.count * 8)
        for word in words { withUnsafeBytes(of: word.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func words(_ data: Data, path: [any CodingKey]) throws -> [UInt64] {
        guard data.count % 8 == 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "history bytes are not whole 8-byte words"))
        }
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / 8)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
    }

    mutating func remember(time: Int64, values row: [Double]) {
        times.append(time)
        for m in 0..<values.count { values[m].append(row[m]) }
        if times.count > 2 * capacity {
            // Drop in batches: amortised O(1) per row.
            times.removeFirst(times.count - capacity)
            for m in 0..<values.count { values[m].removeFirst(values[m].count - capacity) }
        }
    }

    var series: ServiceSeries { ServiceSeries(times: times, values: values) }
    var lastValues: [Double] { values.map { $0.last ?? .nan } }

    mutating func openIncident(at time: Int64) {
        incidentStart = time
        incidentRecommendations = []
        raisedWithoutQueue = false
        rowsSinceRecommendation = 0
        escalation = nil
        escalationDue = false
    }

    mutating func closeIncident() {
        incidentStart = nil
        incidentRecommendations = []
        raisedWithoutQueue = false
        escalation = nil
        escalationDue = false
    }

    mutating func escalate(_ escalation: CriticalEscalation.Escalation) {
        self.escalation = escalation
        escalationDue = true
    }
}

import Foundation
