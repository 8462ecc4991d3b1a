import Foundation
import Testing
import TriageCore

/// A symptom with no value in its window is NaN, an `inf` metric gives an infinite ratio: JSON has
/// no number for either, so they are written as null and read back as NaN (the levels, which the
/// policy learns from, are kept exactly).
@Test func symptomsWithNonFiniteFeaturesEncodeAsNull() throws {
    let symptoms = Symptoms(features: [1.5, .infinity, 1, 0, .nan, -.infinity, 0], levels: [1, 2, 0, 0, 0, 0, 0])
    let data = try JSONEncoder().encode(symptoms)
    #expect(String(decoding: data, as: UTF8.self).contains("[1.5,null,1,0,null,null,0]"))
    let decoded = try JSONDecoder().decode(Symptoms.self, from: data)
    #expect(decoded.levels == symptoms.levels && decoded.features[0] == 1.5)
    #expect(decoded.features[1].isNaN && decoded.features[4].isNaN && decoded.features[5].isNaN)
    let finite = Symptoms(features: [1, 2, 3, 4, 5, 6, 0], levels: [1, 1, 1, 1, 1, 1, 0])
    #expect(try JSONDecoder().decode(Symptoms.self, from: JSONEncoder().encode(finite)) == finite)
}

/// Issue 14 mutation run, case 1994: a bundle whose `baselines.json` lost one median (checksum
/// re-signed) trapped with "Index out of range" on the first row of `watch --model`.
@Suite struct ServiceBaselineDecodingTests {
    @Test func aBaselineNeedsOneMedianAndOneScalePerMetric() throws {
        let full = Array(repeating: "1.5", count: ServiceMetric.allCases.count).joined(separator: ",")
        let short = Array(repeating: "1.5", count: ServiceMetric.allCases.count - 1).joined(separator: ",")
        func decode(_ median: String, _ scale: String, rows: Int = 10) throws -> ServiceBaseline {
            let json = "{\"service\":\"svc-01\",\"rows\":\(rows),\"median\":[\(median)],\"scale\":[\(scale)]}"
            return try JSONDecoder().decode(ServiceBaseline.self, from: Data(json.utf8))
        }
        #expect(try decode(full, full).median.count == ServiceMetric.allCases.count)
        #expect(throws: DecodingError.self) { try decode(short, full) }
        #expect(throws: DecodingError.self) { try decode(full, short) }
        #expect(throws: DecodingError.self) { try decode(full, full, rows: -1) }
        // Encoding is unchanged: what decodes re-encodes to the same fields.
        let baseline = try decode(full, full)
        #expect(try JSONDecoder().decode(ServiceBaseline.self, from: JSONEncoder().encode(baseline)) == baseline)
    }
}
