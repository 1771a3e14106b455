import Foundation
import PostgresNIO
import ProcessDefinitions
import SpoolClient
import SpoolRunner

extension PostgresStore {
    /// Writes one engine batch in one transaction, fenced (SPEC §9): new processes, the changes
    /// of the processes this runner holds, rejections, and this runner's metric counters.
    ///
    /// - A new process is inserted (`ON CONFLICT DO NOTHING`) with its definition's hash, owned by
    ///   this runner when its incarnation is alive (else unowned, for anyone to claim), and
    ///   subscribed by it. An id that exists already (another host accepted it after the
    ///   engine's `requestJSONs` look-up) is lost: nothing of that change is written.
    /// - A change of a held process is written only if this runner still owns it under the
    ///   epoch it holds it by (`commit(_:lease:)`'s fence); otherwise it is lost.
    ///
    /// One round trip: `spoolrunner_commit` (migration 4) does it all in autocommit. The batch
    /// carries a token, so a batch whose answer was lost is sent again under that token before
    /// the next one and is written once (see `CommitLog`).
    /// - Returns: the lost processes and the held ones another host asked to cancel.
    public func commit(_ batch: StoreBatch) async throws(StoreError) -> CommitOutcome {
        var earlier = CommitOutcome.empty
        if let unanswered = commitLog.withLock({ $0.unanswered }) {
            let answer = try await send(unanswered, "commit a batch sent before whose answer never came")
            commitLog.withLock { $0.answered(unanswered, answer) }
            earlier = apply(answer, of: unanswered.batch, unheld: unanswered.unheld)
        }
        // A batch handed in again after a failure: without what is durable already.
        let remainder = commitLog.withLock { $0.remainder(of: batch) }
        guard !remainder.isEmpty else { return earlier }
        let operation = "commit \(remainder.changes.count) process change(s)"
        let state = held.withLock { $0 }
        var newRows: [NewProcessRow] = []
        var transitions: [ProcessTransition] = []
        var unheld: Set<String> = []
        for change in remainder.changes {
            let id = change.record.processID
            if change.isNew {
                guard let definition = state.definitions[change.record.processType] else {
                    throw StoreError(
                        .failed, location: location, operation: operation,
                        message:
                            "no definition of process type '\(change.record.processType)' was given to the store (useDefinitions) before process \(id) was committed"
                    )
                }
                newRows.append(NewProcessRow(change.record, definition: definition))
            } else if state.epochs[id] == nil {
                unheld.insert(id)
                continue
            }
            do {
                transitions.append(
                    try ProcessTransition(change, epoch: state.epochs[id] ?? 0, machineID: state.machineID))
            } catch {
                throw storeError(error, operation)
            }
        }
        let payload: String
        var fenced: [String] = []
        do {
            var document = try CommitPayload(
                new: newRows, transitions: transitions, runnerID: runnerID, rejections: remainder.rejections,
                counters: remainder.counters)
            // The subscribers are told after the commit, by `hints` (NOTIFY's lock is not held
            // through this commit's flush).
            document.notify = false
            fenced = document.fence.map(\.processID)
            payload = String(decoding: try JSONEncoder.sorted.encode(document), as: UTF8.self)
        } catch {
            throw storeError(error, operation)
        }
        let sent = commitLog.withLock { log in
            CommitLog.Unanswered(
                seq: log.nextSeq(), incarnation: state.lease?.incarnation, payload: payload, batch: batch,
                unheld: unheld)
        }
        let answer: CommitAnswer
        do {
            answer = try await send(sent, operation)
        } catch {
            // Maybe written, maybe not: the next commit sends it again under its token first.
            commitLog.withLock { $0.unanswered = sent }
            throw error
        }
        if notifies {
            // Only the hosts where the request was dropped, when that is not this one.
            let foreign = held.withLock { $0.unsubscribed }
            hints.statusChanged(Set(fenced).intersection(answer.written).intersection(foreign))
        }
        let outcome = apply(answer, of: remainder, unheld: unheld)
        return CommitOutcome(
            lost: earlier.lost.union(outcome.lost),
            cancelRequested: earlier.cancelRequested.subtracting(outcome.lost).union(outcome.cancelRequested))
    }

    /// One call of `spoolrunner_commit`, in autocommit: one round trip, one transaction.
    func send(_ batch: CommitLog.Unanswered, _ operation: String) async throws(StoreError) -> CommitAnswer {
        let lockTimeout = lockTimeout.withLock { $0 }.map { Int($0 * 1000) }
        let me = runnerID
        let writer = commitLog.withLock { $0.writer }
        return try await storeCall(operation) { [self] in
            do {
                let rows = try await client.query(
                    """
                    SELECT spoolrunner_commit(\(me), \(batch.incarnation)::int8, \(writer)::uuid, \(batch.seq)::int8,
                                              \(lockTimeout)::int4, \(batch.payload)::jsonb)::text
                    """, logger: logger)
                var text: String?
                for try await value in rows.decode(String.self) { text = value }
                let answer = try JSONDecoder().decode(CommitAnswer.self, from: Data((text ?? "").utf8))
                if answer.replayed == true {
                    logger.notice(
                        "commit answered from its token: the batch had been written before its answer was lost",
                        metadata: ["store.commit.seq": "\(batch.seq)"])
                }
                return answer
            } catch {
                throw PostgresStoreError.wrap(error, "committing a batch (\(operation))")
            }
        }
    }

    /// What a commit's answer means for the epochs this runner holds, and for the engine.
    private func apply(_ answer: CommitAnswer, of batch: StoreBatch, unheld: Set<String>) -> CommitOutcome {
        let written = Set(answer.written)
        let lost = Set(answer.lost).union(unheld)
        held.withLock { held in
            for (id, epoch) in answer.owned { held.epochs[id] = epoch }
            for id in lost { held.epochs.removeValue(forKey: id) }
            // A process that ended is no one's any more (the commit cleared its owner).
            for change in batch.changes
            where change.processChanged && change.record.status.isFinal && written.contains(change.record.processID) {
                held.epochs.removeValue(forKey: change.record.processID)
            }
            held.unsubscribed = held.unsubscribed.filter { held.epochs[$0] != nil }
        }
        return CommitOutcome(lost: lost, cancelRequested: Set(answer.cancel))
    }

    /// A process of the batch that is not in the store yet.
    struct NewProcessRow: Encodable {
        var processID: String
        var processType: String
        var status: String
        var inputs: [String: JSONValue]
        var requestJSON: String
        var createdAt: String
        var startedAt: String?
        var endedAt: String?
        var updatedAt: String
        var error: FailureInfo?
        var crashCount: Int
        var definitionSHA256: String

        init(_ record: ProcessRecord, definition: Data) {
            processID = record.processID
            processType = record.processType
            status = record.status.rawValue
            inputs = record.inputs
            requestJSON = record.requestJSON
            createdAt = Timestamp.string(record.createdAt)
            startedAt = record.startedAt.map(Timestamp.string)
            endedAt = record.endedAt.map(Timestamp.string)
            updatedAt = Timestamp.string(record.updatedAt)
            error = record.error
            crashCount = record.crashCount
            definitionSHA256 = definition.map { String(format: "%02x", $0) }.joined()
        }

        enum CodingKeys: String, CodingKey {
            case processID = "process_id"
            case processType = "process_type"
            case status
            case inputs = "inputs_json"
            case requestJSON = "request_json"
            case createdAt = "created_at"
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case updatedAt = "updated_at"
            case error = "error_json"
            case crashCount = "crash_count"
            case definitionSHA256 = "definition_sha256"
        }
    }

    /// Inserts the new processes, in batch order, with this runner's subscription.
    /// - Returns: the ids inserted, and those of them this runner owns with their epoch.
    func insertNew(_ rows: [NewProcessRow], incarnation: Int64?, on connection: PostgresConnection)
        async throws -> (inserted: Set<String>, owned: [String: Int64])
    {
        guard !rows.isEmpty else { return ([], [:]) }
        let me = runnerID
        let json = String(decoding: try JSONEncoder.sorted.encode(rows), as: UTF8.self)
        let result = try await connection.query(
            """
            WITH alive AS (SELECT EXISTS (SELECT 1 FROM runners WHERE runner_id = \(me)
                                            AND incarnation = \(incarnation) AND state = 'alive') AS yes)
            INSERT INTO processes (process_id, process_type, status, inputs_json, request_json, created_at,
                                   started_at, ended_at, updated_at, error_json, crash_count, request_sha256,
                                   definition_sha256, owner_runner, lease_epoch)
            SELECT u.process_id, u.process_type, u.status, u.inputs_json, u.request_json,
                   u.created_at::timestamptz, u.started_at::timestamptz, u.ended_at::timestamptz,
                   u.updated_at::timestamptz, u.error_json, u.crash_count,
                   sha256(convert_to(u.request_json, 'UTF8')), decode(u.definition_sha256, 'hex'),
                   CASE WHEN alive.yes AND u.status IN ('pending', 'running') THEN \(me) END, 1
              FROM ROWS FROM (jsonb_to_recordset(\(json)::jsonb) AS (
                     process_id text, process_type text, status text, inputs_json jsonb, request_json text,
                     created_at text, started_at text, ended_at text, updated_at text, error_json jsonb,
                     crash_count int, definition_sha256 text)) WITH ORDINALITY AS u(
                     process_id, process_type, status, inputs_json, request_json, created_at, started_at,
                     ended_at, updated_at, error_json, crash_count, definition_sha256, n), alive
             ORDER BY u.n
            ON CONFLICT (process_id) DO NOTHING
            RETURNING process_id, owner_runner IS NOT NULL, lease_epoch
            """, logger: logger)
        var inserted: Set<String> = []
        var owned: [String: Int64] = [:]
        for try await (id, isOwned, epoch) in result.decode((String, Bool, Int64).self) {
            inserted.insert(id)
            if isOwned { owned[id] = epoch }
        }
        if !inserted.isEmpty {
            try await connection.query(
                """
                INSERT INTO subscriptions (runner_id, process_id)
                SELECT \(me), id FROM unnest(\(Array(inserted))::text[]) AS id ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        return (inserted, owned)
    }

    /// Adds the batch's counters to this runner's rows (created at zero).
    func addCounters(_ increments: CounterIncrements, runner: String, on connection: PostgresConnection)
        async throws
    {
        guard !increments.isEmpty else { return }
        let keys = Array(increments.counts.keys)
        let metrics = keys.map(\.metric.rawValue)
        let labels = try keys.map { key in
            String(
                decoding: try JSONEncoder.sorted.encode(Dictionary(uniqueKeysWithValues: key.labels)), as: UTF8.self)
        }
        let amounts = keys.map { increments.counts[$0] ?? 0 }
        try await connection.query(
            """
            INSERT INTO metric_counters (runner_id, metric, labels_json, value)
            SELECT \(runner), m, l, v FROM unnest(\(metrics)::text[], \(labels)::text[], \(amounts)::int8[]) AS c(m, l, v)
            ON CONFLICT (runner_id, metric, labels_json) DO UPDATE SET value = metric_counters.value + EXCLUDED.value
            """, logger: logger)
    }
}

extension ProcessTransition {
    /// One engine change as the store writes it: the process row only if it changed (the
    /// request and inputs never do), the changed tasks, the new events.
    init(_ change: StoreBatch.Change, epoch: Int64, machineID: String?) throws {
        var transition = try EngineRecovery.transition(
            from: (change.record, change.tasks, change.events), epoch: epoch)
        if !change.processChanged || change.isNew { transition.process = nil }
        for index in transition.tasks.indices { transition.tasks[index].machineID = machineID }
        self = transition
    }
}
