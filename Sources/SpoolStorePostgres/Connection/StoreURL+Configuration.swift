import PostgresNIO

extension StoreURL {
    /// The session settings every connection of a runner starts with.
    ///
    /// - `statement_timeout` and `idle_in_transaction_session_timeout`: a frozen runner cannot sit
    ///   on row locks.
    /// - TCP keepalives: Linux's defaults notice a dead peer after 2 h 11 min, which would keep a
    ///   dead leader's advisory lock held that long (research §5).
    /// - `search_path`: the `schema=` of the URL, so every unqualified name is in it.
    public func startupParameters(applicationName: String) -> [(String, String)] {
        var parameters: [(String, String)] = [
            // The server cuts it at 63 bytes; cut it here on a character boundary instead.
            ("application_name", String(decoding: Array(applicationName.utf8.prefix(63)), as: UTF8.self)),
            ("statement_timeout", "30s"),
            ("idle_in_transaction_session_timeout", "60s"),
            ("tcp_keepalives_idle", "5"),
            ("tcp_keepalives_interval", "2"),
            ("tcp_keepalives_count", "3"),
        ]
        if let schema { parameters.append(("search_path", schema)) }
        return parameters
    }

    /// The pool's configuration (`PostgresClient`): at most `maximumConnections` sessions.
    public func clientConfiguration(applicationName: String, maximumConnections: Int = 4)
        -> PostgresClient.Configuration
    {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS
            switch self.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(.makeClientConfiguration())
            case .require: tls = .require(.makeClientConfiguration())
            }
            configuration = .init(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: user, password: password, database: database)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.additionalStartupParameters = startupParameters(applicationName: applicationName)
        return configuration
    }

    /// The configuration of one dedicated connection (the control connection: LISTEN and the
    /// leader's advisory lock, which need a session of their own).
    ///
    /// - Throws: NIOSSL's error when a TLS context cannot be made.
    public func connectionConfiguration(applicationName: String) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch endpoint {
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            switch self.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            configuration = .init(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: user, password: password, database: database)
        }
        configuration.options.additionalStartupParameters = startupParameters(applicationName: applicationName)
        return configuration
    }
}
