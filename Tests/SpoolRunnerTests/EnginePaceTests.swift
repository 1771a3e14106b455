import Foundation
import Testing

@testable import SpoolRunner

/// What paces the runner rather than decides a process's fate (the heartbeat, the rescan, the
/// schedule loop) runs on the engine's clock too: with a clock the test moves, an hourly
/// heartbeat, an hourly rescan and a schedule slot half a minute away are checked without
/// waiting for them, in-process.
@Suite(.endToEnd) struct EnginePaceTests {
    static let start = Timestamp.parse("2026-07-20T09:59:30Z")!
    static let nap = "tasks:\n  - name: nap\n    sleep: 1ms\n"

    /// `runner.json`'s `updated_at`, if the file is there.
    static func heartbeatTime(_ spool: TemporarySpool) -> Date? {
        (spool.heartbeat?["updated_at"] as? String).flatMap(Timestamp.parse)
    }

    @Test func anHourlyHeartbeatComesWhenTheClockHasMovedAnHour() async throws {
        let spool = try TemporarySpool()
        let clock = ManualClock(start: Self.start)
        let hourly: (inout EngineConfiguration) -> Void = {
            $0.clock = clock.engineClock
            $0.heartbeat = .seconds(3600)
        }
        try await withEngine(spool, configure: hourly) { engine in
            // Written once at start, at the engine clock's time.
            #expect(await engine.eventually { Self.heartbeatTime(spool) == Self.start })
            #expect(await clock.waitForTimers(1, atLeast: .seconds(3600)), "no heartbeat timer armed")
            clock.advance(by: .seconds(3599))
            try await Task.sleep(for: .milliseconds(300))
            #expect(Self.heartbeatTime(spool) == Self.start, "runner.json rewritten before its hour")
            clock.advance(by: .seconds(1))
            #expect(await engine.eventually { Self.heartbeatTime(spool) == Self.start + 3600 })
            #expect(spool.heartbeat?["state"] as? String == "running")
        }
        // The graceful shutdown ended the heartbeat task with the engine: the last write says so.
        #expect(spool.heartbeat?["state"] as? String == "stopped")
    }

    @Test func anHourlyRescanTakesWhatNoWatcherReportedWhenTheClockGetsThere() async throws {
        let spool = try TemporarySpool()
        try spool.define("nap.yaml", Self.nap)
        let clock = ManualClock(start: Self.start)
        let hourly: (inout EngineConfiguration) -> Void = {
            $0.clock = clock.engineClock
            $0.rescan = .seconds(3600)
        }
        try await withEngine(spool, inotify: false, configure: hourly) { engine in
            // The start's scan is over (nothing in the inbox then): only a rescan can take p1.
            #expect(await engine.eventually { await engine.engine.initialScanDone })
            #expect(await clock.waitForTimers(1, atLeast: .seconds(3600)), "no rescan timer armed")
            try engine.drop("p1", #"{"process_type": "nap"}"#)
            clock.advance(by: .seconds(3599))
            try await Task.sleep(for: .milliseconds(300))
            #expect(spool.inboxFiles() == ["p1.json"], "taken before the rescan was due")
            #expect(engine.status("p1") == nil)
            clock.advance(by: .seconds(1))
            #expect(await engine.eventually { engine.status("p1")?.status == .success })
            #expect(spool.inboxFiles().isEmpty)
            #expect(try instant(engine.status("p1")?.createdAt) == Self.start + 3600)
        }
    }

    @Test func aScheduleSlotIsSubmittedWhenTheClockGetsThere() async throws {
        let spool = try TemporarySpool()
        try spool.define("tick.yaml", "schedule:\n  - cron: \"* * * * *\"\n" + Self.nap)
        let clock = ManualClock(start: Self.start)
        // The heartbeat under a second: the schedule loop's sleep (a second at most, exactly a
        // second from 09:59:30 in whole seconds) is then the only timer of a second or more, and
        // the clock moves only once that loop waits again (otherwise a move could come while a
        // pass runs, and the pass after it would wait past 10:00:00).
        let manual: (inout EngineConfiguration) -> Void = {
            $0.clock = clock.engineClock
            $0.scheduleClock = clock.scheduleClock
            $0.heartbeat = .milliseconds(500)
        }
        try await withEngine(spool, configure: manual) { engine in
            // The schedule loop waits at most a second of its clock between passes.
            #expect(await clock.waitForTimers(1, atLeast: .seconds(1)), "the schedule loop is not waiting")
            try await Task.sleep(for: .milliseconds(300))
            #expect(engine.status("tick-20260720T1000") == nil, "the 10:00 slot came at 09:59:30")
            #expect(spool.inboxFiles().isEmpty)
            // Second by second to 10:00:00, as a real clock would go.
            for second in 1...30 {
                guard await clock.waitForTimers(1, atLeast: .seconds(1)) else {
                    Issue.record("the schedule loop stopped waiting on the clock at 09:59:\(29 + second)")
                    break
                }
                clock.advance(by: .seconds(1))
            }
            #expect(await engine.eventually { engine.status("tick-20260720T1000")?.status == .success })
            #expect(try instant(engine.status("tick-20260720T1000")?.createdAt) >= Self.start + 30)
            #expect(engine.status("tick-20260720T1001") == nil)
            #expect(try spool.processRowCount("tick-20260720T0959") == 0, "a slot before the start was run")
        }
    }
}
