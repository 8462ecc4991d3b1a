import TriageCore

/// The files of `triage simulate` (../shared/CLI.md): metrics.csv, incidents.csv, truth.json.
extension Simulation {
    public static let metricsHeader = "timestamp,service," + ServiceMetric.names.joined(separator: ",")
    public static let incidentsHeader = "incident_id,service,start,end,fault,action,outcome,recovery_seconds"

    /// Decimal places written per metric: enough for the signal, no more (files stay small
    /// and the values the engine computed are exactly what a reader gets back).
    static let decimals = [1, 1, 1, 4, 1, 0, 1]

    /// metrics.csv bytes: one row per service per interval, in time order, services in order.
    /// Row blocks are formatted in parallel and joined in order.
    public func metricsCSV(threads: Int = 1) -> [UInt8] {
        let rows = settings.rowsPerService
        let blocks = Parallel.ranges(rows, chunks: max(1, threads) * 8)
        let names = profiles.map { Array($0.name.utf8) }
        let parts = Parallel.map(blocks.count, threads: threads) { b -> [UInt8] in
            var out = [UInt8]()
            out.reserveCapacity(blocks[b].count * names.count * 64)
            for k in blocks[b] {
                let stamp = Timestamp.isoBytes(settings.start + Int64(k * settings.interval))
                for s in 0..<names.count {
                    out.append(contentsOf: stamp)
                    out.append(44)
                    out.append(contentsOf: names[s])
                    for m in 0..<Simulation.decimals.count {
                        out.append(44)
                        appendFixed(&out, metrics[s][m][k], decimals: Simulation.decimals[m])
                    }
                    out.append(10)
                }
            }
            return out
        }
        var out = Array((Simulation.metricsHeader + "\n").utf8)
        out.reserveCapacity(parts.reduce(out.count) { $0 + $1.count })
        for part in parts { out.append(contentsOf: part) }
        return out
    }

    /// incidents.csv bytes: one row per remediation attempt. Attempts of one incident share the
    /// id stem and follow each other without a gap (`INC-00007-1` ends when `INC-00007-2`
    /// starts); `recovery_seconds` is the attempt's length, from the start of deciding to the
    /// fix (success) or to knowing it did not work (failure).
    public func incidentsCSV() -> [UInt8] {
        var text = Simulation.incidentsHeader + "\n"
        for incident in incidents {
            var start = incident.event.detection
            for (k, attempt) in incident.event.attempts.enumerated() {
                let end = start + Int64(attempt.seconds)
                text += "\(incident.id)-\(k + 1),\(incident.service),\(Timestamp.iso(start)),\(Timestamp.iso(end)),"
                text += "\(incident.event.fault.name),\(attempt.action.name),\(attempt.succeeded ? "success" : "failure"),"
                text += "\(Int64(attempt.seconds))\n"
                start = end
            }
        }
        return Array(text.utf8)
    }

    /// truth.json bytes: every injected fault with its true window and best action.
    public func truthJSON() -> [UInt8] {
        var text = "{\"faults\": ["
        for (i, incident) in incidents.enumerated() {
            let e = incident.event
            text += i == 0 ? "\n  " : ",\n  "
            text += "{\"service\": \"\(incident.service)\", \"start\": \"\(Timestamp.iso(e.onset))\", "
            text += "\"end\": \"\(Timestamp.iso(e.recovery))\", \"fault\": \"\(e.fault.name)\", "
            text += "\"best_action\": \"\(e.fault.bestAction.name)\", \"incident_id\": \"\(incident.id)\"}"
        }
        text += incidents.isEmpty ? "]}\n" : "\n]}\n"
        return Array(text.utf8)
    }
}

/// Appends `value` with exactly `decimals` places (round half away from zero), without going
/// through a formatter: this is most of simulate's time.
@inline(__always)
func appendFixed(_ out: inout [UInt8], _ value: Double, decimals: Int) {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    var scaled = (abs(value) * scale).rounded()
    if value < 0 && scaled > 0 { out.append(45) }
    if scaled >= 9e15 { scaled = 9e15 }
    let n = UInt64(scaled)
    var width = 1
    while width < 19 && n >= powersOfTen[width] { width += 1 }
    width = max(width, decimals + 1)
    for i in stride(from: width - 1, through: 0, by: -1) {
        out.append(UInt8(48 + (n / powersOfTen[i]) % 10))
        if i == decimals && decimals > 0 { out.append(46) }
    }
}

private let powersOfTen: [UInt64] = (0..<20).map { i in (0..<i).reduce(UInt64(1)) { v, _ in v &* 10 } }
