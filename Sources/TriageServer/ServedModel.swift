import Foundation
import Logging
import NIOCore
import Synchronization
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime
import TriageStorePostgres
#if canImport(Glibc)
import Glibc
#endif

/// What `--model` opened: a model file (`POST /v1/score` scores feature rows), or a bundle
/// (raw metric rows; with `--db` also the engine behind `POST /v1/metrics` and the queue, in an
/// SQLite file or a PostgreSQL database).
final class ServedModel: @unchecked Sendable {
    // @unchecked: `model` is an opened model file, read-only after loading (`LoadedModel` is a
    // protocol of value types that predates Sendable); everything else is Sendable.
    let model: (any LoadedModel)?
    let detectors: BundleDetectors?
    let engine: EngineService?
    /// The engine of a replica (`ServerConfiguration.replica`): then `engine` is nil, and rows
    /// go through the PostgreSQL inbox to their service's owner.
    let replica: ReplicaEngine?
    /// What the routes read and decide through (`ServedStore`), nil without `--db`.
    let store: ServedStore?
    /// The store when it is an SQLite queue (the hand-off hook's and the file checks' own).
    var queue: ApprovalQueue? {
        if case .sqlite(let queue)? = store { return queue }
        return nil
    }
    /// The store when it is PostgreSQL: probed by `/readyz`, closed at shutdown.
    var postgres: PostgresRecommendationStore? {
        if case .postgres(let store)? = store { return store }
        return nil
    }
    /// The last readiness probe of a PostgreSQL store and when it ran (`unavailableReason`).
    private let lastProbe = Mutex<(at: ContinuousClock.Instant, reason: String?)?>(nil)
    /// The database file as opened (device, inode), to notice it deleted or replaced.
    let databaseIdentity: (device: UInt64, inode: UInt64)?
    let databasePath: String?
    /// The services as last seen, for the metrics scrape (which must not wait for the engine).
    let lastServices = Shared<[ServiceStatus]>([])

    private init(model: (any LoadedModel)?, detectors: BundleDetectors?, engine: EngineService?, store: ServedStore?,
                 databasePath: String?, replica: ReplicaEngine? = nil) {
        self.model = model
        self.detectors = detectors
        self.engine = engine
        self.replica = replica
        self.store = store
        self.databasePath = databasePath
        databaseIdentity = databasePath.flatMap(Self.identity)
    }

    static func open(_ configuration: ServerConfiguration, logger: Logger) throws -> ServedModel {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configuration.model, isDirectory: &isFolder) else {
            throw DataError(.notFound, file: configuration.model)
        }
        if configuration.replica != nil {
            guard let database = configuration.database, DatabaseAddress.isPostgres(database) else {
                throw ServerSetupError("replicas share their services through a PostgreSQL database (postgres://…); "
                                       + "an SQLite file serves one process")
            }
            guard isFolder.boolValue else {
                throw ServerSetupError("\(configuration.model) is a model file: replicas run the engine of a bundle from 'triage train'")
            }
        }
        guard isFolder.boolValue else {
            guard configuration.database == nil else {
                throw ServerSetupError("\(configuration.model) is a model file: the engine and its queue need a bundle from 'triage train'")
            }
            // Prepared once: an isolation forest's per-call tables would otherwise be rebuilt for
            // every request (nearly all of a one-row request's work).
            let model = ModelRegistry.preparedForRepeatedScoring(try ModelRegistry.load(configuration.model))
            return ServedModel(model: model, detectors: nil, engine: nil, store: nil, databasePath: nil)
        }
        let bundle = try ModelBundle.open(configuration.model)
        guard let database = configuration.database else {
            guard let detectors = try BundleDetectors(bundle) else {
                throw EngineSetup.Failure.noDetectorFeatures(bundle: configuration.model)
            }
            return ServedModel(model: nil, detectors: detectors, engine: nil, store: nil, databasePath: nil)
        }
        var settings = RemediationEngine.Settings()
        settings.ttlSeconds = configuration.ttlSeconds
        settings.critical.incidentLimitSeconds = configuration.incidentLimitSeconds
        // Read before the queue is opened: a bad targets file leaves nothing created or written.
        if let path = configuration.scalingTargets { settings.scalingTargets = try ScalingTargets.load(path) }
        settings.guards = configuration.guards
        let isPostgres = DatabaseAddress.isPostgres(database)
        // A PostgreSQL server that cannot be reached fails here, naming its host and port, with
        // nothing created (`PostgresStoreError`).
        let setup = try EngineSetup(bundle: bundle, path: configuration.model, database: database, settings: settings)
        let store: ServedStore
        switch setup.store {
        case let queue as ApprovalQueue: store = .sqlite(queue)
        case let postgres as PostgresApprovalStore: store = .postgres(postgres.store)
        default: throw ServerSetupError("\(StoreOpening.shown(database)): not a store serve knows")
        }
        let detectors = setup.detectors
        if let name = configuration.replica {
            let replica = try ReplicaEngine(setup: setup, replica: name, leaseSettings: configuration.leases, logger: logger)
            return ServedModel(model: nil, detectors: detectors, engine: nil, store: store, databasePath: nil, replica: replica)
        }
        let engine = try EngineService(setup: setup)
        return ServedModel(model: nil, detectors: detectors, engine: engine, store: store,
                           databasePath: isPostgres ? nil : database)
    }

    static func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Why the server cannot serve right now, or nil. The database must still be the file that
    /// was opened (a deleted file would take writes that nobody will ever read) and writable;
    /// a PostgreSQL server must answer a probe.
    func unavailableReason() async -> String? {
        if let failure = replica?.failure.withLock({ $0 }) { return failure }
        if let postgres { return await probe(postgres) }
        guard let path = databasePath, let queue else { return nil }
        guard let now = Self.identity(path) else { return "the database \(path) was deleted" }
        if let opened = databaseIdentity, opened != now { return "the database \(path) was replaced by another file" }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o222 == 0 { return "the database \(path) is read-only" }
        do { try queue.checkWritable() } catch { return "the database \(path) cannot be written: \(error)" }
        return nil
    }

    /// Throws 503 when the database cannot take a write.
    func requireWritable() async throws(APIError) {
        if let reason = await unavailableReason() { throw APIError.unavailable(reason) }
    }

    /// How long a probe of PostgreSQL is reused: `/readyz` is polled by every load balancer and
    /// write routes ask too, and one `SELECT 1` a second is all the database should see of that.
    static let probeReuse: Duration = .seconds(1)
    /// How long a probe waits for PostgreSQL: well under a load balancer's probe timeout (1 s
    /// by default in Kubernetes is the least), and far above a healthy server's round trip.
    static let probeTimeout: Duration = .milliseconds(800)

    /// `SELECT 1` on the store's pool, reused for `probeReuse`.
    func probe(_ postgres: PostgresRecommendationStore) async -> String? {
        let now = ContinuousClock.now
        if let last = lastProbe.withLock({ $0 }), now - last.at < Self.probeReuse { return last.reason }
        let reason = await postgres.probe(timeout: Self.probeTimeout)
        lastProbe.withLock { $0 = (ContinuousClock.now, reason) }
        return reason
    }

    /// `POST /v1/score`: the answer's bytes.
    func score(_ body: ByteBuffer, format: BodyFormat, maxRows: Int, metrics: ServerMetrics) throws -> [UInt8] {
        if let model {
            let table = try RowBodies.featureTable(body, format: format, features: model.features, maxRows: maxRows)
            if table.rowCount == 0 { return Array("{\"results\":[]}".utf8) }
            let output: OutputTable
            do {
                output = try model.score(table, settings: ScoreSettings(threads: 1, imputeMedian: false))
            } catch let missing as MissingFeatureValue {
                throw Self.located(missing.location, format: format)
            } catch let error as DataError {
                throw Self.located(error, format: format)
            }
            metrics.rowsScored(output.rowCount)
            return output.renderJSON()
        }
        guard let detectors else { throw APIError.unavailable("no model is loaded") }
        let rows = try RowBodies.metricRows(body, format: format, maxRows: maxRows)
        var out = OutputTable()
        var times = [String](), services = [String](), reported = [Double](), forest = [Double](), autoencoder = [Double]()
        var anomalous = [Int]()
        for row in rows {
            let score = try detectors.score(service: row.service, values: row.values)
            times.append(Timestamp.iso(row.time))
            services.append(row.service)
            reported.append(score.map { detectors.reportedScore($0) } ?? .nan)
            forest.append(score?.isolationForest?.score ?? .nan)
            autoencoder.append(score?.autoencoder?.score ?? .nan)
            anomalous.append(score.map { ($0.isolationForest?.anomaly ?? false) || ($0.autoencoder?.anomaly ?? false) ? 1 : 0 } ?? 0)
        }
        out.add("timestamp", .text(times))
        out.add("service", .text(services))
        out.add("anomaly_score", .real(reported))
        out.add("anomalous", .integer(anomalous))
        if detectors.isolationForest != nil { out.add("iforest", .real(forest)) }
        if detectors.autoencoder != nil { out.add("autoencoder", .real(autoencoder)) }
        metrics.rowsScored(rows.count)
        return out.renderJSON()
    }

    /// A data error of a body, located as a field: `rows[3].cpu` for JSON, line and column
    /// (in the message) for CSV.
    static func located(_ error: DataError, format: BodyFormat) -> APIError {
        switch format {
        case .csv: return APIError.badRequest(error.description, field: error.columnName)
        case .json:
            let field = error.line.map { "rows[\($0)]" + (error.columnName.map { ".\($0)" } ?? "") } ?? error.columnName
            return APIError.badRequest(error.message, field: field)
        }
    }
}

/// A configuration the server cannot start with.
public struct ServerSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
