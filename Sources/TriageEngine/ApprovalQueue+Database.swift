import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Which SQLite files the queue accepts, and how it opens them.
///
/// **Ownership.** Triage marks every queue it creates with `PRAGMA application_id` =
/// `applicationID` (the SQLite header field meant for this, cf. sqlite.org/fileformat.html §1.3.15)
/// in the same transaction that creates its tables. It creates its tables only in a *new*
/// database (no file, an empty file, or an SQLite file without any schema object, application id
/// or user version) and migrates only a database carrying its mark. A queue made before the mark
/// existed is recognised by having exactly Triage's tables, checked column by column, and is then
/// marked. Anything else — another application's database, a file that is not SQLite — is refused
/// before anything is written to it (the check runs on a plain connection, before the pool
/// switches the file to WAL mode, which would itself rewrite the header).
///
/// **Schema.** The migration table only says which migrations ran, not that their tables are
/// still whole: a column dropped by hand used to make comments vanish on read. Every open compares
/// the tables, columns (name, type, NOT NULL, primary key) and unique indexes with the schema this
/// build's migrations produce up to the last one the file has completed (built in memory, so there
/// is no second copy to drift), and a migration this build does not know means a newer Triage
/// wrote the file: refused, never undone.
///
/// **Read-only access** (`Access.readOnly`) opens with `SQLITE_OPEN_READONLY`: nothing is created,
/// migrated, marked or written, and pending recommendations past their expiry are *shown* as
/// expired without being updated. A queue short of migrations is read as it is only when each
/// missing one is in `migrationsReadersMaySkip` (it adds nothing a reader needs, e.g. nullable
/// audit columns decoded as nil); otherwise it is refused as needing an upgrade by a writer. A WAL database in a folder the reader cannot write, with no
/// `-wal`/`-shm` files present (so no writer has it open), cannot be opened that way by SQLite;
/// it is then opened as immutable, which reads the file without locks: a writer starting during
/// the read could make that read inconsistent, which such a folder makes unlikely.
extension ApprovalQueue {
    public enum Access: Sendable, Equatable {
        /// Creates the queue in a new file, migrates it, and writes (watch, approve, outcome).
        case readWrite
        /// Reads an existing queue without writing anything (list, show, report).
        case readOnly
    }

    /// `PRAGMA application_id` of a Triage queue: "TRIA" in ASCII.
    public static let applicationID: Int32 = 0x5452_4941

    enum Ownership: Equatable {
        /// No schema at all: a queue may be created in it.
        case new
        case triage
        /// Triage's exact tables without the mark (made before the mark existed).
        case legacy
        case foreign(String)
    }

    /// Opens a queue for writing: decides ownership on a plain connection, creates or migrates,
    /// marks an old queue, checks the schema; returns the pool the queue then uses.
    static func openForWriting(_ path: String, configuration: Configuration) throws -> DatabasePool {
        try checkRegularFile(path, mustExist: false)
        let setup = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? setup.close() }
        // Under a write lock, so two processes opening one new file decide once.
        try setup.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                switch try ownership(db) {
                case .foreign(let reason): throw EngineError.notTriageDatabase(path: path, reason: reason)
                case .legacy:
                    try checkVersion(db, path: path)
                    try checkSchema(db, path: path)
                    try db.execute(sql: "PRAGMA application_id = \(applicationID)")
                case .triage: try checkVersion(db, path: path)
                case .new:
                    // Marked in this transaction, before the migrations create the tables one
                    // by one: another process opening the file meanwhile must see a Triage
                    // queue being built, not a file with "only some of a queue's tables"
                    // (found by the concurrent-open test under AddressSanitizer's slower timing).
                    try db.execute(sql: "PRAGMA application_id = \(applicationID)")
                }
                return .commit
            }
        }
        // Several processes may open one new file at once (watch and a person at a terminal).
        // GRDB lists the migrations to run before it takes the write lock for the first of them,
        // so a second opener can wait out the first one's transaction and then run the same
        // migration again ("table meta already exists"), or read the migrations table while it
        // is being created; and SQLite answers BUSY at once, without the busy timeout, when a
        // reading transaction would have to become a writing one. Each of these is a race with
        // another opener that is making progress: try again from where it got, every 25 ms (up
        // to about 10 s, the busy timeout). An error that repeats three times while no migration
        // lands is not a race: it is thrown.
        func applied() -> Set<String>? { try? setup.read { db in try migrator.appliedIdentifiers(db) } }
        var attempts = 0, attemptsWithoutProgress = 0
        var appliedBefore = applied()
        while true {
            do {
                try migrator.migrate(setup)
                break
            } catch {
                if (try? setup.read({ db in try migrator.hasCompletedMigrations(db) })) == true { break }
                let appliedNow = applied()
                let busy = (error as? DatabaseError).map { [.SQLITE_BUSY, .SQLITE_LOCKED].contains($0.resultCode) } ?? false
                attemptsWithoutProgress = busy || appliedNow != appliedBefore ? 0 : attemptsWithoutProgress + 1
                appliedBefore = appliedNow
                guard attempts < 400, attemptsWithoutProgress < 3 else { throw error }
                attempts += 1
                usleep(25_000)
            }
        }
        try setup.read { db in try checkSchema(db, path: path) }
        try setup.close()
        // Opening the pool switches a new file to WAL, which needs the file to itself: another
        // opener still reading or migrating it answers BUSY (seen once in CI with 8 openers on a
        // loaded machine). Retried like the migrations above.
        attempts = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) && attempts < 400 {
                attempts += 1
                usleep(25_000)
            }
        }
    }

    /// Opens an existing queue with SQLite's read-only flag and checks it like `openForWriting`.
    static func openForReading(_ path: String, configuration: Configuration) throws -> DatabaseQueue {
        try checkRegularFile(path, mustExist: true)
        var readOnly = configuration
        readOnly.readonly = true
        func open(_ location: String) throws -> DatabaseQueue {
            let database = try DatabaseQueue(path: location, configuration: readOnly)
            _ = try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") }
            return database
        }
        let database: DatabaseQueue
        do {
            database = try open(path)
        } catch let error as DatabaseError where [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode)
                    && !FileManager.default.fileExists(atPath: path + "-wal") {
            database = try open(immutableURI(path))
        }
        try database.read { db in
            switch try ownership(db) {
            case .foreign(let reason): throw EngineError.notTriageDatabase(path: path, reason: reason)
            case .new: throw EngineError.notTriageDatabase(path: path, reason: "it is empty; a queue is created by opening it for writing")
            case .triage, .legacy: break
            }
            try checkVersion(db, path: path)
            // An older queue is upgraded only by a command that writes; reading never migrates.
            // It is read as it is when the migrations it lacks only add what a reader can do
            // without (`migrationsReadersMaySkip`), and checked against the schema it has.
            let completed = try migrator.completedMigrations(db)
            let missing = migrator.migrations.dropFirst(completed.count)
            guard try migrator.appliedMigrations(db) == completed, !completed.isEmpty,
                  missing.allSatisfy(migrationsReadersMaySkip.contains) else {
                throw EngineError.database(path: path, reason: "the queue was made by an older Triage and needs an upgrade, "
                                           + "which only a command that writes to it does")
            }
            try checkSchema(db, path: path)
        }
        return database
    }

    /// A queue is a regular file: SQLite would block for ever reading a FIFO and write a device
    /// (`/dev/null`) away.
    static func checkRegularFile(_ path: String, mustExist: Bool) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT && !mustExist { return }
            throw EngineError.database(path: path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw EngineError.notTriageDatabase(path: path, reason: "it is not a regular file")
        }
    }

    /// An SQLite URI for `path` with `immutable=1` (read without locks or `-shm`); SQLite on
    /// Linux distributions is built with URI filenames enabled.
    static func immutableURI(_ path: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var encoded = ""
        for c in absolute.unicodeScalars {
            switch c {
            case "%", "?", "#": encoded += String(format: "%%%02X", c.value)
            default: encoded.unicodeScalars.append(c)
            }
        }
        return "file:" + encoded + "?mode=ro&immutable=1"
    }

    static func ownership(_ db: Database) throws -> Ownership {
        let id = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        if id == applicationID { return .triage }
        if id != 0 { return .foreign("its SQLite application id is \(hex(id)), a Triage queue's is \(hex(applicationID))") }
        let objects = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        if objects.isEmpty {
            let version = try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            return version == 0 ? .new : .foreign("it is marked with another application's schema version \(version)")
        }
        let tables = Set(try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
            """))
        // Unmarked queues predate the mark, so they hold the tables of v1 (or of a later
        // migration, should one have run before the mark was set); their columns are checked next.
        for migration in migrator.migrations where tables == Set(try expectedSchema(after: migration).keys) {
            return .legacy
        }
        let strangers = tables.subtracting(try expectedSchema(after: nil).keys).sorted()
        if strangers.isEmpty {
            return .foreign("it has no Triage mark and only some of a queue's tables: \(tables.sorted().joined(separator: ", "))")
        }
        let shown = strangers.prefix(5).joined(separator: ", ") + (strangers.count > 5 ? ", …" : "")
        return .foreign("it holds tables a Triage queue never has: \(shown)")
    }

    /// The error to report for a failed open: a read-only file or folder, a file that is not
    /// SQLite, or SQLite's own words.
    static func openError(_ error: any Error, path: String, access: Access) -> EngineError {
        if let engine = error as? EngineError { return engine }
        if let sqlite = error as? DatabaseError {
            switch sqlite.resultCode {
            case .SQLITE_NOTADB: return .notTriageDatabase(path: path, reason: "it is not an SQLite database")
            case .SQLITE_READONLY where access == .readWrite: return .readOnlyDatabase(path: path)
            case .SQLITE_CANTOPEN where access == .readWrite && FileManager.default.fileExists(atPath: path):
                // WAL mode needs to create `-wal` and `-shm` beside the file.
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
                if !FileManager.default.isWritableFile(atPath: path) || !FileManager.default.isWritableFile(atPath: folder) {
                    return .readOnlyDatabase(path: path)
                }
            default: break
            }
        }
        return .database(path: path, reason: reason(error))
    }

    private static func hex(_ id: Int32) -> String { "0x" + String(UInt32(bitPattern: id), radix: 16) }

    /// Refuses a database migrated by a newer Triage (never migrate down).
    static func checkVersion(_ db: Database, path: String) throws {
        let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations)
        if let newer = unknown.sorted().first { throw EngineError.newerDatabase(path: path, migration: newer) }
    }

    // MARK: Schema

    struct Column: Equatable, Sendable {
        var name: String
        var type: String
        var notNull: Bool
        var primaryKey: Int

        var summary: String { type + (notNull ? " NOT NULL" : "") + (primaryKey > 0 ? " PRIMARY KEY" : "") }
    }

    struct TableShape: Equatable, Sendable {
        var columns: [Column]
        /// Column lists of the unique indexes (primary keys and UNIQUE constraints included).
        var uniqueKeys: Set<[String]>
    }

    static func shape(_ db: Database, table: String) throws -> TableShape {
        let columns = try db.columns(in: table).map {
            Column(name: $0.name, type: $0.type.uppercased(), notNull: $0.isNotNull, primaryKey: $0.primaryKeyIndex)
        }
        let unique = try db.indexes(on: table).filter(\.isUnique).map(\.columns)
        return TableShape(columns: columns, uniqueKeys: Set(unique))
    }

    /// The tables this build's migrations create, after each migration (keyed by its identifier),
    /// read from an in-memory database they built one migration at a time.
    static let expectedSchemas: Result<[String: [String: TableShape]], EngineError> = {
        do {
            let memory = try DatabaseQueue()
            var schemas = [String: [String: TableShape]]()
            for identifier in migrator.migrations {
                try migrator.migrate(memory, upTo: identifier)
                schemas[identifier] = try memory.read { db in
                    let tables = try String.fetchAll(db, sql: """
                        SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                        """)
                    return try Dictionary(uniqueKeysWithValues: tables.map { ($0, try shape(db, table: $0)) })
                }
            }
            return .success(schemas)
        } catch {
            return .failure(.invalid("cannot build the expected queue schema: \(error)"))
        }
    }()

    /// The schema after migration `identifier`, or after all of them when nil.
    static func expectedSchema(after identifier: String?) throws -> [String: TableShape] {
        guard let key = identifier ?? migrator.migrations.last, let schema = try expectedSchemas.get()[key] else {
            throw EngineError.invalid("no queue migration named '\(identifier ?? "")'")
        }
        return schema
    }

    /// Throws `schemaMismatch` for the first table, column or unique key that differs from the
    /// schema of the migrations `db` has completed (all of them when it records none: a queue
    /// being built, checked once built).
    static func checkSchema(_ db: Database, path: String) throws {
        let expectedTables = try expectedSchema(after: try migrator.completedMigrations(db).last)
        for (table, expected) in expectedTables.sorted(by: { $0.key < $1.key }) {
            guard try db.tableExists(table) else {
                throw EngineError.schemaMismatch(path: path, table: table, column: nil, problem: "is missing")
            }
            let actual = try shape(db, table: table)
            for column in expected.columns {
                guard let found = actual.columns.first(where: { $0.name == column.name }) else {
                    throw EngineError.schemaMismatch(path: path, table: table, column: column.name, problem: "is missing")
                }
                guard found == column else {
                    throw EngineError.schemaMismatch(path: path, table: table, column: column.name,
                                                     problem: "is \(found.summary), expected \(column.summary)")
                }
            }
            if let extra = actual.columns.first(where: { c in !expected.columns.contains { $0.name == c.name } }) {
                throw EngineError.schemaMismatch(path: path, table: table, column: extra.name,
                                                 problem: "is not part of this version's schema")
            }
            if let lost = expected.uniqueKeys.subtracting(actual.uniqueKeys).sorted(by: { $0.joined() < $1.joined() }).first {
                throw EngineError.schemaMismatch(path: path, table: table, column: lost.joined(separator: ", "),
                                                 problem: "has lost its unique index")
            }
        }
    }
}
