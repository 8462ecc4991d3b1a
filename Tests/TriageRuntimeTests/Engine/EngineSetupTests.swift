import Foundation
import Testing
import TriageData
import TriageEngine
@testable import TriageRuntime

@Test func theShippedBundleSetsUpAnEngineWithItsPolicyIdentityAndQueue() throws {
    let bundle = try ModelBundle.open(shippedBundle)
    var settings = RemediationEngine.Settings()
    settings.ttlSeconds = 600
    let database = temporaryFolder() + "/queue.db"
    let setup = try EngineSetup(bundle: bundle, path: shippedBundle, database: database, settings: settings)
    let policyFile = try #require(bundle.manifest.models["policy"])
    #expect(setup.policy != nil && setup.policySource == bundle.manifest.files[policyFile]?.sha256)
    #expect(setup.queue != nil && FileManager.default.fileExists(atPath: database))
    let engine = try setup.makeEngine(now: 1_000)
    #expect(engine.settings.ttlSeconds == 600 && engine.detectors.isolationForest != nil)

    let withoutQueue = try EngineSetup(bundle: bundle, path: shippedBundle, database: nil, settings: settings)
    #expect(withoutQueue.queue == nil)
}

@Test func aQueueInAFolderThatDoesNotExistIsRefusedNamingBoth() throws {
    let bundle = try ModelBundle.open(shippedBundle)
    let folder = temporaryFolder() + "/absent"
    #expect {
        try EngineSetup(bundle: bundle, path: shippedBundle, database: folder + "/queue.db", settings: .init())
    } throws: { error in
        (error as? EngineSetup.Failure)?.description == "\(folder)/queue.db: folder \(folder) does not exist"
    }
}
