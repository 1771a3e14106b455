import Foundation

/// Where the PostgreSQL store is: the `--store` / `SPOOLRUNNER_STORE` URL, parsed.
///
/// Accepts what postgres-kit 2.17.0's `SQLPostgresConfiguration(url:)` accepts, without depending
/// on it: `postgres://`, `postgresql://` (and `+tcp`), `postgres+uds://user@localhost/SOCKET#db`,
/// and `sslmode` / `tlsmode` / `ssl` / `tls` with their aliases. Plus `schema=NAME` (the schema
/// the store's tables live in). The password never leaves this type in text: `description` is
/// the redacted form (`postgres://spool:***@db1:5432/spool`).
public struct StoreURL: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file itself (`…/.s.PGSQL.5432`): a directory in the URL gets libpq's file name.
        case unixSocket(path: String)
    }

    /// libpq's modes folded onto the three postgres-nio has (postgres-kit's aliases).
    public enum TLSMode: String, Sendable, Equatable {
        case disable, prefer, require
    }

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var schema: String?

    public init(
        endpoint: Endpoint, user: String, password: String? = nil, database: String, tls: TLSMode,
        schema: String? = nil
    ) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.schema = schema
    }

    /// The URL with the password shown as `***`: the only form that goes to logs, errors and
    /// `runner.json`.
    public var description: String {
        let credentials = user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? user
        let secret = password == nil ? "" : ":***"
        var query: [String] = []
        switch endpoint {
        case .tcp(let host, let port):
            if tls != .prefer { query.append("sslmode=\(tls.rawValue)") }
            if let schema { query.append("schema=\(schema)") }
            let shownHost = host.contains(":") ? "[\(host)]" : host
            let tail = query.isEmpty ? "" : "?" + query.joined(separator: "&")
            return "postgres://\(credentials)\(secret)@\(shownHost):\(port)/\(database)\(tail)"
        case .unixSocket(let path):
            if tls != .disable { query.append("sslmode=\(tls.rawValue)") }
            if let schema { query.append("schema=\(schema)") }
            let tail = query.isEmpty ? "" : "?" + query.joined(separator: "&")
            return "postgres+uds://\(credentials)\(secret)@localhost\(path)\(tail)#\(database)"
        }
    }
}
