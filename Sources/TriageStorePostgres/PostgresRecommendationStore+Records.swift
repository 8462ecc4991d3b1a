import Foundation
import PostgresNIO
import TriageData
import TriageEngine

/// How a `Recommendation` travels to and from its PostgreSQL row: through the same stored
/// columns the SQLite queue writes (`Recommendation.storedColumns()`), each bound with the
/// PostgreSQL type of its column.
extension PostgresRecommendationStore {
    enum ColumnType {
        case text, bigint, double, boolean
    }

    /// The PostgreSQL type of each `recommendation` column (`PostgresSchema`).
    static let columnTypes: [String: ColumnType] = {
        var types = [String: ColumnType]()
        for name in Recommendation.storedColumnNames { types[name] = .text }
        for name in ["created", "raised_at", "expires", "tried", "decided_at", "outcome_at", "held_until"] { types[name] = .bigint }
        for name in ["confidence", "recovery_seconds"] { types[name] = .double }
        types["outbox_written"] = .boolean
        return types
    }()

    static let columnList = Recommendation.storedColumnNames.joined(separator: ", ")

    static func decode(_ row: PostgresRandomAccessRow) throws(EngineError) -> Recommendation {
        var stored = [String: StoredValue]()
        do {
            for name in Recommendation.storedColumnNames {
                let cell = row[name]
                switch columnTypes[name] ?? .text {
                case .text: stored[name] = try cell.decode(String?.self).map(StoredValue.text) ?? .null
                case .bigint: stored[name] = try cell.decode(Int64?.self).map(StoredValue.integer) ?? .null
                case .double: stored[name] = try cell.decode(Double?.self).map(StoredValue.real) ?? .null
                // As GRDB stores a Bool: an integer 0 or 1.
                case .boolean: stored[name] = try cell.decode(Bool?.self).map { StoredValue.integer($0 ? 1 : 0) } ?? .null
                }
            }
        } catch {
            throw .invalid("a recommendation row does not decode: \(error)")
        }
        return try Recommendation(storedColumns: stored)
    }

    /// Binds the stored value of column `name`.
    static func bind(_ value: StoredValue, column name: String, into binds: inout PostgresBindings) throws {
        switch (value, columnTypes[name] ?? .text) {
        case (.null, _): binds.appendNull()
        case (.integer(let n), .boolean): binds.append(n != 0)
        case (.integer(let n), .double): binds.append(Double(n))
        case (.integer(let n), _): binds.append(n)
        case (.real(let x), _): binds.append(x)
        case (.text(let s), _): binds.append(s)
        case (.blob(let d), _): try binds.append(d)
        }
    }

    /// `record`'s row as a JSON object of its columns' text forms (`PostgresSchema.raiseFunction`
    /// reads it with `json_populate_record`); doubles in Swift's shortest round-trip form, which
    /// PostgreSQL parses back to the same value.
    static func json(of record: Recommendation) throws(EngineError) -> String {
        let stored = try record.storedColumns()
        var fields = [String: JSONValue]()
        for name in Recommendation.storedColumnNames {
            switch (stored[name] ?? .null, columnTypes[name] ?? .text) {
            case (.null, _): fields[name] = .null
            case (.integer(let n), .boolean): fields[name] = .string(n != 0 ? "true" : "false")
            case (.integer(let n), _): fields[name] = .string(String(n))
            case (.real(let x), _): fields[name] = .string(x.description)
            case (.text(let s), _): fields[name] = .string(s)
            case (.blob, _): throw .invalid("recommendation column \(name) holds bytes, which no column of the table takes")
            }
        }
        return JSONValue.object(fields).serialized()
    }

    func fetch(where condition: String, binds makeBinds: (inout PostgresBindings) -> Void = { _ in }, order: String? = nil,
               forUpdate: Bool = false, on connection: PostgresConnection) async throws -> [Recommendation] {
        var binds = PostgresBindings()
        makeBinds(&binds)
        let sql = "SELECT \(Self.columnList) FROM recommendation WHERE \(condition)"
            + (order.map { " ORDER BY \($0)" } ?? "") + (forUpdate ? " FOR UPDATE" : "")
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds), on: connection).map { row throws(EngineError) in
            try Self.decode(row)
        }
    }

    func insert(_ record: Recommendation, on connection: PostgresConnection) async throws {
        let stored = try record.storedColumns()
        var binds = PostgresBindings()
        for name in Recommendation.storedColumnNames { try Self.bind(stored[name] ?? .null, column: name, into: &binds) }
        let marks = (1...Recommendation.storedColumnNames.count).map { "$\($0)" }.joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO recommendation (\(Self.columnList)) VALUES (\(marks))",
                                                 binds: binds), logger: logger)
    }

    /// Writes every column of `record` over its row.
    func update(_ record: Recommendation, on connection: PostgresConnection) async throws {
        let stored = try record.storedColumns()
        var binds = PostgresBindings()
        var assignments = [String]()
        for name in Recommendation.storedColumnNames where name != "id" {
            try Self.bind(stored[name] ?? .null, column: name, into: &binds)
            assignments.append("\(name) = $\(binds.count)")
        }
        binds.append(record.id)
        try await connection.query(PostgresQuery(unsafeSQL: "UPDATE recommendation SET \(assignments.joined(separator: ", ")) WHERE id = $\(binds.count)",
                                                 binds: binds), logger: logger)
    }

    /// Appends one journal event inside the caller's (writing) transaction, trimming the journal
    /// every 1 000 events to `ApprovalQueue.journalCapacity` as SQLite's does.
    func journal(type: String, body: String, now: Int64, on connection: PostgresConnection) async throws {
        let id = try await rows("INSERT INTO event (type, at, body) VALUES (\(type), \(now), \(body)) RETURNING id", on: connection)
            .first?["id"].decode(Int64.self) ?? 0
        if id % 1_000 == 0 {
            try await connection.query("DELETE FROM event WHERE id <= \(id - ApprovalQueue.journalCapacity)", logger: logger)
        }
    }

    func journal(_ record: Recommendation, _ type: String, now: Int64, on connection: PostgresConnection) async throws {
        guard let json = record.journalJSON(type, now: now) else { return }
        try await journal(type: type, body: json.serialized(), now: now, on: connection)
    }

    /// The guards' revision (what they know changed), kept in `meta` as SQLite keeps it.
    func bumpGuardRevision(on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO meta (key, value) VALUES ('guards_revision', '1')
            ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text
            """, logger: logger)
    }

    /// Raise order: ids number recommendations as raised (`rec-000009` before `rec-000010`, and
    /// past a million a longer id is a later one).
    static func raisedFirst(_ a: Recommendation, _ b: Recommendation) -> Bool {
        a.id.count != b.id.count ? a.id.count < b.id.count : a.id < b.id
    }
}
