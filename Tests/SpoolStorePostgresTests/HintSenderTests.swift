import Foundation
import PostgresNIO
import Testing

@testable import SpoolStorePostgres

/// The fleet's notifications sent after the commits they are about (`HintSender`).
@Suite("Notifications sent after the commit")
struct HintSenderTests {
    @Test("status changes reach each other subscriber on its channel, ids split under 7,900 bytes")
    func statusHints() async throws {
        try await withStores("hint_status", count: 2) { stores in
            let (a, b) = (stores[0], stores[1])
            let leaseA = try await a.registerTestRunner()
            let leaseB = try await b.registerTestRunner()
            // 100 ids of 120 bytes dropped on b: 12,100 bytes of payload, so at least two parts.
            let ids = (0..<100).map { String(format: "p%03d-", $0) + String(repeating: "x", count: 115) }
            for (index, id) in ids.enumerated() {
                _ = try await b.accept(
                    testRequest(id, second: index), fileName: id, claimIfCapacity: false, lease: leaseB)
            }
            // Dropped on a only: a does not tell itself, and b does not subscribe.
            _ = try await a.accept(testRequest("own"), fileName: "own", claimIfCapacity: false, lease: leaseA)
            let connection = try await PostgresConnection.connect(
                configuration: a.url.connectionConfiguration(applicationName: "listener"), id: 1, logger: quietLogger)
            // A notification that never comes ends the wait in 30 s (the listen fails), not never.
            let deadline = Task {
                try await Task.sleep(for: .seconds(30))
                try await connection.close()
            }
            defer { deadline.cancel() }
            let payloads = try await connection.listen(on: PostgresStore.statusChannel(for: "runner-1")) {
                notifications in
                a.hints.statusChanged(ids + ["own"])
                var payloads: [String] = []
                var seen: Set<String> = []
                for try await notification in notifications {
                    payloads.append(notification.payload)
                    seen.formUnion(notification.payload.split(separator: " ").map(String.init))
                    if seen.count >= ids.count { break }
                }
                return payloads
            }
            try await connection.close()
            #expect(payloads.count >= 2)
            #expect(payloads.allSatisfy { $0.utf8.count <= 7_900 }, "\(payloads.map(\.utf8.count))")
            let received = payloads.flatMap { $0.split(separator: " ").map(String.init) }
            #expect(received.sorted() == ids.sorted())
        }
    }

    @Test("work handed to the fleet is announced on spoolrunner_work")
    func workHint() async throws {
        try await withStores("hint_work") { stores in
            let store = stores[0]
            let connection = try await PostgresConnection.connect(
                configuration: store.url.connectionConfiguration(applicationName: "listener"), id: 1,
                logger: quietLogger)
            let deadline = Task {
                try await Task.sleep(for: .seconds(30))
                try await connection.close()
            }
            defer { deadline.cancel() }
            let heard = try await connection.listen(on: "spoolrunner_work") { notifications in
                store.hints.workAvailable()
                for try await _ in notifications { return true }
                return false
            }
            try await connection.close()
            #expect(heard)
        }
    }
}
