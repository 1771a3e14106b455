import Foundation
import GRDB
import SpoolRunner
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the end-to-end tests read back from a spool after a run: status files as raw JSON,
/// rejected files, logs, work files and the history store, plus the shipped definitions.
extension TemporarySpool {
    /// The repository's root, found from this file's path (Tests/SpoolRunnerTests/Support/...).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Support
            .deletingLastPathComponent()  // SpoolRunnerTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()
    }

    /// Copies the shipped `definitions/` (YAML files and `scripts/`, modes kept) into this
    /// spool's definitions directory.
    func installShippedDefinitions() throws {
        let source = Self.repositoryRoot.appendingPathComponent("definitions")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            let target = definitions.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: target)
        }
    }

    /// `serve --once` with `extra` options, bounded by `timeout` seconds (a hung runner is killed).
    @discardableResult
    func serveOnce(_ extra: [String] = [], environment: [String: String] = [:], timeout: Double = 60) async throws
        -> CommandResult
    {
        try await start(["serve", "--once"] + extra, environment: environment).wait(timeout: timeout)
    }

    /// Writes a file straight into `inbox/` (no tmp/ + rename): for malformed or raw bytes.
    func writeInbox(_ name: String, _ body: String) throws {
        try body.write(toFile: "\(layout.inbox)/\(name)", atomically: false, encoding: .utf8)
    }

    // MARK: - Files

    /// A JSON file as a dictionary, or nil when it is missing or not a JSON object.
    static func jsonObject(atPath path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? [String: Any]
    }

    /// `outbox/<id>.json` as raw JSON (to see nulls and keys the typed document hides).
    func statusObject(_ id: String) -> [String: Any]? {
        Self.jsonObject(atPath: layout.statusFile(id))
    }

    func statusBytes(_ id: String) -> Data? {
        FileManager.default.contents(atPath: layout.statusFile(id))
    }

    /// `rejected/<file>.error.json`.
    func rejectionErrorFile(_ fileName: String) -> [String: Any]? {
        Self.jsonObject(atPath: "\(layout.rejected)/\(fileName).error.json")
    }

    func rejectedContents(_ fileName: String) -> String? {
        try? String(contentsOfFile: "\(layout.rejected)/\(fileName)", encoding: .utf8)
    }

    func logText(_ id: String, task: String, attempt: Int) -> String? {
        try? String(contentsOfFile: layout.logFile(id, task: task, attempt: attempt), encoding: .utf8)
    }

    func workFile(_ id: String, _ name: String) -> String? {
        try? String(contentsOfFile: "\(layout.workDirectory(id))/\(name)", encoding: .utf8)
    }

    /// The file type of `path` without following a symlink or opening anything.
    static func fileType(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    // MARK: - History store

    /// Runs `body` on a fresh connection to the spool's history store.
    /// It waits out a lock like any reader should: an in-process runner (`withEngine`) that
    /// just stopped may still be closing its connections (the last one checkpoints the WAL).
    func history<T>(_ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: layout.defaultDatabase, configuration: configuration)
        return try queue.read(body)
    }

    /// The event names of one process, oldest first, as `task:event` (or `event` for the process).
    func eventNames(_ id: String) throws -> [String] {
        try history { db in
            try Row.fetchAll(
                db, sql: "SELECT task_name, event FROM events WHERE process_id = ? ORDER BY id", arguments: [id]
            )
            .map { row in
                let task: String? = row["task_name"]
                let event: String = row["event"]
                return task.map { "\($0):\(event)" } ?? event
            }
        }
    }

    /// `(file_name, code, message)` of every `rejections` row, oldest first.
    func rejectionRows() throws -> [(file: String, code: String, message: String)] {
        try history { db in
            try Row.fetchAll(db, sql: "SELECT file_name, code, message FROM rejections ORDER BY id").map {
                ($0["file_name"], $0["code"], $0["message"])
            }
        }
    }

    func processRowCount(_ id: String) throws -> Int {
        try history { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM processes WHERE process_id = ?", arguments: [id]) ?? 0
        }
    }

    func integrityCheck() throws -> String? {
        try history { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
    }
}

extension StatusDocument {
    /// The task named `name`; records an issue and throws when there is none.
    func task(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> StatusDocument.Task {
        try #require(
            tasks.first { $0.taskName == name }, "no task '\(name)' in \(tasks.map(\.taskName))",
            sourceLocation: sourceLocation)
    }
}

/// A status-file timestamp as a date; records an issue and throws when it is missing or malformed.
func instant(_ text: String?, sourceLocation: SourceLocation = #_sourceLocation) throws -> Date {
    let text = try #require(text, "missing timestamp", sourceLocation: sourceLocation)
    #expect(text.hasSuffix("Z"), "not UTC with Z: \(text)", sourceLocation: sourceLocation)
    return try #require(Timestamp.parse(text), "not ISO 8601: \(text)", sourceLocation: sourceLocation)
}

/// A shell snippet for `shell:` tasks: waits (up to ~10 s) until `file` exists in the work
/// directory, then succeeds; fails when it never appears. Two tasks that each touch a marker and
/// wait for the other's only both succeed when they run at the same time.
func waitForMarker(_ file: String) -> String {
    "i=0; while [ ! -e \(file) ]; do i=$((i+1)); [ $i -gt 200 ] && { echo \"gave up waiting for \(file)\" >&2; exit 9; }; sleep 0.05; done"
}
