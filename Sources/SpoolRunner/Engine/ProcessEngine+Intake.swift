import Foundation
import ProcessDefinitions

#if canImport(Glibc)
import Glibc
#endif

extension ProcessEngine {
    /// Takes up to one batch of request files from `inbox/`. Returns whether more are waiting
    /// to be taken now.
    ///
    /// `inbox/` is listed once and the listing is worked through over as many scans as it
    /// takes; it is listed again only when used up, so a backlog of 50,000 files is not listed
    /// 200 times. Intake stops at `--max-live` unfinished processes and goes on as they end
    /// (`intakeHeldAtCap`): the backlog waits on disk, not in memory.
    ///
    /// Files still being written (unparsable, younger than `--settle`) are looked at again at
    /// most every `unsettledRecheck` seconds and do not count toward the batch, so a crowd of
    /// slow writers cannot starve the requests behind them.
    func scanInbox(now: Date) async -> Bool {
        guard clientDirectoryIsSafe(.inbox, now: now) else { return false }
        let clock = now.timeIntervalSince1970
        let cap = configuration.maxLiveProcesses
        guard processes.count < cap else {
            intakeHeldAtCap = true
            return false
        }
        if inboxListing.isEmpty {
            let names: [String]
            do {
                // Listed off the engine: 50,000 queued names take a while to read and sort.
                let inbox = layout.inbox
                names = try await Task.detached { try FileManager.default.contentsOfDirectory(atPath: inbox) }.value
            } catch {
                logger.error("cannot list \(layout.inbox): \(error)")
                lastError = (now, "cannot list \(layout.inbox): \(error)")
                return false
            }
            // Dot files are a client's own temp files; other names are not requests. Both are left alone.
            let candidates = names.filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.sorted()
            let listed = Set(candidates)
            inboxSettle.keep(only: listed)
            unsettled = unsettled.filter { listed.contains($0.key) }
            inboxListing = candidates[...]
        } else {
            // Files waiting to settle were taken off the listing when looked at: those due for
            // another look go first.
            let due = unsettled.filter { $0.value <= clock }.keys.sorted()
            if !due.isEmpty { inboxListing = (due + inboxListing)[...] }
        }
        var taken = 0
        var more = false
        // The stored requests of the ids about to be judged (the duplicate rule), fetched a
        // window at a time in one read each, not one read per file.
        var stored = StoredRequests()
        // Files read and parsed off the engine, a few ahead of the one being judged.
        var read: [String: RequestFile] = [:]
        while let fileName = inboxListing.first {
            guard taken < configuration.intakeBatch else {
                more = true
                break
            }
            guard processes.count < cap else {
                intakeHeldAtCap = true
                break
            }
            // A rejection that found the disk full pauses intake: the rest waits with it.
            guard !pause.isPaused else { break }
            let window = inboxListing.prefix(Self.lookupWindow)
            inboxListing.removeFirst()
            let path = "\(layout.inbox)/\(fileName)"
            // Accepted (or a duplicate) and waiting for its batch's commit to be removed.
            if removalPending.contains(path) { continue }
            if let recheck = unsettled[fileName] {
                if recheck > clock { continue }
                // Unchanged and still within --settle: not worth reading again (1,000 big files
                // being written must not cost a read each every 250 ms).
                if let identity = FileIdentity.of(path),
                    inboxSettle.isWaiting(fileName, identity, settle: configuration.settle.seconds, now: clock)
                {
                    unsettled[fileName] = clock + Self.unsettledRecheck
                    continue
                }
                unsettled.removeValue(forKey: fileName)
            }
            if let identity = unmovable[fileName] {
                // Rejected already, but rejected/ would not take it: not judged again while it
                // is the same file (one rejection, not one per scan).
                if FileIdentity.of(path) == identity { continue }
                unmovable.removeValue(forKey: fileName)
            }
            let decision: IntakeDecision
            do {
                if !stored.covers(fileName) {
                    try await stored.fetch(window, from: store)
                }
                let file: RequestFile
                if let ahead = read.removeValue(forKey: fileName) {
                    file = ahead
                } else {
                    // This file and the next few: one hop off the engine for all of them. A few
                    // only, so that a listing of big requests is not all held in memory.
                    let names = inboxListing.prefix(Self.readAhead - 1)
                    let files = await RequestFile.readOffTheEngine(
                        [fileName] + names, inbox: layout.inbox, limit: configuration.maxRequestBytes)
                    file = files[0]
                    read = Dictionary(
                        files.dropFirst().map { ($0.fileName, $0) }, uniquingKeysWith: { first, _ in first })
                }
                let lookedUp = stored
                decision = intake.examine(
                    file, now: now, catalog: catalog,
                    existingRequest: { id in
                        if let live = processes[id] { return live.record.requestJSON }
                        return lookedUp.requests[id]
                    },
                    firstSeen: { identity in
                        inboxSettle.firstSeen(fileName, identity, now: clock)
                    })
            } catch {
                logger.error(
                    "cannot look up a request in the history store: \(error)", metadata: ["spool.file": "\(path)"])
                lastError = (now, "cannot look up \(fileName) in the history store: \(error)")
                continue
            }
            switch decision {
            case .accept(let record, let definition):
                taken += 1
                var run = ProcessRun(
                    record: record, tasks: ProcessRun.newTasks(for: definition, processID: record.processID),
                    definition: definition, sequence: nextSequence)
                nextSequence += 1
                run.isNew = true
                run.dirtyProcess = true
                run.dirtyTasks = Set(run.tasks.indices)
                run.event(.accepted, at: now, detail: ["file": .string(fileName)])
                processes[record.processID] = run
                noteAccepted(record.processID)
                touched.insert(record.processID)
                removeAfterCommit(path, for: record.processID)
            case .identicalDuplicate:
                taken += 1
                let processID = String(fileName.dropLast(".json".count))
                // In a fleet it may have been dropped on another host: this host writes its
                // status file too, from the store, once subscribed.
                // (This runner may even hold it, claimed from the fleet, without writing its status.)
                if coordination.sharesWork, processes[processID]?.writesStatus != true {
                    guard await subscribeDuplicate(processID, now: now) else { continue }
                }
                logger.info("same request dropped again; nothing to do", metadata: ["spool.file": "\(path)"])
                removeAfterCommit(path, for: processID)
            case .reject(let rejection):
                taken += 1
                let processID = String(fileName.dropLast(".json".count))
                logger.warning(
                    "request rejected: \(rejection.code.rawValue): \(rejection.message)",
                    metadata: ["spool.file": "\(path)", "process.id": "\(processID)"])
                inboxSettle.forget(fileName)
                if let identity = await reject(
                    fileName: fileName, from: layout.inbox,
                    processID: ProcessID.isValid(processID) ? processID : nil, rejection: rejection, now: now)
                {
                    logger.error(
                        "cannot move the rejected request to \(layout.rejected)/; it stays in inbox/ and is not judged again until it changes",
                        metadata: ["spool.file": "\(path)"])
                    unmovable[fileName] = identity
                }
            case .wait(let until):
                unsettled[fileName] = min(until, clock + Self.unsettledRecheck)
            case .gone:
                continue
            }
        }
        inboxBacklog = inboxListing.count + unsettled.count
        if inboxListing.count > 0 {
            inboxBacklogSince = inboxBacklogSince ?? now
        } else {
            inboxBacklogSince = nil
        }
        // One timer for the earliest recheck, however many files wait.
        if !configuration.once, let next = unsettled.values.min() {
            timersToArm.append((.seconds(max(0.01, next - clock + 0.01)), .scan))
        }
        return more
    }

    /// Acts on each `control/*.json` message once and removes it (SPEC §2 `control/`).
    func scanControl(now: Date) async {
        guard clientDirectoryIsSafe(.control, now: now) else { return }
        let files: [ControlFile]
        do {
            files = try await ControlFile.readOffTheEngine(layout.control, skipping: removalPending)
        } catch {
            // As for inbox/: said in the log and runner.json, not skipped in silence.
            logger.error("cannot list \(layout.control): \(error)")
            lastError = (now, "cannot list \(layout.control): \(error)")
            return
        }
        controlSettle.keep(only: Set(files.map(\.fileName)))
        let clock = now.timeIntervalSince1970
        for file in files {
            let fileName = file.fileName
            let path = "\(layout.control)/\(fileName)"
            // Acted on; removed once that is durable.
            if removalPending.contains(path) { continue }
            if let identity = unmovable["control/" + fileName] {
                if file.identity == identity { continue }
                unmovable.removeValue(forKey: "control/" + fileName)
            }
            // Two names: a client's link-then-unlink drop not finished yet (or a hard link from
            // elsewhere, rejected once --settle has passed).
            if let identity = file.identity, identity.links > 1,
                controlSettle.firstSeen(fileName, identity, now: clock) + configuration.settle.seconds > clock
            {
                continue
            }
            switch file.message {
            case nil:
                continue
            case .success(let message)?:
                switch await apply(message, now: now) {
                case .done: removeAfterCommit(path, for: message.processID)
                case .rejected(let rejection): await rejectControl(fileName, rejection, now: now)
                case .later: continue
                }
            case .failure(let rejection)?:
                // Possibly still being written: judged once unchanged for --settle since first seen.
                if rejection.code == .invalidJSON || rejection.code == .permissionDenied,
                    let identity = file.identity,
                    controlSettle.firstSeen(fileName, identity, now: clock) + configuration.settle.seconds > clock
                {
                    continue
                }
                await rejectControl(fileName, rejection, now: now)
            }
        }
    }

    /// Whether `inbox/` or `control/` is a real directory of the spool (made again if missing).
    /// Files there are read, moved and removed by path: had a client swapped the directory for a
    /// symlink, the runner would read, reject or delete files elsewhere. Such a scan is skipped,
    /// reported once until the directory is fixed.
    func clientDirectoryIsSafe(_ place: SpoolLayout.Place, now: Date) -> Bool {
        do {
            _ = try layout.directory(place)
            refusedDirectories.remove(place.rawValue)
            return true
        } catch {
            if refusedDirectories.insert(place.rawValue).inserted {
                logger.error("not taking files from \(error.path): \(error.message)")
                lastError = (now, "\(error.description)")
            }
            return false
        }
    }

    /// Moves a file to `rejected/` (off the engine: an error file is written and the file
    /// renamed) and queues its row; on a full disk the file stays where it is and the runner
    /// pauses until there is room.
    /// - Returns: the file's identity when it could not be moved out of `directory` (the caller
    ///   keeps it from being judged again while unchanged); nil when moved or waiting for room.
    func reject(fileName: String, from directory: String, processID: String?, rejection: RequestRejection, now: Date)
        async -> FileIdentity?
    {
        let rejector = self.rejector
        let (identity, result) = await Task.detached {
            let identity = FileIdentity.of("\(directory)/\(fileName)")
            do throws(SpoolError) {
                let done = try rejector.reject(
                    fileName: fileName, from: directory, processID: processID, rejection: rejection, now: now)
                return (identity, Result<(record: RejectionRecord, moved: Bool), SpoolError>.success(done))
            } catch {
                return (identity, .failure(error))
            }
        }.value
        switch result {
        case .success(let (record, moved)):
            pendingRejections.append(record)
            return moved ? nil : identity
        case .failure(let error):
            if let reason = PauseReason(error) {
                pause.raise(
                    .spoolFiles, reason, path: error.path,
                    message: "cannot reject \(directory)/\(fileName): \(error.description)")
                return nil
            }
            return identity
        }
    }

    private func rejectControl(_ fileName: String, _ rejection: RequestRejection, now: Date) async {
        let path = "\(layout.control)/\(fileName)"
        logger.warning("control message rejected: \(rejection.message)", metadata: ["spool.file": "\(path)"])
        controlSettle.forget(fileName)
        if let identity = await reject(
            fileName: fileName, from: layout.control, processID: nil, rejection: rejection, now: now)
        {
            logger.error(
                "cannot move the rejected control message to \(layout.rejected)/; it stays in control/ and is not judged again until it changes",
                metadata: ["spool.file": "\(path)"])
            unmovable["control/" + fileName] = identity
        }
    }

    /// Returns a rejection when the message names no process it can act on.
    /// What became of a control message.
    enum ControlOutcome {
        /// Acted on (or nothing to do): the file is removed with the next commit.
        case done
        case rejected(RequestRejection)
        /// The store could not be read: the file stays for the next scan.
        case later
    }

    func apply(_ message: ControlMessage, now: Date) async -> ControlOutcome {
        let id = message.processID
        switch message.action {
        case .prune:
            guard let before = message.before.flatMap(Timestamp.parse) else { return .done }
            do {
                try await pruneHistory(before: before)
                return .done
            } catch {
                return storeUnreadable(error, message)
            }
        case .cancel:
            if processes[id] != nil {
                let indexes = processes[id]!.requestCancel(now)
                for index in indexes { running[AttemptKey(processID: id, index: index)]?.stop(.cancelled) }
                touched.insert(id)
                return .done
            }
            let stored: ProcessRecord?
            do {
                stored = try await store.process(id)
            } catch {
                return storeUnreadable(error, message)
            }
            if coordination.sharesWork, let status = stored?.status, !status.isFinal {
                return await cancelElsewhere(id, message: message, now: now)
            }
            if let status = stored?.status {
                logger.info(
                    "cancel: the process already ended \(status.rawValue); nothing to do",
                    metadata: ["process.id": "\(id)"])
                return .done
            }
            return .rejected(
                RequestRejection(.unknownProcess, "cancel: no process with id '\(id)'", writesStatus: false))
        case .retry:
            if let live = processes[id], live.record.status.isFinal {
                // Ended, and that end is being committed: judged once it is durable.
                deferredUntilCommit = true
                return .later
            }
            if processes[id] != nil {
                logger.info("retry: the process has not ended; nothing to do", metadata: ["process.id": "\(id)"])
                return .done
            }
            let snapshot: StoredProcess?
            do {
                snapshot = try await store.snapshot(id)
            } catch {
                return storeUnreadable(error, message)
            }
            guard let (record, rows) = snapshot.map({ ($0.record, $0.tasks) }) else {
                return .rejected(
                    RequestRejection(.unknownProcess, "retry: no process with id '\(id)'", writesStatus: false))
            }
            guard record.status == .failed || record.status == .cancelled else {
                logger.info(
                    "retry: the process ended \(record.status.rawValue); only failed or cancelled processes are retried",
                    metadata: ["process.id": "\(id)"])
                return .done
            }
            guard let definition = catalog.definitions[record.processType] else {
                return .rejected(
                    RequestRejection(
                        .unknownProcess,
                        "retry: process '\(id)' is of type '\(record.processType)', which has no definition now",
                        writesStatus: false))
            }
            // A shared store: this runner takes it first (its commit is fenced like any other);
            // held by another runner means it is being retried there already.
            var subscribed = true
            if coordination.sharesWork {
                do {
                    guard let claimed = try await coordination.claim(id) else {
                        logger.info(
                            "retry: another runner holds the process; nothing to do", metadata: ["process.id": "\(id)"])
                        return .done
                    }
                    subscribed = claimed.subscribed
                } catch {
                    return storeUnreadable(error, message)
                }
            }
            var run = ProcessRun.restore(record: record, rows: rows, definition: definition, sequence: nextSequence)
            run.writesStatus = subscribed
            nextSequence += 1
            run.redrive(now)
            processes[id] = run
            // Beyond this runner's free slots (an intake-only runner): handed to the fleet.
            noteAccepted(id)
            touched.insert(id)
            return .done
        }
    }

    /// A control message that needs the store found it unreadable: logged, and the file is left
    /// for the next scan (never taken for "no such process").
    func storeUnreadable(_ error: StoreError, _ message: ControlMessage) -> ControlOutcome {
        logger.error(
            "cannot act on a \(message.action.rawValue) message now: \(error.description); trying again at the next scan",
            metadata: message.processID.isEmpty ? [:] : ["process.id": "\(message.processID)"])
        lastError = (Date(), "cannot act on a \(message.action.rawValue) message: \(error.description)")
        return .later
    }

    /// Request files looked up in the store per window of an inbox scan.
    static let lookupWindow = 256
    /// Request files read off the engine at once: at most this many times `--max-request-bytes`
    /// held in memory.
    static let readAhead = 16

    /// The stored request bodies of a window of inbox file names.
    struct StoredRequests {
        var names: Set<String> = []
        var requests: [String: String] = [:]

        func covers(_ fileName: String) -> Bool { names.contains(fileName) }

        mutating func fetch(_ fileNames: ArraySlice<String>, from store: any Store) async throws(StoreError) {
            names = Set(fileNames)
            requests = try await store.requestJSONs(of: fileNames.map { String($0.dropLast(".json".count)) })
        }
    }
}
