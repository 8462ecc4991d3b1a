import Foundation
import Testing
@testable import TriageCore

/// Models decoded from files with sizes that disagree with what the file holds (issue 14,
/// defect 6 and "bounded resources": a model claiming 10¹² trees): a decoding error, never a
/// trap, an out-of-bounds read or an allocation of the claimed size.
@Suite struct ModelDecodingTests {
    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    static func json<T: Encodable>(_ value: T) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: encoder.encode(value)) as! [String: Any]
    }

    static func decodes<T: Decodable>(_ type: T.Type, _ object: [String: Any]) -> Bool {
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return false }
        return (try? decoder.decode(T.self, from: data)) != nil
    }

    static let forest: IsolationForest = {
        let data = AutoencoderTests.planeData(rows: 64)
        return try! IsolationForest.fit(data, parameters: .init(treeCount: 3, sampleSize: 32), seed: 1)
    }()

    @Test func anIsolationForestRoundTripsAndRefusesInconsistentSizes() throws {
        let good = try Self.json(Self.forest)
        #expect(try Self.decoder.decode(IsolationForest.self, from: Self.encoder.encode(Self.forest)) == Self.forest)
        #expect(Self.decodes(IsolationForest.self, good))
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("10^12 trees", { m in var p = m["parameters"] as! [String: Any]; p["treeCount"] = 1_000_000_000_000; m["parameters"] = p }),
            ("height 64", { $0["height"] = 64 }),
            ("height 40", { $0["height"] = 40 }),
            ("height 0", { $0["height"] = 0 }),
            ("10^12 features", { $0["featureCount"] = 1_000_000_000_000 }),
            ("feature out of range", { m in var f = m["splitFeatures"] as! [Int]; f[0] = 99; m["splitFeatures"] = f }),
            ("negative feature", { m in var f = m["splitFeatures"] as! [Int]; f[0] = -1; m["splitFeatures"] = f }),
            ("short leaves", { m in m["leafPathLengths"] = Array((m["leafPathLengths"] as! [Double]).prefix(10)) }),
            ("no trees", { m in m["leafPathLengths"] = []; m["splitFeatures"] = []; m["splitThresholds"] = []; m["slotRows"] = [] }),
            ("sample size", { $0["sampleSize"] = 1_000_000 }),
        ]
        for (name, edit) in edits {
            var object = good
            edit(&object)
            #expect(!Self.decodes(IsolationForest.self, object), "\(name) decoded")
        }
    }

    @Test func aMatrixShapeMustMatchItsElements() throws {
        let matrix = Matrix<Float>(rows: 2, columns: 3, repeating: 1)
        #expect(try JSONDecoder().decode(Matrix<Float>.self, from: JSONEncoder().encode(matrix)) == matrix)
        for (rows, columns) in [(3, 3), (-2, -3), (1 << 40, 1 << 40), (Int.max, 2)] {
            var object = try Self.json(matrix)
            object["rows"] = rows
            object["columns"] = columns
            #expect(!Self.decodes(Matrix<Float>.self, object), "\(rows) × \(columns) decoded")
        }
    }

    @Test func networksAndAutoencodersMustChain() throws {
        var parameters = Autoencoder.Parameters()
        parameters.hiddenLayers = [4]
        parameters.epochs = 2
        parameters.ensembleSize = 1
        let (model, _) = try Autoencoder.fit(AutoencoderTests.planeData(rows: 40), parameters: parameters, seed: 1)
        #expect(try Self.decoder.decode(Autoencoder.self, from: Self.encoder.encode(model)) == model)
        let good = try Self.json(model)
        var network = (good["networks"] as! [[String: Any]])[0]
        network["layerSizes"] = [6, 5, 6]
        var wrongSizes = good
        wrongSizes["networks"] = [network]
        #expect(!Self.decodes(Autoencoder.self, wrongSizes))
        var noNetworks = good
        noNetworks["networks"] = [[String: Any]]()
        #expect(!Self.decodes(Autoencoder.self, noNetworks))
        var standardizer = good["standardizer"] as! [String: Any]
        standardizer["scales"] = [1.0]
        var wrongScales = good
        wrongScales["standardizer"] = standardizer
        #expect(!Self.decodes(Autoencoder.self, wrongScales))
    }
}
