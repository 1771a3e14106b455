import Foundation
import ProcessDefinitions

#if canImport(Glibc)
import Glibc
#endif

extension ProcessEngine {
    /// Rewrites `runner.json`: what a monitoring script or a human checks first.
    ///
    /// Everything comes from the engine's own bookkeeping (live processes, running attempts, the
    /// last inbox scan): nothing here lists a directory or reads the store, so it stays cheap
    /// with a huge inbox.
    func writeHeartbeat(stopped: Bool = false) {
        let now = configuration.clock.now()
        var byType: [String: (running: Int, pending: Int, tasks: Int)] = [:]
        var oldestPending: Date?
        for run in processes.values {
            let type = run.record.processType
            if run.record.status == .running {
                byType[type, default: (0, 0, 0)].running += 1
            } else {
                byType[type, default: (0, 0, 0)].pending += 1
                let created = run.record.createdAt
                if oldestPending.map({ created < $0 }) ?? true { oldestPending = created }
            }
        }
        for key in running.keys {
            guard let type = processes[key.processID]?.record.processType else { continue }
            byType[type, default: (0, 0, 0)].tasks += 1
        }
        let runningProcesses = byType.values.reduce(0) { $0 + $1.running }
        let oldestWaiting = [oldestPending, inboxBacklogSince].compactMap { $0 }.min()
        let scheduleNow = configuration.scheduleClock.now()
        var schedules: [JSONValue] = []
        for processType in catalog.definitions.keys.sorted() {
            for entry in catalog.definitions[processType]?.schedule ?? [] {
                schedules.append(
                    .object([
                        "process_type": .string(processType),
                        "name": entry.name.map(JSONValue.string) ?? .null,
                        "next_slot": entry.nextSlot(after: scheduleNow).map { .string(Timestamp.string($0)) } ?? .null,
                    ]))
            }
        }
        var document: JSONValue = .object([
            "pid": .integer(Int64(getpid())),
            "version": .string(Version.current),
            "started_at": .string(Timestamp.string(startedAt)),
            "updated_at": .string(Timestamp.string(now)),
            "state": .string(stopped ? "stopped" : stopping ? "stopping" : "running"),
            "counts": .object([
                "inbox_backlog": .integer(Int64(inboxBacklog)),
                "pending_processes": .integer(Int64(processes.count - runningProcesses)),
                "running_processes": .integer(Int64(runningProcesses)),
                "running_tasks": .integer(Int64(running.count)),
            ]),
            "oldest_waiting_seconds": oldestWaiting.map {
                .number(((now.timeIntervalSince($0)) * 1000).rounded() / 1000)
            } ?? .null,
            "by_type": .object(
                byType.mapValues { counts in
                    .object([
                        "running_processes": .integer(Int64(counts.running)),
                        "pending_processes": .integer(Int64(counts.pending)),
                        "running_tasks": .integer(Int64(counts.tasks)),
                    ])
                }),
            "schedules": .array(schedules),
            "definitions": .array(catalog.definitions.keys.sorted().map(JSONValue.string)),
            "definition_errors": .array(catalog.errors.map { .string($0.description) }),
            // What the runner is waiting out now (oldest first in `paused`), and the last pause
            // that ended, so a monitor sees a pause that came and went between two looks.
            "paused": pause.active.first.map(Self.json) ?? .null,
            "pause_conditions": .array(pause.active.map(Self.json)),
            "last_pause": pause.last.map(Self.json) ?? .null,
            "last_error": lastErrorJSON(),
        ])
        if coordination.sharesWork, case .object(var fields) = document {
            // SPEC §9: which store, as whom, whether leading, until when the lease holds.
            fields["store"] = configuration.storeDescription.map(JSONValue.string) ?? .null
            fields["runner_id"] =
                fleet.lease.map { .string($0.runnerID) } ?? configuration.runnerID.map(JSONValue.string) ?? .null
            fields["leader"] = .bool(fleet.leader && !stopped)
            fields["lease_expires_at"] = fleet.lease?.expiresAt.map { .string(Timestamp.string($0)) } ?? .null
            fields["owned_processes"] = .integer(Int64(processes.count - fleet.releaseAfterCommit.count))
            document = .object(fields)
        }
        do {
            // A success does not clear a `spool_files` pause: the probe does, with backoff, so
            // that a write that fails again cannot make it come and go in a loop.
            try AtomicFile.write(Data((document.compactJSON + "\n").utf8), to: layout.heartbeatFile)
        } catch {
            if error.errno == .noSuchFileOrDirectory { layout.restoreMissingDirectories() }
            if let reason = PauseReason(error) {
                pause.raise(.spoolFiles, reason, path: error.path, message: "cannot write \(error.description)")
            }
        }
    }

    static func json(_ condition: PauseCondition) -> JSONValue {
        .object(condition.json.mapValues(JSONValue.string))
    }

    /// The newest of the engine's last error and the pauses (active or ended): `at` and
    /// `message`, plus `reason` when it is a pause.
    func lastErrorJSON() -> JSONValue {
        let pauses = pause.active + (pause.last.map { [$0] } ?? [])
        if let newest = pauses.max(by: { $0.since < $1.since }), lastError.map({ $0.at <= newest.since }) ?? true {
            return .object([
                "at": .string(Timestamp.string(newest.since)), "message": .string(newest.message),
                "reason": .string(newest.reason.rawValue),
            ])
        }
        return lastError.map { .object(["at": .string(Timestamp.string($0.at)), "message": .string($0.message)]) }
            ?? .null
    }

    /// `WATCHDOG=1` (when systemd asked for it) and a `STATUS=` line with the counts, sent from
    /// the engine loop itself: a loop that hangs stops pinging and systemd restarts the runner.
    func notifySystemd() {
        let runningProcesses = processes.values.filter { $0.record.status == .running }.count
        var message =
            "STATUS=\(runningProcesses) running, \(processes.count - runningProcesses) pending, \(running.count) task(s), \(inboxBacklog) waiting in inbox"
        if Self.watchdogInterval() != nil { message = "WATCHDOG=1\n" + message }
        SystemdNotifier.notify(message)
    }

    /// Half of `WATCHDOG_USEC` when systemd set it for this process (`WATCHDOG_PID` unset or ours).
    static func watchdogInterval(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = Int64(text), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], !pid.isEmpty, pid != String(getpid()) { return nil }
        return .microseconds(usec / 2)
    }

    /// The heartbeat period: the configured one, or shorter when the watchdog needs pings more
    /// often than that.
    static func heartbeatInterval(_ configured: Duration) -> Duration {
        guard let watchdog = watchdogInterval() else { return configured }
        return min(configured, watchdog)
    }
}
