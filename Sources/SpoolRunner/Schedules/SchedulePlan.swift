import Foundation
import ProcessDefinitions

/// Which slots of one schedule entry to submit now: the `catch_up` rule, as a pure function of
/// the entry, the last slot dealt with and the time, so tests drive it with fixed dates.
struct SchedulePlan: Sendable, Equatable {
    /// Slots to submit, oldest first.
    var submit: [Date]
    /// Missed slots passed over by the `catch_up` rule (logged, not submitted).
    var passedOver: Int
    /// The newest slot dealt with (submitted or passed over): stored, so the next pass, or the
    /// next runner after a downtime, starts after it. Nil when nothing came due.
    var newLast: Date?

    /// A slot no older than this when its pass looks at it is on time, not missed: it is
    /// submitted under every `catch_up` rule (a runner started by cron or a timer at the slot's
    /// minute takes it).
    static let onTime: TimeInterval = 60

    /// For an entry never seen (a new definition, a first start), only a slot this recent
    /// counts in a daemon: one started at 09:59:58 does not run the 09:59 slot, as cron would
    /// not. A `serve --once` pass looks back `onTime`: cron or a timer started it for the slot of
    /// its minute, maybe late on a busy machine.
    static let firstLook: TimeInterval = 10

    /// - Parameters:
    ///   - last: the newest slot dealt with by an earlier pass; nil for an entry never seen
    ///     (only a slot of the last `firstLook` seconds then counts: a new entry missed nothing).
    static func make(_ entry: ScheduleDefinition, last: Date?, now: Date, firstLook: TimeInterval = firstLook)
        -> SchedulePlan
    {
        let since = last ?? now.addingTimeInterval(-firstLook)
        guard since < now else { return SchedulePlan(submit: [], passedOver: 0, newLast: nil) }
        // Enough slots for the rule: the most recent ScheduleDefinition.catchUpLimit (+1 on time).
        let (slots, dropped) = entry.slots(after: since, through: now, limit: ScheduleDefinition.catchUpLimit + 1)
        guard let newest = slots.last else { return SchedulePlan(submit: [], passedOver: 0, newLast: nil) }
        let onTime = slots.filter { now.timeIntervalSince($0) < Self.onTime }
        let missed = slots.filter { now.timeIntervalSince($0) >= Self.onTime }
        var chosenMissed: [Date]
        switch entry.catchUp {
        case .latest: chosenMissed = missed.suffix(1)
        case .none: chosenMissed = []
        case .all: chosenMissed = Array(missed.suffix(max(0, ScheduleDefinition.catchUpLimit - onTime.count)))
        }
        let passedOver = dropped + missed.count - chosenMissed.count
        return SchedulePlan(submit: chosenMissed + onTime, passedOver: passedOver, newLast: newest)
    }
}
