import Testing
import TriageData
@testable import TriageEngine

@Test func aHeartbeatEventCarriesTheServicesLastRowStateAndTheRowsRead() {
    let event = EngineEvent.heartbeat(service: "api", time: 86_400, lastRow: 86_340, state: .degraded, rows: 12)
    #expect(event.serialized() == "{\"last_row\":\"1970-01-01T23:59:00Z\",\"rows\":12,\"service\":\"api\",\"state\":\"degraded\","
            + "\"timestamp\":\"1970-01-02T00:00:00Z\",\"type\":\"heartbeat\"}")
}

/// Other state changes keep their fields (no cause); a change into critical adds why.
@Test func aStateEventNamesTheCauseOnlyOfAnEscalation() {
    let plain = EngineEvent.state(service: "api", time: 0, from: .healthy, to: .degraded)
    #expect(plain.json.serialized() == #"{"from":"healthy","service":"api","state":"degraded","timestamp":"1970-01-01T00:00:00Z","type":"state"}"#)
    let escalation = CriticalEscalation.Escalation(cause: .incidentLimit, observed: "1800 s", threshold: "1800 s")
    let critical = EngineEvent.state(service: "api", time: 0, from: .unhealthy, to: .critical, escalation: escalation)
    #expect(critical.json.serialized() == #"{"cause":"incident_limit","from":"unhealthy","observed":"1800 s","service":"api","#
            + #""state":"critical","threshold":"1800 s","timestamp":"1970-01-01T00:00:00Z","type":"state"}"#)
}
