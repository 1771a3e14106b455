import Foundation
import SpoolStorePostgres
import Testing

@Suite("The --store URL")
struct StoreURLTests {
    struct Good: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: StoreURL
        var redacted: String
        var testDescription: String { text }
    }

    static let good: [Good] = [
        Good(
            text: "postgres://spool:secret@db1:5432/spool",
            expected: StoreURL(
                endpoint: .tcp(host: "db1", port: 5432), user: "spool", password: "secret", database: "spool",
                tls: .prefer),
            redacted: "postgres://spool:***@db1:5432/spool"),
        Good(
            text: "postgresql://spool@db1/spool",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "spool", tls: .prefer),
            redacted: "postgres://spool@db1:5432/spool"),
        Good(
            text: "postgres+tcp://spool@127.0.0.1:6543/jobs?sslmode=disable",
            expected: StoreURL(
                endpoint: .tcp(host: "127.0.0.1", port: 6543), user: "spool", database: "jobs", tls: .disable),
            redacted: "postgres://spool@127.0.0.1:6543/jobs?sslmode=disable"),
        Good(
            text: "postgresql+tcp://spool@db1/jobs?sslmode=require&schema=fleet_a",
            expected: StoreURL(
                endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "jobs", tls: .require,
                schema: "fleet_a"),
            redacted: "postgres://spool@db1:5432/jobs?sslmode=require&schema=fleet_a"),
        Good(
            text: "postgres://spool@db1/jobs?sslmode=verify-full",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "jobs", tls: .require),
            redacted: "postgres://spool@db1:5432/jobs?sslmode=require"),
        Good(
            text: "postgres://spool@db1/jobs?tlsmode=verify-ca",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "jobs", tls: .require),
            redacted: "postgres://spool@db1:5432/jobs?sslmode=require"),
        Good(
            text: "postgres://spool@db1/jobs?ssl=false",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "jobs", tls: .disable),
            redacted: "postgres://spool@db1:5432/jobs?sslmode=disable"),
        Good(
            text: "postgres://spool@db1/jobs?tls=true",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "jobs", tls: .prefer),
            redacted: "postgres://spool@db1:5432/jobs"),
        Good(
            text: "postgres://spool@db1/jobs?SSLMODE=allow",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "jobs", tls: .prefer),
            redacted: "postgres://spool@db1:5432/jobs"),
        // The last of several modes wins, as in postgres-kit.
        Good(
            text: "postgres://spool@db1/jobs?sslmode=require&ssl=disable",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "jobs", tls: .disable),
            redacted: "postgres://spool@db1:5432/jobs?sslmode=disable"),
        // No database: PostgreSQL's rule, the user's name.
        Good(
            text: "postgres://spool@db1",
            expected: StoreURL(endpoint: .tcp(host: "db1", port: 5432), user: "spool", database: "spool", tls: .prefer),
            redacted: "postgres://spool@db1:5432/spool"),
        Good(
            text: "postgres://spool:p%40ss%2Fw%3Ard@[::1]:5433/jobs",
            expected: StoreURL(
                endpoint: .tcp(host: "::1", port: 5433), user: "spool", password: "p@ss/w:rd", database: "jobs",
                tls: .prefer),
            redacted: "postgres://spool:***@[::1]:5433/jobs"),
        Good(
            text: "postgres+uds://spool@localhost/run/postgresql#jobs",
            expected: StoreURL(
                endpoint: .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"), user: "spool", database: "jobs",
                tls: .disable),
            redacted: "postgres+uds://spool@localhost/run/postgresql/.s.PGSQL.5432#jobs"),
        Good(
            text: "postgresql+uds://spool:pw@/tmp/pg/.s.PGSQL.6000?schema=s1#jobs",
            expected: StoreURL(
                endpoint: .unixSocket(path: "/tmp/pg/.s.PGSQL.6000"), user: "spool", password: "pw", database: "jobs",
                tls: .disable, schema: "s1"),
            redacted: "postgres+uds://spool:***@localhost/tmp/pg/.s.PGSQL.6000?schema=s1#jobs"),
    ]

    @Test("parses", arguments: good)
    func parses(_ example: Good) throws {
        let url = try StoreURL.parse(example.text)
        #expect(url == example.expected)
        #expect(url.description == example.redacted)
        // The redacted form parses back to the same place (without the password).
        var again = try StoreURL.parse(url.description.replacingOccurrences(of: ":***@", with: "@"))
        again.password = url.password
        #expect(again == url)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var text: String
        var code: StoreURLError.Code
        var says: String
        var testDescription: String { text }
    }

    static let bad: [Bad] = [
        Bad(text: "db1:5432/spool", code: .badScheme, says: "the scheme 'db1'"),
        Bad(text: "not a url", code: .malformed, says: "is not a URL"),
        Bad(text: "mysql://spool:hunter2@db1/spool", code: .badScheme, says: "the scheme 'mysql'"),
        Bad(text: "http://spool@db1/spool", code: .badScheme, says: "postgres://"),
        Bad(text: "postgres://db1/spool", code: .missingUser, says: "names no user"),
        Bad(text: "postgres://:hunter2@db1/spool", code: .missingUser, says: "names no user"),
        Bad(text: "postgres://spool:hunter2@/spool", code: .missingHost, says: "names no host"),
        Bad(text: "postgres://spool@db1:0/spool", code: .badPort, says: "port 0"),
        Bad(text: "postgres://spool@db1:70000/spool", code: .badPort, says: "port 70000"),
        Bad(text: "postgres://spool@db1/spool/extra", code: .badDatabase, says: "several parts"),
        Bad(text: "postgres://spool@db1/spool#other", code: .badDatabase, says: "fragment"),
        Bad(text: "postgres://spool@db1/spool?sslmode=maybe", code: .badSSLMode, says: "sslmode=maybe"),
        Bad(text: "postgres://spool@db1/spool?ssl=", code: .badSSLMode, says: "ssl="),
        Bad(text: "postgres://spool@db1/spool?schema=Bad-Name", code: .badSchema, says: "schema=Bad-Name"),
        Bad(text: "postgres://spool@db1/spool?schema=1abc", code: .badSchema, says: "schema=1abc"),
        Bad(text: "postgres://spool@db1/spool?pool=3", code: .unknownParameter, says: "'pool'"),
        Bad(text: "postgres+uds://spool@db1/run/postgresql#spool", code: .missingHost, says: "localhost"),
        Bad(text: "postgres+uds://spool@localhost:5432/run/postgresql#spool", code: .missingHost, says: "port"),
        Bad(text: "postgres+uds://spool@localhost#spool", code: .missingSocket, says: "no socket path"),
        Bad(text: "postgres+uds://spool@localhost/#spool", code: .missingSocket, says: "no socket path"),
    ]

    @Test("refuses, naming what is wrong and never the password", arguments: bad)
    func refuses(_ example: Bad) {
        #expect {
            _ = try StoreURL.parse(example.text)
        } throws: { error in
            guard let error = error as? StoreURLError else { return false }
            let text = error.description
            #expect(error.code == example.code, "\(text)")
            #expect(text.contains(example.says), "\(text)")
            #expect(!text.contains("hunter2"), "\(text)")
            return true
        }
    }

    @Test("redacts the password of any text, even an unparsable URL")
    func redaction() {
        #expect(StoreURLError.redact("postgres://spool:hunter2@db1/x") == "postgres://spool:***@db1/x")
        #expect(StoreURLError.redact("postgres://spool:hun/ter2@db1/x") == "postgres://spool:***@db1/x")
        #expect(StoreURLError.redact("postgres://spool:a@b@db1/x?y=1") == "postgres://spool:***@db1/x?y=1")
        #expect(StoreURLError.redact("postgres://spool@db1/x") == "postgres://spool@db1/x")
        #expect(StoreURLError.redact("no url here") == "no url here")
    }

    @Test("--store-password-file gives the password; with one in the URL too, or empty, it is refused")
    func passwordFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("storeurl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("password").path
        try "s3cret pass\n".write(toFile: file, atomically: true, encoding: .utf8)
        let url = try StoreURL.parse("postgres://spool@db1/spool", passwordFile: file)
        #expect(url.password == "s3cret pass")
        #expect(url.description == "postgres://spool:***@db1:5432/spool")

        #expect(throws: StoreURLError.self) { try StoreURL.parse("postgres://spool:x@db1/spool", passwordFile: file) }
        do {
            _ = try StoreURL.parse("postgres://spool:hunter2@db1/spool", passwordFile: file)
        } catch {
            #expect(error.code == .passwordTwice)
            #expect(!error.description.contains("hunter2"))
        }
        let empty = directory.appendingPathComponent("empty").path
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        do {
            _ = try StoreURL.parse("postgres://spool@db1/spool", passwordFile: empty)
            Issue.record("an empty password file was accepted")
        } catch {
            #expect(error.code == .passwordFile)
            #expect(error.description.contains(empty))
            #expect(error.description.contains("is empty"))
        }
        let missing = directory.appendingPathComponent("missing").path
        do {
            _ = try StoreURL.parse("postgres://spool@db1/spool", passwordFile: missing)
            Issue.record("a missing password file was accepted")
        } catch {
            #expect(error.code == .passwordFile)
            #expect(error.description.contains(missing))
        }
    }
}
