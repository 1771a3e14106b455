/// A store shared by several runners, where the leader submits schedule slots straight into the
/// store instead of dropping them into its own inbox (SPEC §9, "The leader: schedules"): a slot
/// is then anyone's to run at once, and two leaders during a partition still make one process
/// per slot, since the slot's deterministic id is the primary key.
///
/// SQLite does not conform: its one runner drops each slot's request into `inbox/`, and the
/// intake takes it like any dropped file.
public protocol ScheduleSlotStore: Sendable {
    /// In one transaction: inserts the slots' processes (`slots`, new processes as the intake
    /// builds them), unowned, for any runner to claim, and subscribes this runner to them
    /// (its host writes their status files); a slot whose id exists already (another leader
    /// inserted it) is left as it is. Saves the entry's `state` (its last slot never moves back)
    /// with `events`, and announces the new work to the fleet.
    /// - Returns: the ids this call inserted.
    func submitSlots(_ slots: [StoreBatch.Change], state: ScheduleStateRecord, events: [EventRecord])
        async throws(StoreError) -> Set<String>
}
