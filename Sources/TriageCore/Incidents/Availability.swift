/// Reliability figures of one service from its outages: incidents, MTTR, MTBF and the
/// steady-state availability MTBF / (MTBF + MTTR).
///
/// Definitions (Atlassian, "Common incident management metrics", and the Google SRE book,
/// ch. 3 "Embracing Risk", time-based availability = uptime / (uptime + downtime)):
///
///     outage k      = [startₖ, endₖ]  (detection → recovery: the incident opened → fixed)
///     MTTR          = Σ (endₖ − startₖ) / n                 (mean time to recovery)
///     MTBF          = Σ (startₖ₊₁ − endₖ) / (n − 1)         (mean uptime between failures:
///                                                          recovery → next detection)
///     availability  = MTBF / (MTBF + MTTR)
///
/// MTBF here is Atlassian's "total uptime ÷ number of failures" over the span the log itself
/// covers (first detection to last recovery), so it needs no outside observation window and
/// two incidents at least; with one, MTBF and availability are nil (unknown, not 100 %).
/// Overlapping or touching outages of one service are merged first: a service cannot fail
/// again while it is down, and a negative uptime would be meaningless.
///
/// - Complexity: O(n log n) for the sort.
public struct Availability: Sendable, Equatable {
    /// Outages after merging.
    public var incidents: Int
    /// Mean seconds from detection to recovery.
    public var mttr: Double
    /// Mean seconds from a recovery to the next detection; nil with fewer than two outages.
    public var mtbf: Double?
    /// MTBF / (MTBF + MTTR) in [0, 1]; nil when MTBF is.
    public var availability: Double?

    public init(incidents: Int, mttr: Double, mtbf: Double?, availability: Double?) {
        self.incidents = incidents
        self.mttr = mttr
        self.mtbf = mtbf
        self.availability = availability
    }

    /// The figures of outages `[start, end]` (seconds; `end ≥ start`), in any order; nil when
    /// there are none.
    public static func of(outages: [(start: Int64, end: Int64)]) -> Availability? {
        let sorted = outages.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
        var merged = [(start: Int64, end: Int64)]()
        for outage in sorted {
            if let last = merged.last, outage.start <= last.end {
                merged[merged.count - 1].end = max(last.end, outage.end)
            } else {
                merged.append(outage)
            }
        }
        guard !merged.isEmpty else { return nil }
        let downtime = merged.reduce(0.0) { $0 + Double($1.end - $1.start) }
        let mttr = downtime / Double(merged.count)
        guard merged.count >= 2 else { return Availability(incidents: 1, mttr: mttr, mtbf: nil, availability: nil) }
        let span = Double(merged[merged.count - 1].end - merged[0].start)
        let mtbf = (span - downtime) / Double(merged.count - 1)
        return Availability(incidents: merged.count, mttr: mttr, mtbf: mtbf, availability: ratio(mtbf: mtbf, mttr: mttr))
    }

    /// MTBF / (MTBF + MTTR), 1 when both are 0 (nothing ever down).
    public static func ratio(mtbf: Double, mttr: Double) -> Double {
        mtbf + mttr > 0 ? mtbf / (mtbf + mttr) : 1
    }
}
