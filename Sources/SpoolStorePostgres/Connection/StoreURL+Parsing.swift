import Foundation

extension StoreURL {
    /// PostgreSQL's port when the URL names none.
    public static let defaultPort = 5432

    /// Parses a `--store` URL; `passwordFile` is `--store-password-file` (its first line is the
    /// password, for URLs that must not carry one).
    ///
    /// - Throws: `StoreURLError` naming what is wrong, with the URL redacted.
    public static func parse(_ text: String, passwordFile: String? = nil) throws(StoreURLError) -> StoreURL {
        func fail(_ code: StoreURLError.Code, _ message: String) -> StoreURLError {
            StoreURLError(code: code, url: StoreURLError.redact(text), message: message)
        }
        guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased() else {
            throw fail(.malformed, "is not a URL (expected postgres://USER@HOST[:PORT]/DB)")
        }
        let schemes = ["postgres", "postgresql", "postgres+tcp", "postgresql+tcp", "postgres+uds", "postgresql+uds"]
        guard schemes.contains(scheme) else {
            throw fail(.badScheme, "has the scheme '\(scheme)': use postgres://, postgresql:// or postgres+uds://")
        }
        guard let user = parts.user, !user.isEmpty else {
            throw fail(.missingUser, "names no user (expected \(scheme)://USER@…)")
        }
        var tls: TLSMode?
        var schema: String?
        for item in parts.queryItems ?? [] {
            switch item.name.lowercased() {
            case "sslmode", "tlsmode", "ssl", "tls":
                switch item.value?.lowercased() ?? "" {
                case "disable", "false": tls = .disable
                case "prefer", "allow", "true": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                case let other:
                    throw fail(
                        .badSSLMode, "has \(item.name)=\(other): use disable, prefer or require (or their aliases)")
                }
            case "schema":
                guard let name = item.value,
                    name.range(of: #"^[a-z_][a-z0-9_]{0,62}$"#, options: .regularExpression) != nil
                else {
                    throw fail(
                        .badSchema,
                        "has schema=\(item.value ?? ""): a schema is 1–63 of a-z, 0-9, _ (not first a digit)")
                }
                schema = name
            default:
                throw fail(.unknownParameter, "has the unknown parameter '\(item.name)' (known: sslmode, schema)")
            }
        }
        let endpoint: Endpoint
        let database: String?
        switch scheme {
        case "postgres", "postgresql", "postgres+tcp", "postgresql+tcp":
            guard var host = parts.host, !host.isEmpty else { throw fail(.missingHost, "names no host") }
            // An IPv6 literal comes back with its brackets on some platforms.
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let port = parts.port ?? defaultPort
            guard (1...65535).contains(port) else { throw fail(.badPort, "has port \(port), outside 1–65535") }
            endpoint = .tcp(host: host, port: port)
            let path = parts.path.split(separator: "/", omittingEmptySubsequences: true)
            guard path.count <= 1 else { throw fail(.badDatabase, "has a path of several parts: expected /DB") }
            database = path.first.map(String.init)
            guard parts.fragment == nil else {
                throw fail(.badDatabase, "has a #fragment, which only postgres+uds:// uses")
            }
        case "postgres+uds", "postgresql+uds":
            guard parts.host?.isEmpty ?? true || parts.host == "localhost", parts.port == nil else {
                throw fail(
                    .missingHost, "names a host or port: a unix socket URL is postgres+uds://USER@localhost/PATH#DB")
            }
            guard parts.path.hasPrefix("/"), parts.path != "/" else {
                throw fail(.missingSocket, "names no socket path (postgres+uds://USER@localhost/run/postgresql#DB)")
            }
            let path = parts.path.hasSuffix("/") ? String(parts.path.dropLast()) : parts.path
            let isSocketFile = (path as NSString).lastPathComponent.hasPrefix(".s.PGSQL.")
            endpoint = .unixSocket(path: isSocketFile ? path : "\(path)/.s.PGSQL.\(defaultPort)")
            database = parts.fragment
        default:
            throw fail(.badScheme, "has the scheme '\(scheme)': use postgres://, postgresql:// or postgres+uds://")
        }
        var password = parts.password
        if let passwordFile {
            guard password == nil else {
                throw fail(.passwordTwice, "has a password and --store-password-file is given too: use one")
            }
            password = try readPassword(passwordFile, url: text)
        }
        return StoreURL(
            endpoint: endpoint, user: user, password: password,
            // PostgreSQL's own rule: no database name means the user's name.
            database: database.flatMap { $0.isEmpty ? nil : $0 } ?? user,
            tls: tls ?? (scheme.hasSuffix("+uds") ? .disable : .prefer), schema: schema)
    }

    /// The first line of the file, without its line end; an empty or unreadable file is an error.
    private static func readPassword(_ path: String, url: String) throws(StoreURLError) -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StoreURLError(
                code: .passwordFile, url: StoreURLError.redact(url),
                message: "--store-password-file \(path) cannot be read: \(error.localizedDescription)")
        }
        let line =
            String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .first.map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) } ?? ""
        guard !line.isEmpty else {
            throw StoreURLError(
                code: .passwordFile, url: StoreURLError.redact(url),
                message: "--store-password-file \(path) is empty: its first line is the password")
        }
        return line
    }
}
