import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The kill -9 loop of issue 3: requests keep arriving while the runner is SIGKILLed at random
/// moments and restarted; a final clean `serve --once` must leave nothing lost and nothing run
/// twice by accident.
@Suite(.serialized, .endToEnd) struct CrashLoopKillTests {
    @Test func randomKillsLoseNothing() async throws {
        let spool = try TemporarySpool()
        try CrashWorkload.install(in: spool)
        let total = 240
        let waves = 8
        var requests: [String] = []
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        for wave in 0..<waves {
            for index in (wave * total / waves)..<((wave + 1) * total / waves) {
                let request = CrashWorkload.request(index)
                try spool.drop(request.id, request.body)
                requests.append(request.id)
            }
            let waiting = spool.inboxFiles().count
            let runner = try spool.start(["serve", "--rescan", "50ms", "--settle", "0s"])
            // Random moments after intake began (a loaded machine can take longer to start a
            // runner than the longest wait below): sometimes during intake, sometimes while
            // tasks run.
            _ = await spool.eventually(timeout: 20) { spool.inboxFiles().count < waiting }
            try await Task.sleep(for: .microseconds(UInt32.random(in: 20_000...400_000, using: &generator)))
            runner.signal(SIGKILL)
            let result = await runner.wait()
            if result.status == SIGKILL || result.status == 128 + SIGKILL { kills += 1 }
        }
        #expect(kills >= 5, "only \(kills) runs were killed")
        let final = try await spool.run(["serve", "--once", "--settle", "0s"])
        #expect(final.status == 0, "\(final.standardError.suffix(800))")
        try CrashWorkload.check(spool, requests: requests)
        // The processes that could succeed did: a crash must not turn work into failures
        // beyond the non-idempotent task it interrupted.
        let statuses = requests.compactMap { spool.status($0) }
        let succeeded = statuses.filter { $0.status == .success }.count
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let recovered = try await queue.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE event = 'recovered'") ?? 0
        }
        var codes: [String: Int] = [:]
        for status in statuses { codes[status.error?.code ?? status.status.rawValue, default: 0] += 1 }
        print("kill loop outcomes: \(codes)")
        print(
            "kill loop: \(kills) kills, \(requests.count) requests, \(succeeded) succeeded, \(recovered) process recoveries"
        )
        // Proof that the kills hit work in progress (else this test would prove nothing).
        #expect(recovered > 0)
    }
}
