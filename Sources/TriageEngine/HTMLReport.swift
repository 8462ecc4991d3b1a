import TriageCore
import TriageData

/// A self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched) that shows what
/// the engine saw and proposed: per service, the anomaly score over time with the health states
/// shaded and the recommendations marked; then every recommendation with its decision and
/// outcome. Built from neutral values so the CLI (`triage report`) and the server can both use it.
public struct HTMLReport {
    public struct ScorePoint: Sendable, Equatable {
        public var time: Int64
        public var score: Double
        public init(time: Int64, score: Double) {
            self.time = time
            self.score = score
        }
    }

    public struct StateChange: Sendable, Equatable {
        public var time: Int64
        public var state: HealthState
        /// Why a change into `critical` happened (its event's cause, observed value, threshold).
        public var escalation: CriticalEscalation.Escalation?
        public init(time: Int64, state: HealthState, escalation: CriticalEscalation.Escalation? = nil) {
            self.time = time
            self.state = state
            self.escalation = escalation
        }
    }

    public struct Track: Sendable {
        public var service: String
        public var points: [ScorePoint]
        public var changes: [StateChange]
        public init(service: String, points: [ScorePoint], changes: [StateChange]) {
            self.service = service
            self.points = points
            self.changes = changes
        }
    }

    public var title: String
    public var sources: [String]
    public var generated: Int64
    public var tracks: [Track]
    public var recommendations: [Recommendation]
    /// Whether `recommendations` come from the queue (decisions known) or only from events.
    public var fromQueue: Bool

    public init(title: String, sources: [String], generated: Int64, tracks: [Track], recommendations: [Recommendation],
                fromQueue: Bool) {
        self.title = title
        self.sources = sources
        self.generated = generated
        self.tracks = tracks.sorted { $0.service < $1.service }
        self.recommendations = recommendations.sorted { ($0.created, $0.service) < ($1.created, $1.service) }
        self.fromQueue = fromQueue
    }

    /// Points drawn per service at most: each kept point is the maximum of its bucket, so a
    /// one-row spike survives the thinning.
    static let maximumPoints = 1_200

    public func render() -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1d232b}
            h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px} .muted{color:#67707c}
            table{border-collapse:collapse;width:100%;margin:8px 0} th,td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left;vertical-align:top}
            th{background:#f5f6f8;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
            .pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px}
            .pending{background:#fff3cd}.approved{background:#d4edda}.rejected{background:#f8d7da}.expired{background:#e2e3e5}
            svg{display:block;margin:4px 0 16px} .legend span{margin-right:14px}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <div class="muted">generated \(Timestamp.iso(generated)) from \(sources.map(Self.escape).joined(separator: ", "))</div>

            """
        html += summary()
        html += "<h2>Services</h2>\n<div class=\"legend muted\"><span>— anomaly score (0–1)</span>"
            + "<span style=\"color:#d9822b\">■ degraded</span><span style=\"color:#c23030\">■ unhealthy</span>"
            + "<span style=\"color:#6b0f1a\">■ critical</span>"
            + "<span>▲ recommendation</span></div>\n"
        for track in tracks { html += chart(track) }
        html += availabilityTable()
        html += escalationTable()
        html += table()
        html += "</body></html>\n"
        return html
    }

    func summary() -> String {
        let rows = tracks.reduce(0) { $0 + $1.points.count }
        let first = tracks.compactMap { $0.points.first?.time }.min()
        let last = tracks.compactMap { $0.points.last?.time }.max()
        let incidents = tracks.reduce(0) { $0 + $1.changes.filter { $0.state == .unhealthy }.count }
        var counts = [Recommendation.Status: Int]()
        for r in recommendations { counts[r.status, default: 0] += 1 }
        let outcomes = recommendations.compactMap(\.outcome)
        let successes = outcomes.filter { $0 == .success }.count
        var cells: [(String, String)] = [
            ("services", "\(tracks.count)"), ("rows scored", "\(rows)"),
            ("period", first.map { "\(Timestamp.iso($0)) – \(Timestamp.iso(last ?? $0))" } ?? "–"),
            ("incidents opened", "\(incidents)"),
            ("critical escalations", "\(tracks.reduce(0) { $0 + $1.changes.filter { $0.state == .critical }.count })"),
            ("recommendations", "\(recommendations.count)"),
        ]
        if fromQueue {
            cells.append(("decisions", Recommendation.Status.allCases.map { "\(counts[$0, default: 0]) \($0.rawValue)" }
                .joined(separator: ", ")))
            cells.append(("outcomes", outcomes.isEmpty ? "none recorded" : "\(successes) of \(outcomes.count) succeeded"))
        }
        return "<h2>Summary</h2>\n<table>" + cells.map { "<tr><th>\(Self.escape($0.0))</th><td>\(Self.escape($0.1))</td></tr>" }
            .joined() + "</table>\n"
    }

    func chart(_ track: Track) -> String {
        let width = 1_000.0, height = 110.0, top = 6.0, plot = height - top - 18
        guard let start = track.points.first?.time, let end = track.points.last?.time else {
            return "<h3>\(Self.escape(track.service))</h3><p class=\"muted\">no scored rows</p>\n"
        }
        let span = Double(max(1, end - start))
        func x(_ t: Int64) -> Double { (Double(t - start) / span * width).clamped(0, width) }
        func y(_ s: Double) -> Double { top + (1 - s.clamped(0, 1)) * plot }
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"\(Self.escape(track.service)) anomaly score\">"
        // State bands: each change lasts until the next one (or the end).
        for (k, change) in track.changes.enumerated() where change.state != .healthy {
            let until = k + 1 < track.changes.count ? track.changes[k + 1].time : end
            let color = change.state == .critical ? "#6b0f1a" : change.state == .unhealthy ? "#c23030" : "#d9822b"
            svg += "<rect x=\"\(Self.fixed(x(change.time)))\" y=\"\(top)\" width=\"\(Self.fixed(max(1, x(until) - x(change.time))))\" height=\"\(plot)\" fill=\"\(color)\" opacity=\"0.18\"/>"
        }
        let bucket = max(1, (track.points.count + Self.maximumPoints - 1) / Self.maximumPoints)
        var path = [String]()
        var i = 0
        while i < track.points.count {
            let slice = track.points[i..<min(track.points.count, i + bucket)]
            let peak = slice.max { $0.score < $1.score }!
            path.append("\(Self.fixed(x(peak.time))),\(Self.fixed(y(peak.score)))")
            i += bucket
        }
        svg += "<polyline fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"1.2\" points=\"\(path.joined(separator: " "))\"/>"
        for r in recommendations where r.service == track.service {
            let cx = x(r.created)
            svg += "<path d=\"M\(Self.fixed(cx - 5)) \(Self.fixed(height - 2)) L\(Self.fixed(cx + 5)) \(Self.fixed(height - 2)) L\(Self.fixed(cx)) \(Self.fixed(height - 11)) Z\" fill=\"#1d232b\"><title>\(Self.escape(r.id.isEmpty ? r.action.name : "\(r.id) \(r.action.name)"))</title></path>"
        }
        svg += "</svg>"
        return "<h3>\(Self.escape(track.service))</h3><div class=\"muted\">\(Timestamp.iso(start)) – \(Timestamp.iso(end))</div>\(svg)\n"
    }

    /// Every change into `critical`, with its cause and the threshold it crossed.
    func escalationTable() -> String {
        let rows = tracks.flatMap { track in track.changes.filter { $0.state == .critical }.map { (track.service, $0) } }
            .sorted { ($0.1.time, $0.0) < ($1.1.time, $1.0) }
        var html = "<h2>Critical escalations</h2>\n<p class=\"muted\">An open incident becomes critical when an approved "
            + "action failed, the heartbeat is lost or the incident outlives its limit; a critical service gets a person "
            + "(alert) unless an untried action has strong evidence.</p>\n"
        guard !rows.isEmpty else { return html + "<p class=\"muted\">none</p>\n" }
        html += "<table><tr><th>time</th><th>service</th><th>cause</th><th>observed</th><th>threshold</th></tr>\n"
        for (service, change) in rows {
            let e = change.escalation
            html += "<tr><td>\(Timestamp.iso(change.time))</td><td>\(Self.escape(service))</td>"
                + "<td>\(Self.escape(e?.cause.rawValue ?? "–"))</td><td>\(Self.escape(e?.observed ?? "–"))</td>"
                + "<td>\(Self.escape(e?.threshold ?? "–"))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    func table() -> String {
        guard !recommendations.isEmpty else { return "<h2>Recommendations</h2><p class=\"muted\">none raised</p>\n" }
        var html = "<h2>Recommendations</h2>\n<table><tr><th>id</th><th>service</th><th>action</th><th>confidence</th>"
            + "<th>created</th><th>status</th><th>decided by</th><th>outcome</th><th>reasons</th></tr>\n"
        for r in recommendations {
            let outcome = r.outcome.map { o in o.rawValue + (r.recoverySeconds.map { " (\(Int($0)) s)" } ?? "") } ?? ""
            html += "<tr><td>\(Self.escape(r.id.isEmpty ? "–" : r.id))</td><td>\(Self.escape(r.service))</td>"
                + "<td>\(Self.escape(r.action.name))</td><td class=\"num\">\(Self.fixed(r.confidence))</td>"
                + "<td>\(Timestamp.iso(r.created))</td>"
                + "<td>\(fromQueue ? "<span class=\"pill \(r.status.rawValue)\">\(r.status.rawValue)</span>" : "<span class=\"muted\">not queued</span>")</td>"
                + "<td>\(Self.escape(Self.decider(r)))</td><td>\(Self.escape(outcome))</td>"
                + "<td>\(r.reasons.map(Self.escape).joined(separator: "<br>"))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// "NAME (account X)" for a decision on the command line, "NAME (token)" over HTTP (the token
    /// is the name), just the name when the queue did not record how (before it kept the account).
    static func decider(_ r: Recommendation) -> String {
        guard let name = r.decidedBy else { return "" }
        switch (r.decidedChannel, r.decidedAccount) {
        case (.cli?, let account?): return "\(name) (account \(account))"
        case (.http?, _): return "\(name) (token)"
        default: return name
        }
    }

    /// HTML-escapes `text` after showing control characters as visible escapes
    /// (`TerminalText`): they are not allowed in HTML text and would otherwise vanish or garble.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in TerminalText.escaped(text) {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func fixed(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        return scaled == scaled.rounded() ? String(Int(scaled)) : "\(scaled)"
    }
}

extension Double {
    func clamped(_ low: Double, _ high: Double) -> Double { Swift.min(high, Swift.max(low, self)) }
}
