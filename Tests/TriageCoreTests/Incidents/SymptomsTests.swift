import Testing
@testable import TriageCore

/// A flat series of `n` rows; `edit(row, &values)` changes rows.
private func series(_ n: Int, edit: (Int, inout [Double]) -> Void = { _, _ in }) -> ServiceSeries {
    var columns = [[Double]](repeating: [], count: ServiceMetric.allCases.count)
    for i in 0..<n {
        var v = [50.0, 45, 100, 0.002, 200, 3, 7]
        edit(i, &v)
        for m in 0..<v.count { columns[m].append(v[m]) }
    }
    return ServiceSeries(times: (0..<n).map { Int64($0 * 60) }, values: columns)
}

@Test func normalMetricsGiveTheNormalCode() throws {
    let s = series(60)
    let symptoms = try #require(SymptomExtractor().symptoms(s, startRow: 50, baseline: nil))
    #expect(symptoms.levels == [1, 1, 0, 0, 0, 0, 0])
    #expect(Symptoms.levels(ofCode: symptoms.code) == symptoms.levels)
}

@Test func aHungProcessAndADeployShowInTheirLevels() throws {
    let hung = series(60) { i, v in if i >= 49 { v[4] = 20; v[0] = 10; v[2] = 2000; v[3] = 0.05; v[6] = 180 } }
    #expect(try #require(SymptomExtractor().symptoms(hung, startRow: 50, baseline: nil)).levels == [0, 0, 2, 1, 0, 1, 0])
    let deploy = series(60) { i, v in
        if i == 40 { v[5] = 4 }       // surge pod for one row
        if i >= 48 { v[3] = 0.2 }     // then errors
    }
    let levels = try #require(SymptomExtractor().symptoms(deploy, startRow: 50, baseline: nil)).levels
    #expect(levels[3] == 2 && levels[6] == 1)
    // A scale-up that stays up is not a deploy.
    let scaled = series(60) { i, v in if i >= 40 { v[5] = 4 } }
    #expect(try #require(SymptomExtractor().symptoms(scaled, startRow: 50, baseline: nil)).levels[6] == 0)
}

@Test func earlyIncidentsUseTheBaselineAndLateOnesHaveNoSymptoms() throws {
    let s = series(60)
    let baseline = ServiceBaseline(service: "a", series: s)
    #expect(baseline.median[4] == 200 && baseline.scale[4] == 0)
    let early = try #require(SymptomExtractor().symptoms(s, startRow: 2, baseline: baseline))
    #expect(early.features[0] == 1)
    #expect(SymptomExtractor().symptoms(s, startRow: 60, baseline: baseline) == nil)
    #expect(s.firstIndex(atOrAfter: 61) == 2 && s.firstIndex(atOrAfter: 10_000) == 60)
}

@Test func missingValuesDoNotPoisonSymptoms() throws {
    let s = series(60) { i, v in if i % 3 == 0 { v = v.map { _ in .nan } } }
    let symptoms = try #require(SymptomExtractor().symptoms(s, startRow: 50, baseline: nil))
    #expect(symptoms.levels == [1, 1, 0, 0, 0, 0, 0])
}
