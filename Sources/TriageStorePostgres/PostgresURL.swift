import Foundation
import PostgresNIO

/// A parsed `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=…]` URL (libpq's form; `postgresql://`
/// too). `?host=/path/to/dir` connects through the Unix socket `dir/.s.PGSQL.PORT` instead of TCP,
/// as libpq does, which is how the tests reach a server that listens on no TCP port.
public struct PostgresURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var user: String
    public var password: String?
    /// TCP host; nil when `socketDirectory` is set.
    public var host: String?
    public var port: Int
    public var socketDirectory: String?
    public var database: String
    public var sslMode: SSLMode

    /// libpq's default server port.
    public static let defaultPort = 5432

    /// Parses `text`. Without a password in the URL, the one in `PGPASSWORD` is used, as libpq
    /// does: a deployment passes it that way so it never shows in process arguments (`ps`);
    /// `location` and every error leave it out either way.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(PostgresStoreError) {
        let shown = PostgresURL.redacted(text)
        func invalid(_ reason: String) -> PostgresStoreError { .invalidURL(url: shown, reason: reason) }
        guard let components = URLComponents(string: text) else { throw invalid("it does not parse as a URL") }
        guard let scheme = components.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme) else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        guard let user = components.user, !user.isEmpty else { throw invalid("it names no user (postgres://USER@HOST/DB)") }
        self.user = user
        if let given = components.password {
            password = given
        } else if let variable = environment["PGPASSWORD"], !variable.isEmpty {
            password = variable
        } else {
            password = nil
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw invalid("it names no database (postgres://USER@HOST/DB)") }
        self.database = database.removingPercentEncoding ?? database
        port = components.port ?? PostgresURL.defaultPort
        guard (1...65_535).contains(port) else { throw invalid("port \(port) is outside 1…65535") }
        var sslMode = SSLMode.prefer
        var socketDirectory: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    throw invalid("sslmode '\(item.value ?? "")' is not one of "
                                  + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                sslMode = mode
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw invalid("host= in the query takes a socket folder (an absolute path)")
                }
                socketDirectory = value
            default:
                throw invalid("unknown parameter '\(item.name)' (known: sslmode, host)")
            }
        }
        self.sslMode = sslMode
        self.socketDirectory = socketDirectory
        if socketDirectory == nil {
            guard let host = components.host, !host.isEmpty else { throw invalid("it names no host (postgres://USER@HOST/DB)") }
            self.host = host
        } else {
            host = nil
        }
    }

    /// The server as errors name it: `host:port`, or the Unix socket's path.
    public var endpoint: String {
        if let socketDirectory { return "socket \(socketPath(in: socketDirectory))" }
        let shownHost = host?.contains(":") == true ? "[\(host!)]" : host ?? ""
        return "\(shownHost):\(port)"
    }

    /// The URL without its password: what errors and logs show.
    public var location: String {
        if let socketDirectory { return "postgres://\(user)@/\(database)?host=\(socketDirectory)" }
        return "postgres://\(user)@\(endpoint)/\(database)"
    }

    func socketPath(in directory: String) -> String { directory + "/.s.PGSQL.\(port)" }

    /// `text` with any password replaced by `***` (for an error about a URL that did not parse).
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].lastIndex(of: "@") else { return text }
        let credentials = text[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// The TLS context of `sslMode`, with libpq's meaning: `prefer` and `require` encrypt without
    /// checking the certificate, `verify-ca` checks it against the trusted roots, `verify-full`
    /// also checks the host name.
    func tlsConfiguration() -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable: return nil
        case .allow, .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        return configuration
    }

    /// The settings of one connection (used to open the store and migrate it).
    func connectionConfiguration() throws(PostgresStoreError) -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if let socketDirectory {
            configuration = .init(unixSocketPath: socketPath(in: socketDirectory), username: user, password: password, database: database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            if let tlsConfiguration = tlsConfiguration() {
                let context: NIOSSLContext
                do { context = try NIOSSLContext(configuration: tlsConfiguration) } catch {
                    throw .invalidURL(url: location, reason: "cannot set up TLS: \(error)")
                }
                tls = [.require, .verifyCA, .verifyFull].contains(sslMode) ? .require(context) : .prefer(context)
            } else {
                tls = .disable
            }
            configuration = .init(host: host ?? "", port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(PostgresURL.connectTimeoutSeconds)
        return configuration
    }

    /// The settings of the pool the store then uses.
    func clientConfiguration() -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let socketDirectory {
            configuration = .init(unixSocketPath: socketPath(in: socketDirectory), username: user, password: password, database: database)
        } else {
            let tls: PostgresClient.Configuration.TLS
            if let tlsConfiguration = tlsConfiguration() {
                tls = [.require, .verifyCA, .verifyFull].contains(sslMode) ? .require(tlsConfiguration) : .prefer(tlsConfiguration)
            } else {
                tls = .disable
            }
            configuration = .init(host: host ?? "", port: port, username: user, password: password, database: database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(Int64(PostgresURL.connectTimeoutSeconds))
        // A command-line front door needs one connection; a server a few (2 cores here).
        configuration.options.maximumConnections = 4
        // A transaction whose client stops talking (paused, cut off, or abandoned past an
        // operation's deadline) is ended by the server after this, so it cannot hold the writers'
        // lock, or a lease row, for longer: every Triage transaction is a few statements in a row.
        configuration.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "\(PostgresURL.idleInTransactionSeconds)s")]
        return configuration
    }

    /// The most a Triage session may sit idle inside a transaction: far above the milliseconds
    /// between a transaction's statements, and half a lease, so a paused process stalls other
    /// writers (the writers' lock) for at most that.
    static let idleInTransactionSeconds = 5

    /// How long a connection attempt may take before the server counts as unreachable: long
    /// enough for a loaded server, short enough that a typo in the host is reported promptly.
    static let connectTimeoutSeconds: Int64 = 5
}
