import Foundation
import GRDB
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// Schedules on the real binary, with the schedule clock set through SPOOLRUNNER_SCHEDULE_CLOCK:
/// the runner starts a few seconds before a slot (or hours after the last one) instead of
/// waiting for real minutes. Each slot becomes an ordinary request with a deterministic id.
@Suite(.waitsOnTimers) struct ScheduleTests {
    static let nap = "tasks:\n  - name: nap\n    sleep: 1ms\n"

    /// `serve` with the schedule clock reading `clock` at start.
    static func serve(_ spool: TemporarySpool, clock: String, _ extra: [String] = []) throws -> RunningCommand {
        try spool.start(["serve", "--grace", "1s"] + extra, environment: [ScheduleClock.environmentKey: clock])
    }

    static func stop(_ runner: RunningCommand) async -> CommandResult {
        runner.signal(SIGTERM)
        return await runner.wait(timeout: 60)
    }

    static func processIDs(_ spool: TemporarySpool) throws -> [String] {
        try spool.history { db in try String.fetchAll(db, sql: "SELECT process_id FROM processes ORDER BY process_id") }
    }

    static func succeeded(_ spool: TemporarySpool, _ id: String) -> Bool {
        spool.status(id)?.status == .success
    }

    @Test func slotIsSubmittedOnTimeAsAnOrdinaryRequest() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "tick.yaml",
            "inputs:\n  who: {type: string}\nschedule:\n  - cron: \"* * * * *\"\n    inputs: {who: cron}\n" + Self.nap)
        let runner = try Self.serve(spool, clock: "2026-07-20T09:59:58Z")
        let ok = await spool.eventually(timeout: 30) { Self.succeeded(spool, "tick-20260720T1000") }
        let result = await Self.stop(runner)
        #expect(ok, "\(result.standardError)")
        let status = try #require(spool.statusObject("tick-20260720T1000"))
        #expect(status["inputs"] as? [String: String] == ["who": "cron"])
        #expect(try spool.eventNames("tick-20260720T1000").first == "accepted")
        #expect(try Self.processIDs(spool) == ["tick-20260720T1000"])
        let state = try spool.history { db in try Row.fetchOne(db, sql: "SELECT * FROM schedule_state") }
        #expect(state?["process_type"] == "tick")
        #expect(state?["last_slot"] == "2026-07-20T10:00:00.000Z")
        #expect(state?["last_process_id"] == "tick-20260720T1000")
        #expect(try spool.history { db in try Int.fetchOne(db, sql: "PRAGMA user_version") } ?? 0 >= 3)
    }

    /// kill -9 after the slot ran, restart within the same minute: no second process. Then the
    /// harder case: the stored state is lost as if the runner died between dropping the file and
    /// recording the slot; the slot is dropped again and is the same request, nothing new.
    @Test func noSecondProcessForASlotAfterKillAndRestart() async throws {
        let spool = try TemporarySpool()
        try spool.define("tick.yaml", "schedule:\n  - cron: \"* * * * *\"\n" + Self.nap)
        let first = try Self.serve(spool, clock: "2026-07-20T09:59:58Z")
        #expect(await spool.eventually(timeout: 30) { Self.succeeded(spool, "tick-20260720T1000") })
        first.signal(SIGKILL)
        _ = await first.wait()

        let second = try Self.serve(spool, clock: "2026-07-20T10:00:20Z")
        try await Task.sleep(for: .milliseconds(2500))
        _ = await Self.stop(second)
        #expect(try Self.processIDs(spool) == ["tick-20260720T1000"])

        try await DatabaseQueue(path: spool.layout.defaultDatabase).write { db in
            try db.execute(sql: "DELETE FROM schedule_state")
        }
        let third = try Self.serve(spool, clock: "2026-07-20T10:00:00Z")
        let dropped = await spool.eventually(timeout: 20) {
            (try? spool.history { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM schedule_state") }) == 1
        }
        #expect(dropped)
        #expect(await spool.eventually(timeout: 20) { spool.inboxFiles().isEmpty })
        let result = await Self.stop(third)
        #expect(result.standardError.contains("same request dropped again"), "\(result.standardError)")
        #expect(try Self.processIDs(spool) == ["tick-20260720T1000"])
        #expect(try spool.eventNames("tick-20260720T1000").filter { $0 == "accepted" }.count == 1)
        #expect(spool.rejectedFiles().isEmpty)
    }

    /// Runs at 07:00, then no runner until 10:00:05: the hourly slots 08:00 and 09:00 were missed.
    @Test func catchUpModesAfterThreeHoursDown() async throws {
        let spool = try TemporarySpool()
        for mode in ["latest", "none", "all"] {
            try spool.define("\(mode).yaml", "schedule:\n  - cron: \"0 * * * *\"\n    catch_up: \(mode)\n" + Self.nap)
        }
        let before = try Self.serve(spool, clock: "2026-07-20T06:59:58Z")
        #expect(
            await spool.eventually(timeout: 30) {
                ["latest", "none", "all"].allSatisfy { Self.succeeded(spool, "\($0)-20260720T0700") }
            })
        _ = await Self.stop(before)

        let after = try Self.serve(spool, clock: "2026-07-20T10:00:05Z")
        let expected = [
            "all-20260720T0700", "all-20260720T0800", "all-20260720T0900", "all-20260720T1000",
            "latest-20260720T0700", "latest-20260720T0900", "latest-20260720T1000",
            "none-20260720T0700", "none-20260720T1000",
        ]
        let done = await spool.eventually(timeout: 30) { expected.allSatisfy { Self.succeeded(spool, $0) } }
        try await Task.sleep(for: .milliseconds(1500))
        let result = await Self.stop(after)
        #expect(done, "\(result.standardError)")
        #expect(try Self.processIDs(spool) == expected)
        // catch_up: all submits the missed slots oldest first.
        let order = try spool.history { db in
            try String.fetchAll(
                db, sql: "SELECT process_id FROM processes WHERE process_type = 'all' ORDER BY created_at, process_id")
        }
        #expect(order == ["all-20260720T0700", "all-20260720T0800", "all-20260720T0900", "all-20260720T1000"])
        #expect(result.standardError.contains("slot(s) missed while no runner ran were passed over (catch_up: none)"))
    }

    /// overlap: skip, and the previous run of the entry is still going (a slow task): the next
    /// slot is not submitted; a schedule_skipped event says why. overlap: allow submits it.
    @Test func overlapSkipRecordsAnEventInsteadOfASecondRun() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "slow.yaml",
            "schedule:\n  - cron: \"* * * * *\"\n    overlap: skip\ntasks:\n  - name: wait\n    sleep: 10m\n")
        try spool.define("busy.yaml", "schedule:\n  - cron: \"* * * * *\"\ntasks:\n  - name: wait\n    sleep: 10m\n")
        // The 10:00 runs, as an earlier runner submitted them, still running when 10:01 comes.
        try spool.drop("slow-20260720T1000", #"{"process_type":"slow"}"#)
        try spool.drop("busy-20260720T1000", #"{"process_type":"busy"}"#)
        let runner = try Self.serve(spool, clock: "2026-07-20T10:00:57Z")
        let skipped = await spool.eventually(timeout: 30) {
            (try? spool.eventNames("slow-20260720T1001")) == ["schedule_skipped"]
        }
        let allowed = await spool.eventually(timeout: 30) { spool.status("busy-20260720T1001")?.status == .running }
        #expect(spool.status("slow-20260720T1000")?.status == .running)
        let result = await Self.stop(runner)
        #expect(skipped, "\(result.standardError)")
        #expect(allowed)
        #expect(try spool.processRowCount("slow-20260720T1001") == 0)
        #expect(spool.status("slow-20260720T1001") == nil)
        let detail = try spool.history { db in
            try String.fetchOne(db, sql: "SELECT detail_json FROM events WHERE event = 'schedule_skipped'")
        }
        #expect(detail?.contains("slow-20260720T1000") == true, "\(detail ?? "nil")")
        #expect(result.standardError.contains("schedule_skipped"))
    }

    /// Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29 (01:00 UTC): a 02:30 slot runs at
    /// 03:00 local. America/New_York repeats 01:00-01:59 on 2026-11-01: 01:30 runs once.
    @Test func timezoneAcrossADSTGapAndARepeatedHour() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "spring.yaml",
            "schedule:\n  - cron: \"30 2 * * *\"\n    timezone: Europe/Berlin\n    catch_up: none\n" + Self.nap)
        try spool.define(
            "fall.yaml", "schedule:\n  - cron: \"30 1 * * *\"\n    timezone: America/New_York\n" + Self.nap)
        let gap = try Self.serve(spool, clock: "2026-03-29T00:59:58Z")
        let ranAfterGap = await spool.eventually(timeout: 30) { Self.succeeded(spool, "spring-20260329T0100") }
        _ = await Self.stop(gap)
        #expect(ranAfterGap)

        let firstPass = try Self.serve(spool, clock: "2026-11-01T05:29:58Z")
        let ranOnce = await spool.eventually(timeout: 30) { Self.succeeded(spool, "fall-20261101T0530") }
        _ = await Self.stop(firstPass)
        #expect(ranOnce)
        // The second 01:30 (EST, 06:30 UTC): nothing.
        let secondPass = try Self.serve(spool, clock: "2026-11-01T06:29:57Z")
        try await Task.sleep(for: .seconds(5))
        _ = await Self.stop(secondPass)
        #expect(try Self.processIDs(spool) == ["fall-20261101T0530", "spring-20260329T0100"])
    }

    @Test func twoNamedEntriesInOneDefinition() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "sync.yaml",
            """
            inputs:
              region: {type: string}
            schedule:
              - name: eu
                cron: "* * * * *"
                inputs: {region: eu}
              - name: us
                cron: "0 10 * * *"
                inputs: {region: us}
            """ + "\n" + Self.nap)
        let runner = try Self.serve(spool, clock: "2026-07-20T09:59:58Z")
        let done = await spool.eventually(timeout: 30) {
            Self.succeeded(spool, "sync-eu-20260720T1000") && Self.succeeded(spool, "sync-us-20260720T1000")
        }
        _ = await Self.stop(runner)
        #expect(done)
        #expect(spool.statusObject("sync-eu-20260720T1000")?["inputs"] as? [String: String] == ["region": "eu"])
        #expect(spool.statusObject("sync-us-20260720T1000")?["inputs"] as? [String: String] == ["region": "us"])
        let entries = try spool.history { db in
            try String.fetchAll(db, sql: "SELECT entry FROM schedule_state ORDER BY entry")
        }
        #expect(entries == ["eu", "us"])
    }

    /// `serve --once` as cron or a timer runs it: each pass submits what came due since the last
    /// one, and nothing else.
    @Test func serveOnceSubmitsDueSlotsAndNothingElse() async throws {
        let spool = try TemporarySpool()
        try spool.define("hourly.yaml", "schedule:\n  - cron: \"0 * * * *\"\n" + Self.nap)
        let clock = ScheduleClock.environmentKey
        var result = try await spool.serveOnce(environment: [clock: "2026-07-20T10:00:10Z"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try Self.processIDs(spool) == ["hourly-20260720T1000"])
        #expect(Self.succeeded(spool, "hourly-20260720T1000"))

        result = try await spool.serveOnce(environment: [clock: "2026-07-20T10:20:00Z"])
        #expect(result.status == 0)
        #expect(try Self.processIDs(spool) == ["hourly-20260720T1000"])

        // Down from 10:20 to 13:00:05 with catch_up: latest (the default): 12:00 and 13:00.
        try spool.drop("by-hand", #"{"process_type": "hourly"}"#)
        result = try await spool.serveOnce(environment: [clock: "2026-07-20T13:00:05Z"])
        #expect(result.status == 0)
        #expect(
            try Self.processIDs(spool) == [
                "by-hand", "hourly-20260720T1000", "hourly-20260720T1200", "hourly-20260720T1300",
            ])
        #expect(spool.inboxFiles().isEmpty)
    }

    /// A slot whose inputs the definition rejects is rejected like a dropped request with those
    /// inputs: rejected/, an error file, a rejected status, a rejections row. Not ignored.
    @Test func slotWithInvalidInputsIsRejected() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "needy.yaml",
            "inputs:\n  user_id: {type: string, required: true}\nschedule:\n  - cron: \"* * * * *\"\n    inputs: {plan: gold}\n"
                + Self.nap)
        let validate = try await spool.run(["validate", "--definitions", spool.definitions.path], spoolOptions: false)
        #expect(validate.status == 0)
        #expect(
            validate.standardOutput.contains(
                "needy.yaml:5:13: warning: schedule[0].inputs: each slot's request will be rejected invalid_inputs"),
            "\(validate.standardOutput)")
        let runner = try Self.serve(spool, clock: "2026-07-20T09:59:58Z")
        let rejected = await spool.eventually(timeout: 30) { spool.status("needy-20260720T1000")?.status == .rejected }
        let result = await Self.stop(runner)
        #expect(rejected, "\(result.standardError)")
        let error = try #require(spool.statusObject("needy-20260720T1000")?["error"] as? [String: Any])
        #expect(error["code"] as? String == "invalid_inputs")
        #expect((error["message"] as? String)?.contains("user_id") == true)
        #expect(spool.rejectedFiles() == ["needy-20260720T1000.json", "needy-20260720T1000.json.error.json"])
        #expect(try spool.rejectionRows().map(\.code) == ["invalid_inputs"])
        #expect(try spool.processRowCount("needy-20260720T1000") == 0)
    }

    /// `spoolrunner schedules`: each entry with its cron, time zone, next slot, last submitted
    /// slot and that process's status; `--json` for scripts.
    @Test func schedulesCommandListsEveryEntry() async throws {
        let spool = try TemporarySpool()
        try spool.define(
            "report.yaml",
            """
            schedule:
              - name: hourly
                cron: "0 * * * *"
              - name: berlin
                cron: "30 2 * * *"
                timezone: Europe/Berlin
                catch_up: all
                overlap: skip
            """ + "\n" + Self.nap)
        let clock = ScheduleClock.environmentKey
        let before = try await spool.run(["schedules"], environment: [clock: "2026-07-20T09:30:00Z"])
        #expect(before.status == 0, "\(before.standardError)")
        #expect(
            before.standardOutput.contains("report\thourly\t0 * * * *\tUTC\t2026-07-20T10:00:00.000Z\t-\t-"),
            "\(before.standardOutput)")
        #expect(try await spool.serveOnce(environment: [clock: "2026-07-20T10:00:10Z"]).status == 0)

        let text = try await spool.run(["schedules"], environment: [clock: "2026-07-20T10:30:00Z"])
        let lines = text.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "TYPE\tENTRY\tCRON\tTIMEZONE\tNEXT\tLAST SUBMITTED\tSTATUS")
        #expect(
            lines.contains(
                "report\thourly\t0 * * * *\tUTC\t2026-07-20T11:00:00.000Z\treport-hourly-20260720T1000\tsuccess"),
            "\(lines)")
        #expect(lines.contains("report\tberlin\t30 2 * * *\tEurope/Berlin\t2026-07-21T00:30:00.000Z\t-\t-"), "\(lines)")

        let json = try await spool.run(["schedules", "--json"], environment: [clock: "2026-07-20T10:30:00Z"])
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        let hourly = try #require(rows.first { $0["name"] as? String == "hourly" })
        #expect(hourly["last_process_id"] as? String == "report-hourly-20260720T1000")
        #expect(hourly["last_status"] as? String == "success")
        #expect(hourly["last_slot"] as? String == "2026-07-20T10:00:00.000Z")
        let berlin = try #require(rows.first { $0["name"] as? String == "berlin" })
        #expect(berlin["catch_up"] as? String == "all" && berlin["overlap"] as? String == "skip")
        #expect(berlin["timezone"] as? String == "Europe/Berlin")
    }
}
