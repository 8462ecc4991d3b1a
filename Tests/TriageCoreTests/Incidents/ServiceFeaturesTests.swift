import Foundation
import Testing
import TriageCore

/// A series where every metric cycles through `base + k·step` for k in -2...2.
private func series(base: [Double], step: [Double], rows: Int = 50) -> ServiceSeries {
    let times = (0..<rows).map { Int64($0 * 60) }
    var values = [[Double]]()
    for m in 0..<base.count {
        var column = [Double]()
        for i in 0..<rows {
            let k = Double(i % 5 - 2)
            column.append(base[m] + k * step[m])
        }
        values.append(column)
    }
    return ServiceSeries(times: times, values: values)
}

@Test func featuresAreRobustZScoresAgainstTheServiceBaseline() throws {
    let base = [40.0, 60, 100, 0.01, 300, 2, 10]
    let step = [2.0, 1, 5, 0.001, 10, 0, 1]
    let s = series(base: base, step: step)
    let baseline = ServiceBaseline(service: "a", series: s)
    let extractor = ServiceFeatureExtractor()
    #expect(ServiceFeatureExtractor.featureNames == ["cpu_z", "memory_z", "latency_p99_ms_z", "error_rate_z",
                                                     "request_rate_z", "replicas_z", "heartbeat_age_s_z"])
    // The median row maps to zeros.
    #expect(extractor.row(base, baseline: baseline) == [Float](repeating: 0, count: 7))
    // MAD of {-2,-1,0,1,2}·step is 1·step, so σ = 1.4826·step; z = 3 becomes ln(1 + 3).
    let scales = extractor.scales(baseline)
    #expect(abs(scales[0] - 2 * 1.4826) < 1e-9)
    var up = base
    up[0] += 2 * 1.4826 * 3
    #expect(abs(extractor.row(up, baseline: baseline)[0] - Float(log(4.0))) < 1e-5)
    up[0] = base[0] - 2 * 1.4826 * 3
    #expect(abs(extractor.row(up, baseline: baseline)[0] + Float(log(4.0))) < 1e-5)
    // Replicas never varied: the scale floor (5 % of the median) stands in for a zero MAD.
    #expect(scales[5] == 0.1)
    var scaled = base
    scaled[5] = 3
    #expect(abs(extractor.row(scaled, baseline: baseline)[5] - Float(log(11.0))) < 1e-5)
    // Absurd values are capped at `clip` σ; missing values sit at the baseline.
    var wild = base
    wild[2] = 1e30
    wild[3] = .nan
    let row = extractor.row(wild, baseline: baseline)
    #expect(row[2] == Float(log1p(1e6)) && row[3] == 0)
    wild[2] = -1e30
    #expect(extractor.row(wild, baseline: baseline)[2] == -Float(log1p(1e6)))
    // Monotone: a larger deviation never gives a smaller feature.
    var previous = -Float.infinity
    for k in stride(from: -500.0, through: 500, by: 7) {
        var values = base
        values[4] = base[4] + k
        let f = extractor.row(values, baseline: baseline)[4]
        #expect(f >= previous)
        previous = f
    }
}

@Test func featureMatrixMatchesRowByRowExtraction() throws {
    let s = series(base: [30, 50, 80, 0.02, 200, 3, 5], step: [3, 2, 4, 0.002, 20, 1, 2], rows: 23)
    let baseline = ServiceBaseline(service: "b", series: s)
    let extractor = ServiceFeatureExtractor()
    let matrix = extractor.matrix(s, baseline: baseline)
    #expect(matrix.rows == 23 && matrix.columns == 7)
    for i in 0..<s.count {
        let row = extractor.row((0..<7).map { s.values[$0][i] }, baseline: baseline)
        #expect((0..<7).map { matrix[i, $0] } == row)
    }
    // `keep` selects rows in order.
    let keep = (0..<s.count).map { $0 % 3 == 0 }
    let kept = extractor.matrix(s, baseline: baseline, keep: keep)
    #expect(kept.rows == 8)
    for (k, i) in stride(from: 0, to: s.count, by: 3).enumerated() {
        #expect((0..<7).map { kept[k, $0] } == (0..<7).map { matrix[i, $0] })
    }
}

@Test func unknownBaselinesAndBadSettingsAreHandled() throws {
    // A metric with no values in training has a NaN median: its feature is 0, never NaN.
    let nan = [Double](repeating: .nan, count: 4)
    let s = ServiceSeries(times: [0, 60, 120, 180], values: [[1, 2, 3, 4], nan, nan, nan, nan, nan, nan])
    let baseline = ServiceBaseline(service: "c", series: s)
    let row = ServiceFeatureExtractor().row([2.5, 1, 1, 1, 1, 1, 1], baseline: baseline)
    #expect(row.allSatisfy { $0.isFinite } && row[1...].allSatisfy { $0 == 0 })
    var bad = ServiceFeatureExtractor()
    bad.clip = 0
    #expect(throws: EstimatorError.self) { try bad.validate() }
    bad = ServiceFeatureExtractor()
    bad.absoluteScaleFloor = 0
    #expect(throws: EstimatorError.self) { try bad.validate() }
    try ServiceFeatureExtractor().validate()
}
