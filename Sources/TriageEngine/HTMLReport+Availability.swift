import Foundation
import TriageCore

extension HTMLReport {
    /// The outages of a track as its state events show them: from the change into `unhealthy`
    /// (the incident opens: detection) to the next change back to `healthy` (recovery). States
    /// in between (`degraded` on the way down, any worse state) keep the outage open; an outage
    /// still open at the last scored row ends there, so the figures cover only what was seen.
    static func outages(_ track: Track) -> [(start: Int64, end: Int64)] {
        var outages = [(start: Int64, end: Int64)]()
        var open: Int64?
        for change in track.changes {
            switch change.state {
            case .healthy:
                if let start = open { outages.append((start, max(start, change.time))) }
                open = nil
            case .degraded:
                continue
            default:
                if open == nil { open = change.time }
            }
        }
        if let start = open {
            let last = max(start, track.points.last?.time ?? start, track.changes.last?.time ?? start)
            outages.append((start, last))
        }
        return outages
    }

    /// Incidents, MTTR, MTBF and availability = MTBF / (MTBF + MTTR) per service
    /// (`Availability` has the definitions).
    func availabilityTable() -> String {
        var html = "<h2>Availability</h2>\n<p class=\"muted\">From the health states: an incident runs from the change "
            + "into unhealthy to the return to healthy. MTTR = mean incident length; MTBF = mean time from a recovery "
            + "to the next incident; availability = MTBF / (MTBF + MTTR); – where fewer than two incidents leave it unknown.</p>\n"
            + "<table><tr><th>service</th><th>incidents</th><th>MTTR</th><th>MTBF</th><th>availability</th></tr>\n"
        for track in tracks {
            let figures = Availability.of(outages: Self.outages(track))
            html += "<tr><td>\(Self.escape(track.service))</td><td class=\"num\">\(figures?.incidents ?? 0)</td>"
                + "<td class=\"num\">\(figures.map { Self.duration($0.mttr) } ?? "–")</td>"
                + "<td class=\"num\">\(figures?.mtbf.map(Self.duration) ?? "–")</td>"
                + "<td class=\"num\">\(figures?.availability.map { String(format: "%.3f %%", 100 * $0) } ?? "–")</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// Seconds as "42 s", "7.5 min" or "3.2 h".
    static func duration(_ seconds: Double) -> String {
        if seconds < 120 { return String(format: "%.0f s", seconds) }
        if seconds < 7_200 { return String(format: "%.1f min", seconds / 60) }
        return String(format: "%.1f h", seconds / 3_600)
    }
}
