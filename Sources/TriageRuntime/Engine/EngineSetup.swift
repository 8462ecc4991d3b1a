import Foundation
import TriageCore
import TriageData
import TriageEngine

/// What a front door needs to run the remediation engine on a bundle: the bundle's detectors,
/// its policy and that policy's identity, the engine settings and the approval queue, checked
/// and opened in that order (so the first problem found is the one reported, whoever asks).
///
/// The caller opens the bundle (and may check its input against it) first; `makeEngine(now:)`
/// then builds the engine, which installs the policy in the queue.
public struct EngineSetup {
    /// A bundle the engine cannot run on, or a queue that cannot be opened where asked.
    public enum Failure: Error, CustomStringConvertible {
        case noDetectorFeatures(bundle: String)
        case queueFolderMissing(database: String, folder: String)

        public var description: String {
            switch self {
            case .noDetectorFeatures(let bundle):
                return "\(bundle): the bundle has no detector features (retrain it with this version of 'triage train')"
            case .queueFolderMissing(let database, let folder):
                return "\(database): folder \(folder) does not exist"
            }
        }
    }

    public let detectors: BundleDetectors
    public let policy: RemediationPolicy?
    /// The SHA-256 of the bundle's policy file, or "none": the queue keeps what it learned from
    /// outcomes only while the policy it learned about is the one in use.
    public let policySource: String
    public let settings: RemediationEngine.Settings
    /// The store of recommendations (SQLite or PostgreSQL), nil to run without one.
    public let store: (any ApprovalStore)?
    /// The store when it is an SQLite queue.
    public var queue: ApprovalQueue? { store as? ApprovalQueue }

    /// - Parameters:
    ///   - bundle: the opened bundle; `path` names it in errors.
    ///   - database: the approval queue's SQLite file (created when absent; its folder must
    ///     exist), a `postgres://` URL (`StoreOpening`), or nil to run without a queue.
    public init(bundle: ModelBundle, path: String, database: String?, settings: RemediationEngine.Settings) throws {
        guard let detectors = try BundleDetectors(bundle) else { throw Failure.noDetectorFeatures(bundle: path) }
        self.detectors = detectors
        policy = try bundle.model(RemediationPolicy.self, role: "policy", kind: ModelKind.remediationPolicy)
        policySource = bundle.manifest.models["policy"].flatMap { bundle.manifest.files[$0]?.sha256 } ?? "none"
        store = try database.map { path throws -> any ApprovalStore in
            if DatabaseAddress.isPostgres(path) { return try StoreOpening.open(path, access: .readWrite) }
            if let folder = path.range(of: "/", options: .backwards).map({ String(path[..<$0.lowerBound]) }), !folder.isEmpty {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                    throw Failure.queueFolderMissing(database: path, folder: folder)
                }
            }
            return try ApprovalQueue(path: path)
        }
        self.settings = settings
    }

    /// The engine over this set-up; `now` (wall-clock seconds) stamps the policy's installation.
    public func makeEngine(now: Int64) throws -> RemediationEngine {
        try RemediationEngine(detectors: detectors, policy: policy, policySource: policySource, queue: store,
                              settings: settings, now: now)
    }
}
