import Foundation
import Testing
@testable import TriageCore

@Suite struct RangeBreakDetectorTests {
    @Test func excessIsInUnitsOfTheRangeBeforeTheValue() {
        var range = RangeBreakDetector()
        #expect(range.update(10) == 0)  // no range yet
        #expect(range.update(20) == 0)  // range still empty before this value
        #expect(range.update(15) == 0)  // inside [10, 20]
        #expect(range.update(25) == 0.5)  // 5 above a width of 10
        #expect(range.update(0) == 10.0 / 15.0)  // range is now [10, 25]
        #expect(range.minimum == 0 && range.maximum == 25)
    }

    @Test func stationaryNoiseBreaksFewRecords() {
        // Records among n exchangeable values: about ln n + 0.58 (≈ 9.8 for n = 10 000) per side.
        var range = RangeBreakDetector()
        var random = RandomSource(seed: 11)
        var breaks = 0
        for _ in 0..<10_000 where range.update(random.normal()) > 0 { breaks += 1 }
        #expect(breaks >= 6 && breaks <= 40)
    }

    @Test func decayForgetsAnAbandonedRegime() {
        var plain = RangeBreakDetector(), decaying = RangeBreakDetector(decay: 0.01)
        for v in [0.0, 100, 50] { _ = plain.update(v); _ = decaying.update(v) }
        for _ in 0..<2_000 { _ = plain.update(50); _ = decaying.update(50) }
        #expect(plain.excess(60) == 0)
        #expect(decaying.excess(60) > 0)
    }
}

@Suite struct GradedRangeRuleTests {
    @Test func aRecordScoresAtLeastTheBreakScoreAndTheOldRuleIsAvailable() throws {
        var values = [Double]()
        var random = RandomSource(seed: 2)
        for i in 0..<1_000 { values.append(10 + 3 * sin(Double(i) * 2 * .pi / 50) + 0.2 * random.normal()) }
        values.append(13.6)  // just above the range (≈ 13.5), far below the old 20 % tolerance
        var graded = try SeriesAnomalyDetector(seed: 0)
        var config = OnlineDetectorConfiguration()
        config.rangeBreakScore = 1
        var thresholded = try SeriesAnomalyDetector(configuration: config, seed: 0)
        var a = 0.0, b = 0.0
        for v in values {
            a = graded.process(v).score
            b = thresholded.process(v).score
        }
        #expect(a >= 0.5 && a < 1)
        #expect(b < 1)
        config.rangeBreakScore = 1.5
        #expect(throws: EstimatorError.self) { try SeriesAnomalyDetector(configuration: config) }
    }
}
