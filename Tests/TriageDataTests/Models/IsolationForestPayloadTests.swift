import Foundation
import Testing
@testable import TriageCore
@testable import TriageData

/// The isolation forest's faster model-file reader must give exactly what `JSONDecoder` gives,
/// and give up (nil) wherever it is not sure, leaving the error to `JSONDecoder`.
@Suite struct IsolationForestPayloadTests {
    static let saved: SavedModel<IsolationForest> = {
        var random = RandomSource(seed: 3)
        let storage = (0..<(300 * 5)).map { _ in Float(Double(random.next() % 10_000) / 997 - 5) }
        let forest = try! IsolationForest.fit(Matrix(rows: 300, columns: 5, storage: storage),
                                              parameters: .init(treeCount: 12, sampleSize: 64, contamination: .fraction(0.05)),
                                              seed: 9)
        return SavedModel(features: ["a", "b", "c", "d", "e"], medians: [0.5, -1, 0, 1e-7, 3],
                          training: TrainingSummary(rows: 300, notes: ["n \"q\""], values: ["x": 1.5], series: ["s": [1, 2]]),
                          model: forest)
    }()

    static func payload(_ model: SavedModel<IsolationForest>) throws -> [UInt8] {
        Array(try ModelFile.canonicalEncoder().encode(model))
    }

    static func viaJSONDecoder(_ bytes: [UInt8]) throws -> SavedModel<IsolationForest> {
        try ModelFile.canonicalDecoder().decode(SavedModel<IsolationForest>.self, from: Data(bytes))
    }

    static func viaPayload(_ bytes: [UInt8]) -> SavedModel<IsolationForest>? {
        bytes.withUnsafeBytes { IsolationForestPayload.savedModel($0) }
    }

    /// Bit for bit, NaN included.
    static func same(_ a: SavedModel<IsolationForest>, _ b: SavedModel<IsolationForest>) -> Bool {
        let x = a.model, y = b.model
        return a.features == b.features && a.target == b.target && a.classes == b.classes
            && a.medians.map(\.bitPattern) == b.medians.map(\.bitPattern) && a.training == b.training
            && x.parameters == y.parameters && x.seed == y.seed && x.featureCount == y.featureCount
            && x.sampleSize == y.sampleSize && x.height == y.height && x.threshold.bitPattern == y.threshold.bitPattern
            && x.splitFeatures == y.splitFeatures && x.slotRows == y.slotRows
            && x.splitThresholds.map(\.bitPattern) == y.splitThresholds.map(\.bitPattern)
            && x.leafPathLengths.map(\.bitPattern) == y.leafPathLengths.map(\.bitPattern)
            && x.splitMass.map(\.bitPattern) == y.splitMass.map(\.bitPattern)
    }

    @Test func aWrittenModelReadsAsJSONDecoderReadsIt() throws {
        let bytes = try Self.payload(Self.saved)
        #expect(Self.saved.model.splitThresholds.contains { !$0.isFinite }, "the stored forest holds non-finite thresholds")
        let fast = try #require(Self.viaPayload(bytes))
        #expect(Self.same(fast, try Self.viaJSONDecoder(bytes)))
        // Through the model file, as a bundle reads it.
        let file = try ModelFile.encode(Self.saved, kind: "iforest")
        let read = try file.withUnsafeBufferPointer { buffer throws(DataError) in
            try ModelFile.decode(SavedModel<IsolationForest>.self, kind: "iforest", from: buffer, path: "m")
        }
        #expect(Self.same(read, fast))
    }

    @Test func otherSpellingsOfTheSameJSONReadTheSame() throws {
        let text = String(decoding: try Self.payload(Self.saved), as: UTF8.self)
        let variants = [
            text.replacingOccurrences(of: ",", with: " ,\n\t").replacingOccurrences(of: ":", with: " : "),
            " \(text) ",
            text.replacingOccurrences(of: "\"height\":", with: "\"extra\":[{\"a\":\"]\\\"\"},null,true],\"height\":"),
            text.replacingOccurrences(of: "\"features\":", with: "\"target\":null,\"features\":"),
        ]
        for variant in variants {
            let bytes = Array(variant.utf8)
            let fast = try #require(Self.viaPayload(bytes), "\(variant.prefix(80))")
            #expect(Self.same(fast, try Self.viaJSONDecoder(bytes)))
        }
    }

    @Test func givesUpWhereItIsNotSure() throws {
        let text = String(decoding: try Self.payload(Self.saved), as: UTF8.self)
        let model = Self.saved.model
        let unsure = [
            text.replacingOccurrences(of: "\"height\":", with: "\"height\":\(model.height),\"height\":"),  // duplicate key
            text.replacingOccurrences(of: "\"seed\":9", with: "\"seed\":9.0"),                               // integral as a fraction
            text.replacingOccurrences(of: "\"threshold\":", with: "\"threshold\":1e999,\"x\":"),            // out of range
            text.replacingOccurrences(of: "\"threshold\":", with: "\"threshold\":1e-999,\"x\":"),           // underflow
            text.replacingOccurrences(of: "\"featureCount\":5", with: "\"featureCount\":4"),                 // layout refused
            text.replacingOccurrences(of: "\"inf\"", with: "\"Infinity\""),                                  // not our spelling
            text.replacingOccurrences(of: "\"model\":", with: "\"mo\\u0064el\":"),                           // escaped key
            String(text.dropLast()),                                                                          // truncated
            text + "x",
        ]
        for variant in unsure {
            #expect(Self.viaPayload(Array(variant.utf8)) == nil, "\(variant.prefix(60))")
        }
    }
}
