import Foundation

/// Why a PostgreSQL store could not be opened, naming the server (`host:port`, or the Unix
/// socket) so that a person knows which database to look at.
public enum PostgresStoreError: Error, Equatable, CustomStringConvertible {
    /// The URL is not `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=…&host=/socket/dir]`.
    case invalidURL(url: String, reason: String)
    /// No PostgreSQL answered at `endpoint` (refused, no route, timed out, no such socket).
    case unreachable(endpoint: String, reason: String)
    /// The server refused the user's credentials (wrong password, no such role, no password
    /// given where one is needed).
    case authenticationFailed(endpoint: String, user: String, reason: String)
    /// The database named in the URL does not exist.
    case noSuchDatabase(endpoint: String, database: String)
    /// The database holds tables that are not a Triage store's.
    case notTriageDatabase(location: String, reason: String)
    /// A newer Triage migrated the database: refused, never migrated down.
    case newerSchema(location: String, migration: String)
    /// Anything else the server or the connection reported.
    case server(location: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason): return "invalid PostgreSQL URL '\(url)': \(reason)"
        case .unreachable(let endpoint, let reason): return "cannot reach PostgreSQL at \(endpoint): \(reason)"
        case .authenticationFailed(let endpoint, let user, let reason):
            return "PostgreSQL at \(endpoint) refused user '\(user)': \(reason)"
        case .noSuchDatabase(let endpoint, let database):
            return "PostgreSQL at \(endpoint) has no database '\(database)' (create it with `createdb \(database)`)"
        case .notTriageDatabase(let location, let reason): return "\(location) is not a Triage store: \(reason)"
        case .newerSchema(let location, let migration):
            return "\(location) was migrated by a newer Triage (migration '\(migration)'); this version never migrates down"
        case .server(let location, let reason): return "\(location): \(reason)"
        }
    }
}
