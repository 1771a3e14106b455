import ArgumentParser
import Foundation
import SpoolRunner
import SpoolStorePostgres

extension ControlTarget {
    /// `cancel|retry ID --store URL`: applied through the fleet's store (SPEC §9), with no spool:
    /// see `PostgresStore.control`. Exit codes as without `--store`: 66 for an unknown id, 65 for
    /// a process in a state the action does nothing in.
    func sendThroughStore(_ action: ControlMessage.Action, _ options: StoreOptions) async throws {
        let processID = id
        let location = (try? options.url().description) ?? "the store"
        let now = Date()
        let result = try await StoreSelection.withControlStore(options) { store in
            try await store.control(processID, action, at: now)
        }
        switch result {
        case .unknown:
            throw fail("no process '\(id)' in store \(location)", ExitStatus.noInput)
        case .notApplicable(let status) where action == .cancel:
            throw fail(
                "\(id) already ended \(status.rawValue); there is nothing to cancel", ExitStatus.dataError)
        case .notApplicable(let status):
            let why = status.isFinal ? "it ended \(status.rawValue)" : "it has not ended (\(status.rawValue))"
            throw fail(
                "\(id) cannot be retried: \(why); only failed or cancelled processes are retried", ExitStatus.dataError)
        case .noDefinition:
            throw fail(
                "\(id) cannot be retried: the store has no definition for it (history copied by `store copy`); submit the request again under a new id",
                ExitStatus.dataError)
        case .askedOwner(let runner):
            print("cancel requested for \(id); runner \(runner) holds it and stops its tasks")
        case .applied(let status):
            switch action {
            case .retry: print("\(id) is pending again; the next runner with a free task slot runs it")
            default:
                print(
                    status.isFinal
                        ? "\(id) cancelled" : "cancel recorded for \(id); the runner that claims it next ends it")
            }
        }
        guard wait else { return }
        try await followStore(action, options, since: now)
    }

    /// `--wait` with `--store`: polls the store until the process ends after `since`.
    func followStore(_ action: ControlMessage.Action, _ options: StoreOptions, since: Date) async throws {
        let processID = id
        try await StoreSelection.postgres(options).withReader { store in
            var lastStatus: ProcessStatus?
            while true {
                guard let record = try await store.process(processID) else {
                    throw StoreError(
                        .notFound, location: store.location, operation: "follow",
                        message: "process '\(processID)' is no longer in the store (pruned)")
                }
                if record.status != lastStatus {
                    lastStatus = record.status
                    print("\(processID): \(record.status.rawValue)")
                }
                if record.status.isFinal, record.updatedAt >= since.addingTimeInterval(-0.001) {
                    let wanted: ProcessStatus = action == .cancel ? .cancelled : .success
                    if record.status == wanted { return }
                    if let error = record.error { print("\(processID): \(error.code): \(error.message)") }
                    throw ExitStatus.failed
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
