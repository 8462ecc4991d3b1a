import Testing
@testable import TriageCore

@Suite struct AlarmHoldOffTests {
    @Test func holdsTheNextPointsThenReleases() {
        var p = AlarmHoldOff.Parameters()
        p.points = 3
        var hold = AlarmHoldOff(parameters: p)
        let input = [0.1, 0.9, 0.8, 0.2, 0.95, 0.7, 0.6]
        let output = input.map { hold.filter($0) }
        // 0.9 alarms; the next 3 are capped at 0.375; 0.7 is free again and alarms.
        #expect(output == [0.1, 0.9, 0.375, 0.2, 0.375, 0.7, 0.375])
    }

    @Test func zeroPointsIsTheIdentityAndParametersAreChecked() throws {
        var p = AlarmHoldOff.Parameters()
        p.points = 0
        var hold = AlarmHoldOff(parameters: p)
        for s in [0.9, 0.95, 0.99, 0.1] { #expect(hold.filter(s) == s) }
        p.suppressed = 0.6
        #expect(throws: EstimatorError.self) { try p.validate() }
        var config = OnlineDetectorConfiguration()
        config.holdOff.points = -1
        #expect(throws: EstimatorError.self) { try SeriesAnomalyDetector(configuration: config) }
    }

    @Test func aBurstOfOutliersAlarmsOnce() throws {
        var random = RandomSource(seed: 4)
        var detector = try SeriesAnomalyDetector(seed: 0)
        var scores = [Double]()
        for i in 0..<1_500 {
            let v = 10 + 0.2 * random.normal() + (i >= 1_200 && i < 1_205 ? 30 : 0)
            scores.append(detector.process(v).score)
        }
        #expect(scores[1_200] >= 0.5)
        #expect(scores[1_201..<1_220].allSatisfy { $0 <= 0.375 })
    }
}
