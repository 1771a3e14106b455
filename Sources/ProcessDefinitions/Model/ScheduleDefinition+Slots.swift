import Foundation

extension ScheduleDefinition {
    /// The first slot strictly after `instant`, as an instant on a whole minute; nil when the
    /// expression matches no day at all.
    ///
    /// The cron fields are matched against the wall clock of `timeZone`. A daylight-saving change
    /// has two special cases (SPEC §5): a wall-clock minute that does not exist (the gap when
    /// clocks go forward) runs at the first minute after the gap, and a minute that exists twice
    /// (clocks go back) runs once, at its first occurrence. Several gap minutes map to the same
    /// instant and so to the same slot id: they run once.
    public func nextSlot(after instant: Date) -> Date? {
        guard let zone = timeZone, zone.identifier != "UTC", zone.identifier != "GMT" else {
            return cron.next(after: instant)
        }
        // Wall-clock times are handled as if they were UTC instants ("wall dates").
        var wall = Date(
            timeIntervalSince1970: instant.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: instant)))
        // Bounded: in the repeated hour up to 60 candidates are passed over per matching minute.
        for _ in 0..<10_000 {
            guard let candidate = cron.next(after: wall) else { return nil }
            let slot = Self.firstInstant(ofWall: candidate, in: zone)
            if slot > instant { return slot }
            wall = candidate
        }
        return nil
    }

    /// The slots in `(after, through]`, oldest first, at most `limit` of them: the most recent
    /// ones when there are more (for `catch_up: all` after a long downtime).
    public func slots(after: Date, through: Date, limit: Int) -> (slots: [Date], dropped: Int) {
        var kept: [Date] = []
        var dropped = 0
        var cursor = after
        // Bounded walk: a per-minute entry after a year of downtime is about half a million steps.
        for _ in 0..<1_100_000 {
            guard let slot = nextSlot(after: cursor), slot <= through else { break }
            kept.append(slot)
            if kept.count > limit {
                kept.removeFirst()
                dropped += 1
            }
            cursor = slot
        }
        return (kept, dropped)
    }

    /// The first instant whose wall clock in `zone` reads `wall`, or, when no instant does (the
    /// clock jumped over it), the instant the jump happened: the first minute after the gap.
    static func firstInstant(ofWall wall: Date, in zone: TimeZone) -> Date {
        let seconds = wall.timeIntervalSince1970
        let day = 86_400.0
        let offsets = Set([
            zone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds - day)),
            zone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds)),
            zone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds + day)),
        ])
        let matches = offsets.map { Date(timeIntervalSince1970: seconds - Double($0)) }
            .filter { Double(zone.secondsFromGMT(for: $0)) == seconds - $0.timeIntervalSince1970 }
        if let first = matches.min() { return first }
        // In a gap: the transition is between the instant read with the earlier (smaller) offset
        // and the one read with the later offset.
        let earliest = Date(timeIntervalSince1970: seconds - Double(offsets.max() ?? 0) - 1)
        if let transition = zone.nextDaylightSavingTimeTransition(after: earliest) {
            return transition
        }
        return Date(timeIntervalSince1970: seconds - Double(zone.secondsFromGMT(for: wall)))
    }
}
