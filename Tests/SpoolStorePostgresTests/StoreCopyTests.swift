import Foundation
import SpoolStorePostgres
import Testing

@testable import SpoolRunner

/// `spoolrunner store copy`: a spool's SQLite history moved into a PostgreSQL store, with the real
/// binary.
@Suite("store copy: SQLite history into PostgreSQL")
struct StoreCopyTests {
    /// A spool whose history has `count` processes: most ended (success or failed), every tenth
    /// one still running with a task interrupted mid-way, rejections and a schedule state.
    static func spool(count: Int) async throws -> String {
        let root = NSTemporaryDirectory() + "copy-spool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: "\(root)/definitions", withIntermediateDirectories: true)
        try StoreUnderTest.definitionYAML.write(
            toFile: "\(root)/definitions/greet.yaml", atomically: true, encoding: .utf8)
        try "0123456789abcdef0123456789abcdef\n".write(toFile: "\(root)/runner.id", atomically: true, encoding: .utf8)
        let store = try SQLiteStore(path: "\(root)/history.sqlite")
        for start in stride(from: 0, to: count, by: 250) {
            let ids = (start..<min(count, start + 250)).map { String(format: "c%05d", $0) }
            _ = try await store.commit(
                StoreBatch(changes: ids.enumerated().map { Fixture.accepted($1, created: Double(start + $0)) }))
            _ = try await store.commit(
                StoreBatch(
                    changes: ids.enumerated().map { offset, id in
                        let index = start + offset
                        if index % 10 == 0 {
                            return Fixture.running(
                                id, created: Double(index), started: Double(index) + 0.5,
                                states: ["done": .success, "redo": .running])
                        }
                        return Fixture.ended(
                            id, created: Double(index), ended: Double(index) + 2,
                            status: index % 7 == 0 ? .failed : .success)
                    }))
        }
        _ = try await store.commit(
            StoreBatch(rejections: [
                RejectionRecord(fileName: "bad.json", receivedAt: at(3), code: .invalidJSON, message: "not JSON"),
                RejectionRecord(fileName: "dup.json", receivedAt: at(4), code: .duplicateProcessID, message: "exists"),
            ]))
        try await store.saveScheduleState(
            ScheduleStateRecord(
                processType: "greet", entry: "", lastSlot: "2026-11-30T06:05:00.000Z", lastProcessID: "c00001",
                lastSubmittedAt: "2026-11-30T06:05:00.000Z", updatedAt: "2026-11-30T06:05:00.000Z"), events: [])
        return root
    }

    @Test("1,000 processes: the same history --json and events --json on both stores; a rerun copies nothing")
    func copy() async throws {
        let root = try await Self.spool(count: 1_000)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await withStores("store_copy") { stores in
            let text = StoreCommandsTests.urlText(stores[0].url)
            let sqlite = "\(root)/history.sqlite"
            let first = try await RunnersTests.spoolrunner(
                ["store", "copy", "--from", sqlite, "--to", text, "--definitions", "\(root)/definitions"],
                timeout: 300)
            #expect(first.status == 0, "\(first.error)")
            #expect(
                first.output.contains(
                    "copied 1000 process(es) (0 already there), 2 rejection(s) and 1 schedule state(s)"),
                "\(first.output)")
            #expect(!first.output.contains("hunter2") && !first.error.contains("hunter2"))

            for arguments in [
                ["history", "--json", "--limit", "5000"],
                ["history", "--json", "--status", "running", "--limit", "500"],
                ["events", "c00010", "--json"], ["events", "c00999", "--json"], ["rejections", "--json"],
            ] {
                let fromSQLite = try await RunnersTests.spoolrunner(arguments + ["--db", sqlite])
                let fromStore = try await RunnersTests.spoolrunner(arguments + ["--store", text])
                #expect(fromSQLite.status == 0 && fromStore.status == 0, "\(fromSQLite.error)\(fromStore.error)")
                #expect(fromStore.output == fromSQLite.output, "\(arguments)")
            }
            let rows =
                try JSONSerialization.jsonObject(
                    with: Data(
                        try await RunnersTests.spoolrunner(["history", "--json", "--limit", "5000", "--store", text])
                            .output
                            .utf8))
                as? [Any]
            #expect(rows?.count == 1_000)
            // Owned by no runner, subscribed by the spool's runner id, definitions kept: the fleet
            // claims the unfinished ones and can run them.
            let store = stores[0]
            #expect(
                try await store.value("SELECT count(*) FROM processes WHERE owner_runner IS NOT NULL", as: Int64.self)
                    == 0)
            let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
            #expect(try await store.values("SELECT DISTINCT runner_id FROM subscriptions") == ["\(host)-012345"])
            #expect(
                try await store.value(
                    "SELECT count(*) FROM processes WHERE definition_sha256 = sha256(convert_to(\(StoreUnderTest.definitionYAML), 'UTF8'))",
                    as: Int64.self) == 1_000)
            let lease = try await store.registerTestRunner()
            #expect(try await store.claim(limit: 500, lease: lease).count == 100)
            // A new event after the copy gets an id past the copied ones.
            let maxCopied = try #require(try await store.value("SELECT max(id) FROM events", as: Int64.self))
            try await store.useDefinitions(["greet": StoreUnderTest.definitionYAML])
            _ = try await store.commit(StoreBatch(changes: [Fixture.accepted("after", created: 5_000)]))
            #expect(try await store.events(of: "after", after: 0).first?.id ?? 0 > maxCopied)

            let again = try await RunnersTests.spoolrunner(
                ["store", "copy", "--from", sqlite, "--to", text, "--definitions", "\(root)/definitions"],
                timeout: 300)
            #expect(again.status == 0, "\(again.error)")
            #expect(
                again.output.contains(
                    "copied 0 process(es) (1000 already there), 0 rejection(s) and 0 schedule state(s)"),
                "\(again.output)")
            #expect(try await store.value("SELECT count(*) FROM processes", as: Int64.self) == 1_001)
        }
    }

    @Test("refused while a runner holds the spool, and for unfinished processes without a definition")
    func refusals() async throws {
        let root = try await Self.spool(count: 20)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await withStores("store_copy_refusals", migrate: false) { stores in
            let text = StoreCommandsTests.urlText(stores[0].url)
            let sqlite = "\(root)/history.sqlite"
            do {
                let lock = try SpoolLock(path: SpoolLayout(root: root).lockFile)
                let held = try await RunnersTests.spoolrunner(
                    ["store", "copy", "--from", sqlite, "--to", text, "--definitions", "\(root)/definitions"])
                withExtendedLifetime(lock) {}
                #expect(held.status == 75, "\(held.error)")
                #expect(held.error.contains("a runner holds the spool"), "\(held.error)")
            }
            let undefined = try await RunnersTests.spoolrunner(
                ["store", "copy", "--from", sqlite, "--to", text, "--definitions", "\(root)/nowhere"])
            #expect(undefined.status == 66, "\(undefined.error)")
            #expect(undefined.error.contains("greet.yaml"), "\(undefined.error)")
            let missing = try await RunnersTests.spoolrunner([
                "store", "copy", "--from", "\(root)/nope.sqlite", "--to", text,
            ])
            #expect(missing.status == 66, "\(missing.error)")
            #expect(try await stores[0].migrationState() == nil, "nothing was written")
        }
    }
}
