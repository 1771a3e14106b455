import Foundation
import ProcessDefinitions
import Testing

@testable import SpoolRunner

/// The catch_up rule with fixed dates: which slots one pass submits.
@Suite(.endToEnd) struct SchedulePlanTests {
    static func instant(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    static func entry(_ cron: String, _ catchUp: ScheduleDefinition.CatchUp) throws -> ScheduleDefinition {
        ScheduleDefinition(cron: try CronExpression(parsing: cron), catchUp: catchUp)
    }

    @Test func aNewEntryTakesOnlyTheSlotThatIsDueNow() throws {
        let plan = SchedulePlan.make(
            try Self.entry("* * * * *", .all), last: nil, now: Self.instant("2026-07-20T10:00:05Z"))
        #expect(plan.submit == [Self.instant("2026-07-20T10:00:00Z")])
        #expect(plan.newLast == Self.instant("2026-07-20T10:00:00Z"))
        // Started at 09:59:58: the 09:59 slot is not this runner's to run, as cron would not.
        let late = SchedulePlan.make(
            try Self.entry("* * * * *", .all), last: nil, now: Self.instant("2026-07-20T09:59:58Z"))
        #expect(late.submit.isEmpty && late.newLast == nil)
    }

    @Test func nothingDue() throws {
        let plan = SchedulePlan.make(
            try Self.entry("0 * * * *", .latest), last: Self.instant("2026-07-20T10:00:00Z"),
            now: Self.instant("2026-07-20T10:30:00Z"))
        #expect(plan.submit.isEmpty && plan.newLast == nil)
    }

    /// Three hours down (last slot 07:00, back at 10:00:10): hourly slots 08:00 and 09:00 were
    /// missed, 10:00 is on time.
    @Test(arguments: [
        (ScheduleDefinition.CatchUp.latest, ["09", "10"], 1),
        (.none, ["10"], 2),
        (.all, ["08", "09", "10"], 0),
    ])
    func afterThreeHoursDown(_ catchUp: ScheduleDefinition.CatchUp, _ hours: [String], _ passedOver: Int) throws {
        let plan = SchedulePlan.make(
            try Self.entry("0 * * * *", catchUp), last: Self.instant("2026-07-20T07:00:00Z"),
            now: Self.instant("2026-07-20T10:00:10Z"))
        #expect(plan.submit == hours.map { Self.instant("2026-07-20T\($0):00:00Z") })
        #expect(plan.passedOver == passedOver)
        #expect(plan.newLast == Self.instant("2026-07-20T10:00:00Z"))
    }

    @Test func catchUpAllStopsAtAHundred() throws {
        let plan = SchedulePlan.make(
            try Self.entry("* * * * *", .all), last: Self.instant("2026-07-20T05:00:00Z"),
            now: Self.instant("2026-07-20T10:00:30Z"))
        #expect(plan.submit.count == 100)
        #expect(plan.submit.last == Self.instant("2026-07-20T10:00:00Z"))
        #expect(plan.submit == plan.submit.sorted())
        #expect(plan.passedOver == 200)
    }
}
