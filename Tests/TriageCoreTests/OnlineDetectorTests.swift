import Foundation
import Testing
@testable import TriageCore

/// A daily-looking sine with noise: the kind of series the online detector is built for.
private func series(_ n: Int, seed: UInt64 = 7) -> [Double] {
    var random = RandomSource(seed: seed)
    return (0..<n).map { i in 10 + 3 * sin(Double(i) * 2 * .pi / 50) + 0.2 * random.normal() }
}

@Suite struct SlidingIsolationForestTests {
    @Test func averagePathLengthClosedForm() {
        #expect(averagePathLength(1) == 0)
        #expect(averagePathLength(2) == 1)
        // c(256) = 2(ln 255 + γ) − 2·255/256 ≈ 10.2448
        #expect(abs(averagePathLength(256) - 10.2448) < 1e-3)
    }

    @Test func isolatedPointScoresHigher() throws {
        var forest = try SlidingIsolationForest(dimension: 2, seed: 1)
        var random = RandomSource(seed: 3)
        for _ in 0..<600 {
            let x: [Float] = [Float(random.normal()), Float(random.normal())]
            x.withUnsafeBufferPointer { forest.learn($0.baseAddress!) }
        }
        let inlier: [Float] = [0, 0], outlier: [Float] = [8, -8]
        let a = inlier.withUnsafeBufferPointer { forest.score($0.baseAddress!) }
        let b = outlier.withUnsafeBufferPointer { forest.score($0.baseAddress!) }
        #expect(b > a)
        #expect(b > 0.6 && b <= 1)
        #expect(a < 0.55)
    }

    @Test func notReadyScoresZeroAndParametersAreChecked() throws {
        let forest = try SlidingIsolationForest(dimension: 1)
        let x: [Float] = [1]
        #expect(x.withUnsafeBufferPointer { forest.score($0.baseAddress!) } == 0)
        var bad = SlidingIsolationForest.Parameters()
        bad.trees = 0
        #expect(throws: EstimatorError.self) { try SlidingIsolationForest(dimension: 1, parameters: bad) }
        #expect(throws: EstimatorError.self) { try SlidingIsolationForest(dimension: 0) }
    }
}

@Suite struct CalibrationTests {
    @Test func tailCalibratorRanksAndStaysInRange() {
        var tail = TailCalibrator()
        var random = RandomSource(seed: 5)
        var last = 0.0
        for _ in 0..<2000 { last = tail.update(0.4 + 0.05 * random.uniform()) }
        #expect(tail.isReady)
        #expect(last < 2.5)
        var probe = tail
        let spike = probe.update(0.9)
        #expect(spike > 5)
        let score = AnomalyLikelihood.score(evidence: spike)
        #expect(score > 0.5 && score < 1)
        #expect(AnomalyLikelihood.score(evidence: 0) == 0)
    }

    @Test func likelihoodFlagsSustainedShiftOnce() {
        var likelihood = AnomalyLikelihood()
        var random = RandomSource(seed: 9)
        for _ in 0..<1000 { _ = likelihood.update(0.1 * random.uniform()) }
        var scores = [Double]()
        for _ in 0..<20 { scores.append(likelihood.update(0.9)) }
        #expect(scores.max()! > 0.5)
        // After the first red point the filter caps the following ones.
        let red = scores.firstIndex { $0 > 0.5 }!
        #expect(scores[(red + 1)...].allSatisfy { $0 <= AnomalyLikelihood.score(evidence: 3) + 1e-12 })
    }
}

@Suite struct SeriesAnomalyDetectorTests {
    @Test func warmUpScoresZeroThenSpikeStandsOut() throws {
        var detector = try SeriesAnomalyDetector(seed: 0)
        var values = series(1500)
        values[1200] += 25
        var scores = [Double]()
        for v in values { scores.append(detector.process(v).score) }
        #expect(scores.prefix(40).allSatisfy { $0 == 0 })
        #expect(scores.allSatisfy { $0 >= 0 && $0 <= 1 })
        let top = scores.indices.max { scores[$0] < scores[$1] }!
        #expect(top == 1200)
        #expect(scores[1200] > 0.5)
    }

    /// The tail calibrator sees the mean of the current and the previous raw forest score
    /// (`forestAveraging` 2, the default); the forest itself is not changed by it.
    @Test func forestScoreIsAveragedOverTwoPointsBeforeCalibration() throws {
        #expect(OnlineDetectorConfiguration().forestAveraging == 2)
        var single = OnlineDetectorConfiguration()
        single.forestAveraging = 1
        var averaged = try SeriesAnomalyDetector(seed: 3)
        var plain = try SeriesAnomalyDetector(configuration: single, seed: 3)
        var values = series(900)
        values[700] += 6
        var tail = TailCalibrator(parameters: OnlineDetectorConfiguration().tail)
        var previous: Double?
        var differs = false
        for v in values {
            let a = averaged.process(v), b = plain.process(v)
            #expect(a.forest == b.forest)
            guard a.forest > 0 else { continue }  // the forest scores (and the tail learns) once grown
            let expected = tail.update(previous.map { ($0 + a.forest) / 2 } ?? a.forest)
            #expect(a.forestEvidence == expected)
            differs = differs || a.forestEvidence != b.forestEvidence
            previous = a.forest
        }
        #expect(differs)
        var bad = OnlineDetectorConfiguration()
        bad.forestAveraging = 0
        #expect(throws: EstimatorError.self) { try SeriesAnomalyDetector(configuration: bad) }
    }

    @Test func sameSeedSameScores() throws {
        var a = try MetricStreamDetector(columns: 1, seed: 4)
        var b = try MetricStreamDetector(columns: 1, seed: 4)
        for v in series(800) { #expect(try a.process([v]).score == b.process([v]).score) }
    }

    @Test func checkpointResumesExactly() throws {
        let values = series(1200)
        var continuous = try MetricStreamDetector(columns: 1, seed: 2)
        var first = try MetricStreamDetector(columns: 1, seed: 2)
        var expected = [Double]()
        for v in values { expected.append(try continuous.process([v]).score) }
        for v in values[..<700] { _ = try first.process([v]) }
        let data = try JSONEncoder().encode(first)
        var restored = try JSONDecoder().decode(MetricStreamDetector.self, from: data)
        #expect(restored == first)
        for (i, v) in values.enumerated().dropFirst(700) { #expect(try restored.process([v]).score == expected[i]) }
    }

    @Test func gapLeavesStateUnchanged() throws {
        var detector = try SeriesAnomalyDetector(seed: 1)
        for v in series(500) { _ = detector.process(v) }
        let before = detector
        let gap = detector.process(.nan)
        #expect(gap.score == 0)
        #expect(detector == before)
        _ = detector.process(.infinity)
        #expect(detector == before)
    }

    @Test func constantSeriesDoesNotAlarm() throws {
        var detector = try SeriesAnomalyDetector(seed: 0)
        var scores = [Double]()
        for _ in 0..<800 { scores.append(detector.process(5).score) }
        #expect(scores.allSatisfy { $0.isFinite && $0 < 0.5 })
    }

    @Test func drivingColumnIsTheAnomalousOne() throws {
        var detector = try MetricStreamDetector(columns: 2, seed: 0)
        let a = series(1000, seed: 1), b = series(1000, seed: 2)
        var result: MetricStreamDetector.RowScore?
        for i in 0..<1000 {
            result = try detector.process([a[i], i == 900 ? b[i] + 30 : b[i]])
            if i == 900 { break }
        }
        #expect(result!.drivingColumn == 1)
        #expect(result!.score == result!.perColumn[1].score)
        #expect(throws: EstimatorError.self) { try MetricStreamDetector(columns: 0) }
    }

    @Test func streamingProtocolScoreDoesNotLearn() throws {
        var detector = try MetricStreamDetector(columns: 1, seed: 0)
        for v in series(300) { try detector.learnOne([v]) }
        let before = detector
        _ = try detector.scoreOne([42])
        #expect(detector == before)
        #expect(detector.rows == 300)
    }
}

@Suite struct SeasonalDifferenceDetectorTests {
    /// Days of a daily cycle at 5-minute steps (288 points a day) with a little noise.
    private func day(_ count: Int, seed: UInt64 = 3) -> [Double] {
        var random = RandomSource(seed: seed)
        return (0..<count).map { i in 50 + 20 * sin(Double(i) * 2 * .pi / 288) + 0.5 * random.normal() }
    }

    private func daily() throws -> SeasonalDifferenceDetector {
        var parameters = SeasonalDifferenceDetector.Parameters()
        parameters.periods = [86_400]
        return try SeasonalDifferenceDetector(parameters: parameters)
    }

    /// A day whose afternoon peak is missing stays inside the usual range of values, but not
    /// of values for that time of day.
    @Test func missingDailyPeakStandsOut() throws {
        var detector = try daily()
        var values = day(288 * 12)
        let offStart = 288 * 11 + 40, offEnd = 288 * 11 + 100
        for i in offStart..<offEnd { values[i] = 50 + 0.5 * sin(Double(i)) }
        var evidence = [Double]()
        for (i, v) in values.enumerated() { evidence.append(detector.update(v, time: 1_700_000_000 + 300 * Double(i))) }
        let ordinaryDay = evidence[(288 * 10)..<(288 * 11)].max()!
        let offDay = evidence[offStart..<offEnd].max()!
        #expect(offDay > 4, "off-day evidence \(offDay)")
        #expect(offDay > 2 * ordinaryDay, "ordinary \(ordinaryDay), off day \(offDay)")
        #expect(evidence.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    /// Noise without a daily cycle: the seasonal strength stays near 0, so does the evidence.
    @Test func nonSeasonalSeriesIsInert() throws {
        var detector = try daily()
        var random = RandomSource(seed: 9)
        var largest = 0.0
        for i in 0..<(288 * 8) {
            let e = detector.update(10 + random.normal(), time: 300 * Double(i))
            if i > 288 * 4 { largest = max(largest, e) }
        }
        #expect(largest < 1, "largest evidence \(largest)")
    }

    /// Irregular steps, repeated and backwards timestamps: no crash, evidence stays finite.
    @Test func irregularTimesAreHandled() throws {
        var detector = try daily()
        var random = RandomSource(seed: 4)
        var t = 0.0
        for i in 0..<5000 {
            t += i % 97 == 0 ? -600 : (i % 53 == 0 ? 0 : 200 + 200 * random.uniform())
            let e = detector.update(50 + 10 * sin(t * 2 * .pi / 86_400) + random.normal(), time: t)
            #expect(e.isFinite && e >= 0)
        }
        var small = SeasonalDifferenceDetector.Parameters()
        small.capacity = 8  // a period longer than the history is never matched
        var inert = try SeasonalDifferenceDetector(parameters: small)
        for i in 0..<2000 { #expect(inert.update(Double(i % 7), time: 300 * Double(i)) == 0) }
        var bad = SeasonalDifferenceDetector.Parameters()
        bad.periods = [0]
        #expect(throws: EstimatorError.self) { try SeasonalDifferenceDetector(parameters: bad) }
        bad = SeasonalDifferenceDetector.Parameters()
        bad.capacity = 1000
        #expect(throws: EstimatorError.self) { try SeasonalDifferenceDetector(parameters: bad) }
    }

    /// Rows without times leave the seasonal detector silent: the same scores as without it.
    @Test func withoutTimesTheSeasonalDetectorIsSilent() throws {
        var off = OnlineDetectorConfiguration()
        off.useSeasonal = false
        var a = try SeriesAnomalyDetector(seed: 3)
        var b = try SeriesAnomalyDetector(configuration: off, seed: 3)
        for v in series(900) { #expect(a.process(v).score == b.process(v).score) }
    }

    /// A checkpoint taken while the seasonal detector is active resumes exactly.
    @Test func checkpointWithSeasonsResumesExactly() throws {
        var configuration = OnlineDetectorConfiguration()
        configuration.seasonal.periods = [15_000]  // the test series' 50-point cycle at 300 s steps
        let values = series(1400)
        func time(_ i: Int) -> Double { 1_700_000_000 + 300 * Double(i) }
        var continuous = try MetricStreamDetector(columns: 1, configuration: configuration, seed: 2)
        var first = try MetricStreamDetector(columns: 1, configuration: configuration, seed: 2)
        var expected = [Double]()
        for (i, v) in values.enumerated() { expected.append(try continuous.process([v], time: time(i)).score) }
        for (i, v) in values[..<900].enumerated() { _ = try first.process([v], time: time(i)) }
        #expect(first.columns[0].seasonal.seasons[0].differences > 500)
        let data = try JSONEncoder().encode(first)
        var restored = try JSONDecoder().decode(MetricStreamDetector.self, from: data)
        #expect(restored == first)
        for (i, v) in values.enumerated().dropFirst(900) { #expect(try restored.process([v], time: time(i)).score == expected[i]) }
    }
}
