import Foundation
import SpoolRunner

/// The batch argument of `spoolrunner_commit` (migration 4), one JSON document: what the
/// multi-statement commit sent as one statement parameter each.
struct CommitPayload: Encodable {
    /// A held process's fencing token.
    struct Fence: Encodable {
        var processID: String
        var leaseEpoch: Int64

        enum CodingKeys: String, CodingKey {
            case processID = "process_id"
            case leaseEpoch = "lease_epoch"
        }
    }

    struct Counter: Encodable {
        var metric: String
        var labelsJSON: String
        var value: Int64

        enum CodingKeys: String, CodingKey {
            case metric
            case labelsJSON = "labels_json"
            case value
        }
    }

    /// Processes not in the store yet: inserted unless the id exists.
    var new: [PostgresStore.NewProcessRow]
    /// The held processes of the batch with the epochs they are held by.
    var fence: [Fence]
    /// Every process of the batch with a change (new and held): those not written are lost.
    var ids: [String]
    var processes: [TransitionRows.ProcessRow]
    var tasks: [TransitionRows.TaskRow]
    var events: [TransitionRows.EventRow]
    var rejections: [RejectionRow]
    var counters: [Counter]
    /// Whether the subscribers of the held processes are told (`spoolrunner_s_<hash>`).
    var notify: Bool

    init(
        new: [PostgresStore.NewProcessRow], transitions: [ProcessTransition], runnerID: String,
        rejections: [RejectionRecord], counters: CounterIncrements
    ) throws {
        let newIDs = Set(new.map(\.processID))
        self.new = new
        fence = transitions.filter { !newIDs.contains($0.processID) }.map {
            Fence(processID: $0.processID, leaseEpoch: $0.leaseEpoch)
        }
        ids = transitions.map(\.processID)
        let rows = TransitionRows(transitions, runnerID: runnerID)
        processes = rows.processes
        tasks = rows.tasks
        events = rows.events
        self.rejections = rejections.map(RejectionRow.init)
        self.counters = try counters.counts.map { key, amount in
            Counter(
                metric: key.metric.rawValue,
                labelsJSON: String(
                    decoding: try JSONEncoder.sorted.encode(Dictionary(uniqueKeysWithValues: key.labels)),
                    as: UTF8.self),
                value: amount)
        }
        notify = true
    }
}

/// What `spoolrunner_commit` answers, recorded with the batch's token: a retry of the same
/// token gets the same answer (`replayed` set).
struct CommitAnswer: Decodable, Sendable {
    /// New processes inserted and owned by this runner, with their epoch.
    var owned: [String: Int64]
    /// Processes whose changes were written (inserted or fenced).
    var written: [String]
    var lost: [String]
    /// Held processes another host asked to cancel.
    var cancel: [String]
    /// The token was found: this is the first attempt's answer, nothing was written now.
    var replayed: Bool?
}
