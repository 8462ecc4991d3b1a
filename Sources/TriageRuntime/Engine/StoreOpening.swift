import Foundation
import Logging
import TriageEngine
import TriageStorePostgres

/// Opens the store a `--db` value names: `postgres://…` (or `postgresql://…`) is a PostgreSQL
/// database (`PostgresApprovalStore`), anything else an SQLite file (`ApprovalQueue`). One place
/// decides, so every front door accepts the same values.
public enum StoreOpening {
    /// Opens `database`. An SQLite file is opened with `access` (a reader never creates, migrates
    /// or writes it); a PostgreSQL database is created or migrated on open whatever `access` says
    /// (its schema is checked there, and the user needs `CREATE` on its schema; see README).
    /// Errors: `EngineError` (SQLite), `PostgresStoreError` naming the server (PostgreSQL).
    public static func open(_ database: String, access: ApprovalQueue.Access) throws -> any ApprovalStore {
        guard DatabaseAddress.isPostgres(database) else { return try ApprovalQueue(path: database, access: access) }
        return try PostgresApprovalStore.open(database, logger: quietLogger)
    }

    /// The PostgreSQL store's log: swift-log's default handler writes to standard output, which
    /// is the commands' results; failures reach the user as thrown errors instead.
    static var quietLogger: Logger {
        var logger = Logger(label: "triage.postgres")
        logger.logLevel = .critical
        return logger
    }
}

extension StoreOpening {
    /// `database` as messages show it: a PostgreSQL URL without its password.
    public static func shown(_ database: String) -> String {
        DatabaseAddress.isPostgres(database) ? PostgresURL.redacted(database) : database
    }
}
