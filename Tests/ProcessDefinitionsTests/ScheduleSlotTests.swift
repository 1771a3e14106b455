import Foundation
import ProcessDefinitions
import Testing

/// Slots of a schedule entry: cron on the wall clock of its time zone, with SPEC §5's DST rules.
@Suite struct ScheduleSlotTests {
    static func instant(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    static func entry(_ cron: String, zone: String? = nil, name: String? = nil) throws -> ScheduleDefinition {
        ScheduleDefinition(
            name: name, cron: try CronExpression(parsing: cron), timeZone: zone.flatMap(TimeZone.init(identifier:)))
    }

    @Test func utcByDefault() throws {
        let entry = try Self.entry("0 3 * * *")
        #expect(entry.nextSlot(after: Self.instant("2026-07-20T12:00:00Z")) == Self.instant("2026-07-21T03:00:00Z"))
        #expect(entry.timeZoneName == "UTC")
    }

    @Test func wallClockOfTheZone() throws {
        // 03:00 in Berlin is 01:00 UTC in summer (CEST, +2) and 02:00 UTC in winter (CET, +1).
        let entry = try Self.entry("0 3 * * *", zone: "Europe/Berlin")
        #expect(entry.nextSlot(after: Self.instant("2026-07-20T12:00:00Z")) == Self.instant("2026-07-21T01:00:00Z"))
        #expect(entry.nextSlot(after: Self.instant("2026-01-20T12:00:00Z")) == Self.instant("2026-01-21T02:00:00Z"))
    }

    /// Berlin skips 02:00-02:59 on 2026-03-29 (01:00 UTC): a 02:30 slot runs at the first minute
    /// after the gap, 03:00 CEST, and on the next day at 02:30 again.
    @Test func slotInTheDSTGapRunsAtTheFirstMinuteAfterIt() throws {
        let entry = try Self.entry("30 2 * * *", zone: "Europe/Berlin")
        let gapDay = try #require(entry.nextSlot(after: Self.instant("2026-03-28T12:00:00Z")))
        #expect(gapDay == Self.instant("2026-03-29T01:00:00Z"))
        #expect(entry.nextSlot(after: gapDay) == Self.instant("2026-03-30T00:30:00Z"))
    }

    /// Every minute of the gap maps to the same instant, so to one slot id: one run.
    @Test func severalSlotsInTheGapRunOnce() throws {
        let entry = try Self.entry("*/15 2 * * *", zone: "Europe/Berlin")
        let (slots, dropped) = entry.slots(
            after: Self.instant("2026-03-28T23:00:00Z"), through: Self.instant("2026-03-29T23:00:00Z"), limit: 100)
        #expect(slots == [Self.instant("2026-03-29T01:00:00Z")])
        #expect(dropped == 0)
        #expect(entry.processID(processType: "report", slot: slots[0]) == "report-20260329T0100")
    }

    /// New York repeats 01:00-01:59 on 2026-11-01: a 01:30 slot runs once, at the first 01:30
    /// (EDT, 05:30 UTC), not again at the second (EST, 06:30 UTC).
    @Test func slotInTheRepeatedHourRunsOnce() throws {
        let entry = try Self.entry("30 1 * * *", zone: "America/New_York")
        let first = try #require(entry.nextSlot(after: Self.instant("2026-11-01T00:00:00Z")))
        #expect(first == Self.instant("2026-11-01T05:30:00Z"))
        #expect(entry.nextSlot(after: first) == Self.instant("2026-11-02T06:30:00Z"))
        // A runner started during the second 01:00 hour does not run the 01:30 slot again.
        #expect(entry.nextSlot(after: Self.instant("2026-11-01T06:10:00Z")) == Self.instant("2026-11-02T06:30:00Z"))
        // Every-minute entries: the repeated hour's minutes are not run twice.
        let minutely = try Self.entry("* 1 * * *", zone: "America/New_York")
        let (slots, _) = minutely.slots(
            after: Self.instant("2026-11-01T05:00:00Z"), through: Self.instant("2026-11-01T07:30:00Z"), limit: 500)
        #expect(slots.count == 59)
        #expect(Set(slots).count == slots.count)
    }

    @Test func namedEntryIDs() throws {
        let entry = try Self.entry("0 * * * *", name: "eu-west")
        #expect(
            entry.processID(processType: "sync", slot: Self.instant("2026-07-20T15:00:00Z"))
                == "sync-eu-west-20260720T1500")
        #expect(entry.requestJSON(processType: "sync") == #"{"process_type":"sync"}"#)
    }

    @Test func slotsKeepTheMostRecentUpToTheLimit() throws {
        let entry = try Self.entry("* * * * *")
        let (slots, dropped) = entry.slots(
            after: Self.instant("2026-07-20T07:00:00Z"), through: Self.instant("2026-07-20T10:00:00Z"), limit: 100)
        #expect(slots.count == 100 && dropped == 80)
        #expect(slots.first == Self.instant("2026-07-20T08:21:00Z"))
        #expect(slots.last == Self.instant("2026-07-20T10:00:00Z"))
    }
}
