import Foundation
import Testing

@testable import SpoolRunner

/// SPOOLRUNNER_CRASH_AT=N makes the runner SIGKILL itself just before its N-th durable step
/// (commit, rename, spawn, unlink). Walking N until a run completes puts a crash at every step
/// of a small workload; after each, a clean run must leave every invariant intact.
@Suite(.serialized, .endToEnd) struct CrashPointTests {
    @Test func everyCrashPointRecovers() async throws {
        var crashes = 0
        var completed = false
        for step in 1...400 {
            let spool = try TemporarySpool()
            try CrashWorkload.install(in: spool)
            let requests = (0..<4).map(CrashWorkload.request)
            for request in requests { try spool.drop(request.id, request.body) }
            let crashed = try await spool.run(
                ["serve", "--once", "--settle", "0s"], environment: ["SPOOLRUNNER_CRASH_AT": "\(step)"])
            if crashed.status == 0 {
                completed = true
                try CrashWorkload.check(spool, requests: requests.map(\.id))
                break
            }
            #expect(
                crashed.standardError.contains("SPOOLRUNNER_CRASH_AT=\(step)"),
                "step \(step): \(crashed.standardError.suffix(400))")
            crashes += 1
            let recovered = try await spool.run(["serve", "--once", "--settle", "0s"])
            #expect(recovered.status == 0, "step \(step): \(recovered.standardError.suffix(600))")
            try CrashWorkload.check(spool, requests: requests.map(\.id))
        }
        print("crash points walked: \(crashes)")
        #expect(completed, "the workload never completed without reaching its crash point")
        #expect(crashes >= 20, "only \(crashes) crash points: the counter is not reached where it should be")
    }
}
