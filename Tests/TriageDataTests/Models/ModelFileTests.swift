import Foundation
import Testing
@testable import TriageCore
@testable import TriageData

struct Toy: Codable, Sendable, Equatable {
    var weights: [Float]
    var name: String
}

private func modelError(_ body: () throws -> Void) -> DataError? {
    do { try body(); return nil } catch let error as DataError { return error } catch { return nil }
}

@Suite struct ModelFileTests {
    let model = SavedModel(features: ["a", "b"], medians: [1, 2], training: TrainingSummary(rows: 10, notes: ["x"]),
                           model: Toy(weights: [1.5, -2, .nan, .infinity], name: "toy"))

    private func written() throws -> String {
        let path = temporaryFile("", name: "model.triage")
        try ModelFile.write(model, kind: "toy", to: path)
        return path
    }

    @Test func roundTripsAndIsByteStable() throws {
        let path = try written()
        let loaded = try ModelFile.read(SavedModel<Toy>.self, kind: "toy", from: path)
        #expect(loaded.features == ["a", "b"])
        #expect(loaded.model.weights[0] == 1.5 && loaded.model.weights[2].isNaN && loaded.model.weights[3] == .infinity)
        #expect(try ModelFile.encode(model, kind: "toy") == ModelFile.encode(model, kind: "toy"))
        #expect(try ModelFile.readHeader(path).kind == "toy")
    }

    @Test func wrongKindIsRefused() throws {
        let path = try written()
        let error = modelError { _ = try ModelFile.read(SavedModel<Toy>.self, kind: "iforest", from: path) }
        #expect(error?.description.contains("is a 'toy' model, expected 'iforest'") == true)
    }

    @Test func truncatedCorruptedForeignAndNewerFilesAreRefused() throws {
        let path = try written()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))

        let truncated = temporaryFile(Array(bytes.dropLast(5)))
        #expect(modelError { _ = try ModelFile.read(SavedModel<Toy>.self, kind: "toy", from: truncated) }?
            .description.contains("truncated") == true)

        var flipped = bytes
        flipped[flipped.count - 3] ^= 0x01
        let corrupted = temporaryFile(flipped)
        #expect(modelError { _ = try ModelFile.read(SavedModel<Toy>.self, kind: "toy", from: corrupted) }?
            .description.contains("checksum") == true)

        let foreign = temporaryFile("a,b\n1,2\n")
        #expect(modelError { _ = try ModelFile.read(SavedModel<Toy>.self, kind: "toy", from: foreign) }?
            .description.contains("not a Triage model") == true)

        let newer = temporaryFile(String(decoding: bytes, as: UTF8.self)
            .replacingOccurrences(of: "\"format_version\":1", with: "\"format_version\":99"))
        #expect(modelError { _ = try ModelFile.read(SavedModel<Toy>.self, kind: "toy", from: newer) }?
            .description.contains("newer") == true)

        let empty = temporaryFile("")
        #expect(modelError { _ = try ModelFile.read(SavedModel<Toy>.self, kind: "toy", from: empty) } != nil)
    }
}

@Suite struct AtomicFileTests {
    @Test func replacesContentAndLeavesNoTemporaryFiles() throws {
        let path = temporaryFile("old")
        try AtomicFile.write("new content", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new content")
        let folder = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["data.csv"])
    }

    @Test func destinationChecksRefuseFoldersAndMissingParents() {
        let folder = FileManager.default.temporaryDirectory.path
        #expect(throws: DataError.self) { try AtomicFile.validateDestination(folder) }
        #expect(throws: DataError.self) { try AtomicFile.validateDestination("/nonexistent/dir/out.csv") }
        #expect(throws: Never.self) { try AtomicFile.validateDestination(folder + "/fresh-\(UUID().uuidString).csv") }
    }

    @Test func failedWriteLeavesDestinationUntouched() throws {
        let path = temporaryFile("keep me")
        #expect(throws: DataError.self) { try AtomicFile.write("x", to: "/nonexistent/dir/out.csv") }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }
}
