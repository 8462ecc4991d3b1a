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
