import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Schedules on a real `serve` whose clock is the real one, or runs at a multiple of its pace
/// from the real time (`SPOOLRUNNER_SCHEDULE_CLOCK_RATE`): no test waits for a real minute.
/// The in-process schedule test (`EnginePaceTests`) moves the engine clock by hand; these keep
/// the binary, its environment and a kill -9.
@Suite(.waitsOnTimers) struct ScheduleRealClockTests {
    static let minutely = "schedule:\n  - cron: \"* * * * *\"\ntasks:\n  - name: nap\n    sleep: 1ms\n"

    /// The slot ids of the history, sorted.
    static func processIDs(_ spool: TemporarySpool) throws -> [String] {
        try spool.history { db in try String.fetchAll(db, sql: "SELECT process_id FROM processes ORDER BY process_id") }
    }

    /// The first minute strictly after `date`.
    static func minute(after date: Date) -> Date {
        Date(timeIntervalSince1970: ((date.timeIntervalSince1970 / 60).rounded(.down) + 1) * 60)
    }

    /// A `* * * * *` entry on a real `serve` whose schedule clock starts at the real time and
    /// runs 20 times as fast (a minute every 3 real seconds) produces
    /// `<type>-<yyyyMMdd'T'HHmm>` for a minute of that clock; after kill -9 and a restart on the
    /// same clock (same start and anchor) there is still exactly one row for it, once the
    /// restarted runner has run a later slot of its own.
    @Test func everyMinuteOnAServeAtTwentyTimesTheRealPace() async throws {
        let spool = try TemporarySpool()
        // catch_up: all, so that the restart submits every minute since the last one whatever
        // its start-up took on a loaded machine (the later slot waited for below among them).
        try spool.define(
            "minutely.yaml",
            "schedule:\n  - cron: \"* * * * *\"\n    catch_up: all\ntasks:\n  - name: nap\n    sleep: 1ms\n")
        let startedAt = Date()
        let rate = 20.0
        /// What the shared clock reads at a real instant.
        func clockTime(_ real: Date) -> Date { startedAt.addingTimeInterval(real.timeIntervalSince(startedAt) * rate) }
        let clock = [
            ScheduleClock.environmentKey: Timestamp.string(startedAt),
            ScheduleClock.anchorKey: Timestamp.string(startedAt),
            ScheduleClock.rateKey: "\(Int(rate))",
        ]
        let runner = try spool.start(["serve", "--grace", "1s"], environment: clock)
        // The first slot it ran; which minute that is depends on how long the start took.
        let ran = await spool.eventually(timeout: 100) {
            ((try? Self.processIDs(spool)) ?? []).contains { spool.status($0)?.status == .success }
        }
        runner.signal(SIGKILL)
        let first = await runner.wait()
        let killedAt = clockTime(Date())
        #expect(ran, "no slot ran: \(first.standardError)")
        let entry = try #require(try Self.processIDs(spool).first { spool.status($0)?.status == .success })
        // Named after a minute of the clock between the start (a slot due in the start's first
        // seconds is taken too) and the kill.
        var minutes: [String] = []
        var minute = Self.minute(after: startedAt.addingTimeInterval(-60))
        while minute <= killedAt {
            minutes.append(ScheduleDefinitionProbe.id(type: "minutely", minute: minute))
            minute += 60
        }
        #expect(minutes.contains(entry), "\(entry) is none of \(minutes)")
        #expect(try spool.processRowCount(entry) == 1)

        // The first slot after what the clock reads at the restart: once that one has run, the
        // restarted runner's passes ran (the first of them is the one that could drop the entry
        // again).
        let later = ScheduleDefinitionProbe.id(type: "minutely", minute: Self.minute(after: clockTime(Date())))
        let again = try spool.start(["serve", "--grace", "1s"], environment: clock)
        let restartRan = await spool.eventually(timeout: 100) { spool.status(later)?.status == .success }
        again.signal(SIGTERM)
        let second = await again.wait()
        #expect(restartRan, "the restarted runner did not run \(later): \(second.standardError)")
        #expect(second.status == 0, "\(second.standardError)")
        #expect(try spool.processRowCount(entry) == 1)
        #expect(try spool.eventNames(entry).filter { $0 == "accepted" }.count == 1)
    }

    /// On the real clock (no test clock in the environment), `serve --once` takes the slot of
    /// the current real minute (it looks back a minute: cron or a timer started it for that
    /// slot) and nothing else.
    @Test func serveOnceOnTheRealClockRunsTheSlotOfTheCurrentMinute() async throws {
        let spool = try TemporarySpool()
        try spool.define("minutely.yaml", Self.minutely)
        let before = Date()
        let result = try await spool.serveOnce()
        let after = Date()
        #expect(result.status == 0, "\(result.standardError)")
        // The minute the pass ran in: the one at the start or, across a minute's end, the next.
        let candidates = Set(
            [before, after].map {
                ScheduleDefinitionProbe.id(type: "minutely", minute: Self.minute(after: $0).addingTimeInterval(-60))
            })
        let ids = try Self.processIDs(spool)
        #expect(ids.count == 1 && candidates.contains(ids[0]), "ran \(ids), expected one of \(candidates.sorted())")
        #expect(ids.allSatisfy { spool.status($0)?.status == .success })
    }
}

/// The id format written out by hand, independent of the code under test.
enum ScheduleDefinitionProbe {
    static func id(type: String, minute: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmm"
        return "\(type)-\(formatter.string(from: minute))"
    }
}
