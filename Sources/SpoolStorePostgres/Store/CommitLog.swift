import Foundation
import SpoolRunner

/// This store's batch commits as the lost-reply rule needs them (SPEC §9, idempotent commit).
///
/// Every batch gets a token: the runner, its incarnation, this store instance (`writer`) and a
/// sequence number. `spoolrunner_commit` records the token with its answer in the same
/// transaction. A batch whose answer never came (the connection dropped, maybe after the server
/// committed) stays `unanswered`; the next commit sends it again under the same token first, so it
/// is written exactly once, and learns its answer.
///
/// The engine meanwhile put that batch's changes back in front of its newer ones (it cannot know
/// whether they were written), so the next batches carry them again: `ahead` remembers what of
/// them is durable now, and `remainder(of:)` takes it out, so no event, rejection or counter is
/// written twice and a process inserted by it is not inserted again.
struct CommitLog: Sendable {
    /// A batch sent, with no answer.
    struct Unanswered: Sendable {
        var seq: Int64
        var incarnation: Int64?
        /// What was sent (the remainder), as JSON.
        var payload: String
        /// The engine's batch as it was handed in: what the engine puts back when it fails.
        var batch: StoreBatch
        /// Processes of the batch this runner did not hold: lost without asking the store.
        var unheld: Set<String>
    }

    /// What of the changes the engine will hand in again is durable already.
    struct Ahead: Sendable {
        /// process id → its first events, written.
        var events: [String: [EventRecord]] = [:]
        /// New processes inserted already.
        var inserted: Set<String> = []
        /// How many of the next batch's first rejections are written.
        var rejections = 0

        var isEmpty: Bool { events.isEmpty && inserted.isEmpty && rejections == 0 }
    }

    let writer = UUID()
    private(set) var lastSeq: Int64 = 0
    var unanswered: Unanswered?
    var ahead = Ahead()

    mutating func nextSeq() -> Int64 {
        lastSeq += 1
        return lastSeq
    }

    /// `batch` without what `ahead` says is durable: events that are a written prefix, the
    /// written rejections in front, and "new" for processes inserted already.
    mutating func remainder(of batch: StoreBatch) -> StoreBatch {
        guard !ahead.isEmpty else { return batch }
        var changes = batch.changes
        for index in changes.indices {
            let id = changes[index].record.processID
            if let written = ahead.events.removeValue(forKey: id),
                changes[index].events.count >= written.count,
                zip(changes[index].events, written).allSatisfy({ $0.sameEvent(as: $1) })
            {
                changes[index].events.removeFirst(written.count)
            }
            if changes[index].isNew, ahead.inserted.remove(id) != nil { changes[index].isNew = false }
        }
        let skipped = min(ahead.rejections, batch.rejections.count)
        ahead.rejections -= skipped
        return StoreBatch(changes: changes, rejections: Array(batch.rejections.dropFirst(skipped)))
    }

    /// `unanswered` got its answer: the engine will hand in its batch again.
    mutating func answered(_ sent: Unanswered, _ answer: CommitAnswer) {
        unanswered = nil
        let written = Set(answer.written)
        for change in sent.batch.changes where written.contains(change.record.processID) {
            ahead.events[change.record.processID] = change.events
            if change.isNew { ahead.inserted.insert(change.record.processID) }
        }
        ahead.rejections += sent.batch.rejections.count
    }
}

extension EventRecord {
    /// The same event of the same process (events have no identity before the store gives them one).
    func sameEvent(as other: EventRecord) -> Bool {
        processID == other.processID && taskName == other.taskName && event == other.event && at == other.at
    }
}
