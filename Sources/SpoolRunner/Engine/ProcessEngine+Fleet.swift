import Foundation
import Logging
import ProcessDefinitions
import Synchronization

/// The runner's side of a store shared by several runners (SPEC §9): claims, the lease and
/// self-fencing, the leader's reaper, cancels from other hosts, and handing work back.
extension ProcessEngine {
    /// The background tasks of a fleet member, in the engine's task group: the claim poll, the
    /// store's notifications, the lease, and the leader's duties.
    func startFleetTasks(in group: inout ThrowingDiscardingTaskGroup<any Error>) {
        let events = self.events
        let coordination = self.coordination
        let logger = self.logger
        let liveAttempts = self.liveAttempts
        let poll = configuration.claimPoll
        // `serve --once --store` takes no one else's work: no poll, no leadership (schedules,
        // reaper); only what its runner id still owns, taken back by the first claim.
        let once = configuration.once
        if once { fleet.claimWanted = true }
        if !once {
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: poll)
                    events.post(.fleet(.claimDue))
                }
            }
        }
        group.addTask {
            for await change in coordination.changes() {
                events.post(.fleet(.storeChanged(change)))
            }
        }
        group.addTask { [self] in
            while !Task.isCancelled {
                let end = await coordination.keepLease(runningTasks: { await self.runningTaskCount() }) { state in
                    events.post(.fleet(.leaseRenewed(state)))
                }
                guard end != .cancelled, !Task.isCancelled else { return }
                // Now, not when the loop gets to the event: it may be waiting on the store.
                let stopped = liveAttempts.stopAll(.leaseLost)
                if stopped > 0 { logger.error("lease_lost: stopping \(stopped) task(s) at once") }
                events.post(.fleet(.leaseEnded(end)))
                // A new incarnation, once the store takes one (it may be unreachable for a while).
                var backoff = Backoff(initial: 0.5, maximum: 5)
                while !Task.isCancelled {
                    do {
                        let state = try await coordination.renewIncarnation()
                        events.post(.fleet(.reincarnated(state)))
                        break
                    } catch {
                        logger.warning("cannot register this runner again yet: \(error)")
                        try? await Task.sleep(for: .seconds(backoff.next()))
                    }
                }
            }
        }
        guard !once else { return }
        let leading = Flag()
        group.addTask {
            for await leads in coordination.leadership() {
                if leads { leading.set() } else { leading.clear() }
                events.post(.fleet(.leadership(leads)))
            }
        }
        let reaperPeriod = configuration.lease / 3
        group.addTask {
            while !Task.isCancelled {
                try? await Task.sleep(for: reaperPeriod)
                guard leading.isSet, !Task.isCancelled else { continue }
                do {
                    let taken = try await coordination.reapExpiredRunners()
                    if !taken.isEmpty { events.post(.fleet(.reaped(taken))) }
                } catch {
                    logger.warning("the reaper failed; it runs again in \(reaperPeriod): \(error)")
                }
            }
        }
    }

    func runningTaskCount() -> Int { running.count }

    /// Gives a shared store the text of the definitions in force (read off the engine), so that
    /// the processes accepted with them are executed with them on any host.
    /// - Throws: `StoreError` when the store cannot record them (at start: the runner stops).
    func recordDefinitions(_ catalog: DefinitionCatalog) async throws {
        let directory = configuration.definitionsDirectory
        let types = Array(catalog.definitions.keys)
        let texts = await Task.detached { DefinitionTexts.read(directory: directory, types: types) }.value
        do {
            try await coordination.useDefinitions(texts)
        } catch {
            logger.error("cannot record the definitions in the store: \(error)")
            lastError = (Date(), "cannot record the definitions in the store: \(error)")
            throw error
        }
    }

    /// Whether this runner does the leader's work (schedules): always with a store of one
    /// runner, while it holds the leader lock in a fleet.
    public func isLeader() -> Bool { !coordination.sharesWork || (fleet.leader && !fleet.fenced) }

    func handleFleet(_ event: FleetEvent, now: Date) {
        switch event {
        case .claimDue:
            fleet.claimTimerArmed = false
            fleet.claimWanted = true
        case .leaseRenewed(let state):
            guard !fleet.fenced else { return }
            let first = fleet.lease == nil
            fleet.lease = state
            // runner.json shows the lease from the first renewal on, not 2 s later.
            if first { writeHeartbeat() }
        case .leaseEnded(let end):
            fence(end)
        case .reincarnated(let state):
            fleet.fenced = false
            fleet.lease = state
            fleet.claimWanted = true
            logger.notice(
                "registered again after the fence: claiming work again", metadata: ["runner.id": "\(state.runnerID)"])
            writeHeartbeat()
        case .leadership(let leads):
            guard leads != fleet.leader else { return }
            fleet.leader = leads
            logger.notice(leads ? "this runner is now the fleet's leader" : "this runner is no longer the leader")
            writeHeartbeat()
        case .storeChanged(let change):
            switch change {
            case .work, .resynchronize:
                fleet.claimWanted = true
            case .cancelRequested(let ids):
                applyRemoteCancels(ids, now: now)
            case .statusChanged(let ids):
                // Processes this host subscribes to, changed by the runner that executes them:
                // rewritten from the store (reconciliation is the fallback for lost ones).
                statusPublisher.refresh(ids)
            }
        case .reaped(let ids):
            logger.notice("took over \(ids.count) process(es) of runners whose lease expired")
        }
    }

    /// Asks for up to the free task slots' worth of unowned work, at most once per cooldown.
    func claimWork(now: Date) async {
        fleet.claimWanted = false
        guard coordination.sharesWork, !fleet.fenced, !stopping, !pause.isPaused else { return }
        // `--once`: a claim of nothing new, which still takes back what this runner id owns.
        let limit = configuration.once ? 0 : claimLimit()
        guard limit > 0 || configuration.once else { return }
        // Never beside a commit in flight: the first claim after a restart or a fence takes back
        // what this runner id owns and bumps those processes' fencing tokens, including the ones
        // the batch in flight carries (new processes it inserts as this runner's, running ones);
        // that commit would then find them lost, and they would stay owned here, dropped from
        // memory, for good (the fleet chaos test's unfinished process). The loop claims right
        // after the commit's answer.
        guard commitInFlight == nil else {
            fleet.claimWanted = true
            return
        }
        let clock = ContinuousClock.now
        // The cooldown damps claims that find nothing (polls, notifications, every freed slot of
        // an idle fleet). Behind a full claim work is waiting: a slot freed then is filled at
        // once, not up to 100 ms later (with the cooldown, a runner took at most --max-tasks
        // processes per 100 ms, whatever the store could do).
        if !fleet.backlog, let last = fleet.lastClaim, clock - last < configuration.claimCooldown {
            if !fleet.claimTimerArmed {
                fleet.claimTimerArmed = true
                timersToArm.append((configuration.claimCooldown - (clock - last), .fleet(.claimDue)))
            }
            return
        }
        fleet.lastClaim = clock
        let concurrency = catalog.definitions.compactMapValues(\.concurrency)
        let claimed: [ClaimedWork]
        fleet.backlog = false
        do {
            claimed = try await coordination.claim(limit: limit, concurrency: concurrency)
        } catch {
            logger.warning("cannot claim work from the store: \(error.description)")
            lastError = (now, "cannot claim work: \(error.description)")
            return
        }
        guard !claimed.isEmpty else { return }
        // Fenced while the claim ran: these belong to an incarnation that is over; the store
        // hands them on (see `renewIncarnation`).
        guard !fleet.fenced else { return }
        // A full claim: more may be waiting.
        if limit > 0, claimed.count >= limit {
            fleet.claimWanted = true
            fleet.backlog = true
        }
        do {
            try await resume(claimed, crashed: false, since: nil, now: now)
        } catch {
            logger.error("cannot record a claimed process: \(error)")
            lastError = (now, "cannot record a claimed process: \(error)")
        }
        logger.debug("claimed \(claimed.count) process(es)")
    }

    /// A cancel dropped here for a process this runner does not hold: taken and cancelled here
    /// when no runner holds it, else asked of the runner that does.
    func cancelElsewhere(_ processID: String, message: ControlMessage, now: Date) async -> ControlOutcome {
        do {
            if let claimed = try await coordination.claim(processID) {
                try await resume([claimed], crashed: false, since: nil, now: now)
                if processes[processID] != nil {
                    let indexes = processes[processID]!.requestCancel(now)
                    for index in indexes { running[AttemptKey(processID: processID, index: index)]?.stop(.cancelled) }
                    touched.insert(processID)
                }
            } else {
                try await coordination.requestCancel(processID)
                logger.info("cancel: asked the runner that holds the process", metadata: ["process.id": "\(processID)"])
            }
            return .done
        } catch let error as StoreError {
            return storeUnreadable(error, message)
        } catch {
            return storeUnreadable(
                StoreError(.failed, location: store.location, operation: "cancel", message: "\(error)"), message)
        }
    }

    /// Subscribes this host to a process accepted elsewhere (the same bytes dropped here too),
    /// and writes its status file from the store. Returns false when the store refused: the
    /// file stays in inbox/ for the next scan.
    func subscribeDuplicate(_ processID: String, now: Date) async -> Bool {
        do {
            try await coordination.subscribe(to: [processID])
            // Held here, claimed from the fleet: from its next commit on this runner writes its
            // status; now, the committed state (what is in memory may not be durable yet).
            processes[processID]?.writesStatus = true
            if let stored = try await store.snapshot(processID) {
                statusPublisher.publish(StatusDocument(process: stored.record, tasks: stored.tasks))
            }
            return true
        } catch {
            logger.warning("cannot subscribe to \(processID) in the store; trying again at the next scan: \(error)")
            lastError = (now, "cannot subscribe to \(processID): \(error)")
            return false
        }
    }

    /// Oban's demand: one process per free task slot (processes held but waiting count as
    /// taking one), and at least one while any slot is free.
    ///
    /// Not more, even when a runner's commits are small: a process held here is stuck behind
    /// this runner's lease if it dies, so the fleet's batches grow by adding slots (`--max-tasks`)
    /// or runners, not by holding work that cannot start now. In-process tasks count as a slot
    /// here as they do in SQLite mode, so one definition behaves the same on both stores.
    func claimLimit() -> Int {
        let freeSlots = configuration.maxTasks - running.count
        guard freeSlots > 0 else { return 0 }
        let held = processes.count - fleet.releaseAfterCommit.count
        return max(1, configuration.maxTasks - held)
    }

    /// Intake of a shared store claims a new process only when a slot is free for it (claim on
    /// intake); the others are handed to the fleet right after their commit.
    /// `--once` keeps everything it accepts (it runs it to the end before it exits), unless it
    /// runs no task at all (`--max-tasks 0`: it hands everything to the fleet).
    func noteAccepted(_ processID: String) {
        guard coordination.sharesWork, !configuration.once || configuration.maxTasks == 0 else { return }
        let held = processes.count - fleet.releaseAfterCommit.count - 1
        if held >= configuration.maxTasks || fleet.fenced {
            fleet.releaseAfterCommit.insert(processID)
        }
    }

    /// Hands the processes accepted beyond capacity to the fleet, once committed. When the
    /// store refuses, they stay here and run here.
    func releaseExcess() async {
        guard !fleet.releaseAfterCommit.isEmpty else { return }
        let ids = fleet.releaseAfterCommit.filter { id in processes[id].map { !$0.isNew && !$0.isDirty } ?? false }
        guard !ids.isEmpty else { return }
        fleet.releaseAfterCommit.subtract(ids)
        do {
            try await coordination.release(Array(ids).sorted())
            for id in ids { processes.removeValue(forKey: id) }
        } catch {
            logger.warning(
                "cannot hand \(ids.count) accepted process(es) to the fleet; they run here: \(error.description)")
            touched.formUnion(ids)
        }
    }

    /// The lease is over: nothing of this runner may go on, since another runner may take its
    /// processes over. Stop claiming, stop every task (SIGTERM, SIGKILL half a margin later),
    /// drop every process; a new incarnation starts from a clean slate (SPEC §9 self-fencing).
    func fence(_ end: LeaseEnd) {
        guard !fleet.fenced else { return }
        fleet.fenced = true
        fleet.lease = nil
        let why = end == .lost ? "a renewal found it over" : "its deadline passed without a renewal"
        logger.error(
            "lease_lost: this runner's lease ended (\(why)); stopping \(running.count) task(s) and dropping \(processes.count) process(es)"
        )
        lastError = (Date(), "lease lost: \(why)")
        drop(Set(processes.keys))
    }

    /// Forgets `ids` without writing anything more for them: their tasks are stopped, and the
    /// request files of those never committed stay in inbox/ for the next scan.
    func drop(_ ids: Set<String>) {
        guard !ids.isEmpty else { return }
        for (key, handle) in running where ids.contains(key.processID) { handle.stop(.leaseLost) }
        for (_, key, handle) in launches where ids.contains(key.processID) { handle.stop(.leaseLost) }
        let uncommitted = Set(ids.filter { processes[$0]?.isNew ?? false }.map { "\(layout.inbox)/\($0).json" })
        filesToRemove.removeAll { uncommitted.contains($0) }
        for path in uncommitted { removalOwners.removeValue(forKey: path) }
        // Judged again: scans skip a file pending removal, and these will never be removed by a
        // commit. (Left in `removalPending`, a request accepted but not committed when the lease
        // ended, for instance while a commit failed during a network split, stayed in inbox/
        // untouched until the runner restarted: the frozen-runner and partition tests' flakes.)
        removalPending.subtract(uncommitted)
        if !uncommitted.isEmpty {
            let names = uncommitted.map { String($0.dropFirst(layout.inbox.count + 1)) }.sorted()
            // Taken off the listing when they were judged: back in front of what is left of it
            // (an empty listing is read afresh by the next scan anyway).
            if !inboxListing.isEmpty { inboxListing = (names + inboxListing)[...] }
            scanWanted = true
        }
        for id in ids {
            if let run = processes.removeValue(forKey: id), run.record.status == .running {
                runningProcessesByType[run.record.processType, default: 1] -= 1
            }
        }
        uncommittedIDs.subtract(ids)
        touched.subtract(ids)
        fleet.releaseAfterCommit.subtract(ids)
        fleet.cancelsApplied.subtract(ids)
    }

    /// A commit found processes taken from this runner (fencing token or owner changed): it
    /// kills their task groups, drops them, and says so.
    func lost(_ ids: Set<String>) {
        for id in ids.sorted() {
            logger.warning(
                "lease_lost: another runner holds this process now; its tasks here are stopped",
                metadata: ["process.id": "\(id)"])
        }
        drop(ids)
    }

    /// Cancels asked on another host for processes this runner holds (the flag seen by a commit,
    /// or the owner's notification).
    func applyRemoteCancels(_ ids: some Sequence<String>, now: Date) {
        for id in ids where processes[id] != nil && !fleet.cancelsApplied.contains(id) {
            fleet.cancelsApplied.insert(id)
            let indexes = processes[id]!.requestCancel(now)
            for index in indexes { running[AttemptKey(processID: id, index: index)]?.stop(.cancelled) }
            touched.insert(id)
        }
    }

    /// The end of a graceful stop: what is unfinished goes to the other runners now.
    func leaveFleet() async throws {
        guard coordination.sharesWork else { return }
        do {
            try await coordination.leave()
            if !processes.isEmpty {
                logger.notice("handed \(processes.count) unfinished process(es) to the other runners")
            }
        } catch {
            // Not fatal: the lease expires and the reaper hands them on.
            logger.error(
                "cannot hand the unfinished processes over; they are taken over when the lease expires: \(error.description)"
            )
        }
    }
}
