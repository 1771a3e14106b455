@testable import SpoolRunner

extension ProcessEngine {
    /// What the engine holds now, for a test that gave up waiting for it to end: which of
    /// `isDone`'s conditions still keeps it running.
    func diagnosis() -> String {
        let live = processes.values.sorted { $0.processID < $1.processID }.prefix(10).map {
            "\($0.processID): \($0.record.status.rawValue) [\($0.tasks.map(\.status.rawValue).joined(separator: ","))]"
        }
        return """
            stopping=\(stopping) initialScanDone=\(initialScanDone) processes=\(processes.count) \
            running=\(running.count) commitInFlight=\(commitInFlight != nil) \
            uncommitted=\(uncommittedIDs.count) rejections=\(pendingRejections.count) launches=\(launches.count) filesToRemove=\(filesToRemove.count) \
            removalPending=\(removalPending.count) inboxListing=\(inboxListing.count) \
            unsettled=\(unsettled.count) intakeHeldAtCap=\(intakeHeldAtCap) \
            deferredUntilCommit=\(deferredUntilCommit) paused=\(pause.isPaused) live=\(live)
            """
    }
}
