import Testing
import TriageData
@testable import TriageEngine

@Test func aHeartbeatEventCarriesTheServicesLastRowStateAndTheRowsRead() {
    let event = EngineEvent.heartbeat(service: "api", time: 86_400, lastRow: 86_340, state: .degraded, rows: 12)
    #expect(event.serialized() == "{\"last_row\":\"1970-01-01T23:59:00Z\",\"rows\":12,\"service\":\"api\",\"state\":\"degraded\","
            + "\"timestamp\":\"1970-01-02T00:00:00Z\",\"type\":\"heartbeat\"}")
}
