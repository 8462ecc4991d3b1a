import Crypto
import Foundation
import TriageCore

/// What `triage train` writes: a folder of model files and a `manifest.json` that lists every
/// file with its SHA-256, the format version, the raw metric features, the thresholds in force
/// and which file plays which role (`models`: role → file name).
///
/// Roles are open-ended so that more models slot in without a format change: this version
/// writes `baselines` (per-service baselines, `baselines.json`), `features` (the detector
/// feature settings, `features.json`), `iforest` and `autoencoder` (the detectors),
/// `action_classifier` (`forest.model`), `policy` (the remediation policy, `policy.model`) and
/// `incident_symptoms` (`symptoms.csv`).
/// Nothing wall-clock-dependent is stored: `created` is the last timestamp of the training
/// metrics, so retraining on the same data with the same seed gives the same bytes.
public struct BundleManifest: Codable, Sendable, Equatable {
    public static let currentFormatVersion = 1
    public static let kindName = "triage-bundle"

    public struct FileEntry: Codable, Sendable, Equatable {
        public var sha256: String
        public var bytes: Int
        /// What the file is (`baselines`, or a model file's kind).
        public var kind: String
        public init(sha256: String, bytes: Int, kind: String) {
            self.sha256 = sha256
            self.bytes = bytes
            self.kind = kind
        }
    }

    public var formatVersion: Int = BundleManifest.currentFormatVersion
    public var kind: String = BundleManifest.kindName
    public var created: String
    public var triageVersion: String
    public var seed: UInt64
    /// Raw metric columns the bundle reads from a metrics file.
    public var features: [String]
    /// Columns of the detectors' per-service feature rows (`ServiceFeatureExtractor`), when the
    /// bundle has detectors. Optional so manifests written before detectors still open.
    public var detectorFeatures: [String]?
    /// Named thresholds (symptom cut points now; detector thresholds as they are added).
    public var thresholds: [String: Double]
    public var services: [String]
    /// Seconds between metric rows in the training data.
    public var interval: Int
    /// Role → file name.
    public var models: [String: String]
    /// File name → checksum, size and kind.
    public var files: [String: FileEntry]
    /// Facts about the training run (row and incident counts, …).
    public var training: [String: Double]
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", kind, created, triageVersion = "triage_version", seed, features
        case detectorFeatures = "detector_features"
        case thresholds, services, interval, models, files, training, notes
    }

    public init(created: String, triageVersion: String, seed: UInt64, features: [String], thresholds: [String: Double],
                services: [String], interval: Int, training: [String: Double], notes: [String]) {
        self.created = created
        self.triageVersion = triageVersion
        self.seed = seed
        self.features = features
        self.thresholds = thresholds
        self.services = services
        self.interval = interval
        self.models = [:]
        self.files = [:]
        self.training = training
        self.notes = notes
    }
}

/// Writing and opening bundles.
public struct ModelBundle: Sendable {
    public let path: String
    public let manifest: BundleManifest

    /// A bundle being assembled in memory.
    public struct Builder {
        public var manifest: BundleManifest
        var contents: [(name: String, bytes: [UInt8])] = []

        public init(manifest: BundleManifest) { self.manifest = manifest }

        /// Adds a file under `role`.
        public mutating func add(role: String, file name: String, kind: String, bytes: [UInt8]) {
            precondition(manifest.files[name] == nil && name != "manifest.json", "bundle file \(name) added twice")
            manifest.models[role] = name
            manifest.files[name] = BundleManifest.FileEntry(sha256: ModelFile.sha256Hex(bytes), bytes: bytes.count, kind: kind)
            contents.append((name, bytes))
        }

        /// Adds a `ModelFile` container (versioned, checksummed) holding `model`.
        public mutating func addModel<M: Encodable>(_ model: M, role: String, file name: String, kind: String) throws(DataError) {
            let bytes: [UInt8]
            do { bytes = try ModelFile.encode(model, kind: kind) } catch {
                throw DataError(.invalidModel("cannot encode \(role) model: \(error)"), file: name)
            }
            add(role: role, file: name, kind: kind, bytes: bytes)
        }

        /// Adds canonical JSON (sorted keys) of `value`.
        public mutating func addJSON<T: Encodable>(_ value: T, role: String, file name: String) throws(DataError) {
            let bytes: [UInt8]
            do { bytes = Array(try ModelBundle.jsonEncoder().encode(value)) + [0x0A] } catch {
                throw DataError(.invalidModel("cannot encode \(role): \(error)"), file: name)
            }
            add(role: role, file: name, kind: role, bytes: bytes)
        }

        /// The manifest bytes and every file, as written.
        public func files() throws(DataError) -> [(name: String, bytes: [UInt8])] {
            let manifestBytes: [UInt8]
            do { manifestBytes = Array(try ModelBundle.jsonEncoder().encode(manifest)) + [0x0A] } catch {
                throw DataError(.invalidModel("cannot encode manifest: \(error)"), file: "manifest.json")
            }
            return [("manifest.json", manifestBytes)] + contents
        }

        /// Writes the bundle folder atomically (temporary folder, then rename).
        public func write(to path: String) throws(DataError) {
            try AtomicFolder.write(try files(), to: path)
        }
    }

    /// Opens a bundle: reads the manifest and checks its version and every file's checksum.
    ///
    /// Integrity rules: every file the loader reads must be listed in `files` with its size and
    /// SHA-256 — a role naming an unlisted file, or a listed file that is missing, is refused by
    /// name. Each file is checked again when a role is decoded (`json`, `model`), from the
    /// very bytes decoded, so a file swapped after `open` is refused too. Every read is bounded
    /// (`MappedFile`): the manifest by `FileLimits.metadataBytes`, the other files by
    /// `FileLimits.modelBytes` and by the size the manifest states, before a byte is read.
    public static func open(_ path: String) throws(DataError) -> ModelBundle {
        let folder = AtomicFolder.trimmed(path)
        switch FileNode.of(folder) {
        case .directory?: break
        case .missing?: throw DataError(.notFound, file: path)
        case nil: throw DataError(.unreadable(String(cString: strerror(errno))), file: path)
        default: throw DataError(.invalidModel("not a bundle folder (a bundle is the folder written by 'triage train')"), file: path)
        }
        let manifestPath = folder + "/manifest.json"
        let data = try MappedFile.readAll(manifestPath, limit: FileLimits.metadataBytes, what: "bundle manifest")
        struct Version: Decodable {
            var format_version: Int
        }
        if let version = try? JSONDecoder().decode(Version.self, from: Data(data)),
           version.format_version > BundleManifest.currentFormatVersion {
            throw DataError(.invalidModel("bundle format version \(version.format_version) is newer than this triage supports (\(BundleManifest.currentFormatVersion)); upgrade triage"), file: manifestPath)
        }
        let manifest: BundleManifest
        do { manifest = try ModelFile.canonicalDecoder().decode(BundleManifest.self, from: Data(data)) } catch {
            throw DataError(.invalidModel("manifest is not a Triage bundle manifest: \(error)"), file: manifestPath)
        }
        guard manifest.kind == BundleManifest.kindName else {
            throw DataError(.invalidModel("manifest kind is '\(manifest.kind)', expected '\(BundleManifest.kindName)'"), file: manifestPath)
        }
        guard manifest.formatVersion <= BundleManifest.currentFormatVersion, manifest.formatVersion >= 1 else {
            throw DataError(.invalidModel("bundle format version \(manifest.formatVersion) is not supported (this triage reads up to \(BundleManifest.currentFormatVersion))"), file: manifestPath)
        }
        for name in manifest.files.keys.sorted() where !isPlainName(name) {
            throw DataError(.invalidModel("manifest names a file outside the bundle: \(DataError.quote(name))"), file: manifestPath)
        }
        for role in manifest.models.keys.sorted() {
            let name = manifest.models[role]!
            guard isPlainName(name) else {
                throw DataError(.invalidModel("manifest role '\(role)' names a file outside the bundle: \(DataError.quote(name))"), file: manifestPath)
            }
            guard manifest.files[name] != nil else {
                throw DataError(.invalidModel("bundle file '\(name)' (role '\(role)') has no checksum in manifest.json; refusing to load it unchecked"),
                                file: manifestPath)
            }
        }
        let bundle = ModelBundle(path: folder, manifest: manifest)
        for name in manifest.files.keys.sorted() {
            _ = try bundle.verifiedBytes(name)
        }
        return bundle
    }

    /// Path of the file that plays `role`, or nil when the bundle has none.
    public func file(role: String) -> String? { manifest.models[role].map { path + "/" + $0 } }

    /// Decodes the JSON file of `role`.
    public func json<T: Decodable>(_ type: T.Type, role: String) throws(DataError) -> T? {
        guard let name = manifest.models[role] else { return nil }
        let bytes = try verifiedBytes(name)
        do { return try ModelFile.canonicalDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw DataError(.invalidModel("cannot decode \(role): \(error)"), file: path + "/" + name)
        }
    }

    /// Decodes the `ModelFile` of `role`.
    public func model<M: Decodable>(_ type: M.Type, role: String, kind: String) throws(DataError) -> M? {
        guard let name = manifest.models[role] else { return nil }
        let bytes = try verifiedBytes(name)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(DataError) -> M in
            try ModelFile.decode(M.self, kind: kind, from: buffer, path: path + "/" + name)
        }
    }

    /// The bytes of bundle file `name`, read once (bounded) and checked against its manifest
    /// entry: listed, the stated size, the stated SHA-256.
    func verifiedBytes(_ name: String) throws(DataError) -> [UInt8] {
        let filePath = path + "/" + name
        guard let entry = manifest.files[name] else {
            throw DataError(.invalidModel("bundle file '\(name)' has no checksum in manifest.json; refusing to load it unchecked"),
                            file: path + "/manifest.json")
        }
        guard entry.bytes >= 0, entry.bytes <= FileLimits.modelBytes else {
            throw DataError(.invalidModel("manifest.json states \(entry.bytes) bytes for '\(name)', above the limit of \(FileLimits.describe(FileLimits.modelBytes))"),
                            file: path + "/manifest.json")
        }
        if case .regular(let size, _, _)? = FileNode.of(filePath), size != entry.bytes {
            throw DataError(.invalidModel("bundle file is \(size) bytes, manifest.json states \(entry.bytes)"), file: filePath)
        }
        let file: MappedFile
        do { file = try MappedFile(path: filePath, limit: entry.bytes, what: "bundle file") } catch {
            if error.kind == .notFound {
                throw DataError(.invalidModel("bundle file '\(name)' listed in manifest.json is missing"), file: filePath)
            }
            throw error
        }
        return try file.withBytes { (bytes) throws(DataError) -> [UInt8] in
            guard bytes.count == entry.bytes else {
                throw DataError(.invalidModel("bundle file is \(bytes.count) bytes, manifest.json states \(entry.bytes)"), file: filePath)
            }
            guard ModelFile.sha256Hex(UnsafeRawBufferPointer(bytes)) == entry.sha256 else {
                throw DataError(.invalidModel("bundle file is corrupted (SHA-256 differs from manifest.json)"), file: filePath)
            }
            return Array(bytes)
        }
    }

    /// A file name inside the bundle folder: no folder part, not `.`/`..`, not empty.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && name != "." && name != ".." && !name.contains("\0")
    }

    static func jsonEncoder() -> JSONEncoder {
        let encoder = ModelFile.canonicalEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }
}

/// Per-service baselines as stored in a bundle.
public struct BaselineSet: Codable, Sendable, Equatable {
    public var interval: Int
    public var services: [ServiceBaseline]
    public init(interval: Int, services: [ServiceBaseline]) {
        self.interval = interval
        self.services = services
    }
    public func baseline(_ service: String) -> ServiceBaseline? { services.first { $0.service == service } }
}
