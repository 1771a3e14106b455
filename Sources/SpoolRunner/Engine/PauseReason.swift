import SpoolStore

#if canImport(Glibc)
import Glibc
#endif

/// Why the runner holds back intake and task starts: a condition it waits out instead of
/// exiting or failing work (runner.json `paused.reason`).
package enum PauseReason: String, Sendable {
    /// Another connection holds the history store's write lock past the busy timeout.
    case storeBusy = "store_busy"
    /// The history store cannot grow: SQLITE_FULL, or a write of it failed with ENOSPC/EDQUOT.
    case storeFull = "store_full"
    /// ENOSPC: no free block, or no free inode, on the filesystem of a file the runner writes.
    case diskFull = "disk_full"
    /// EDQUOT: the runner's user is over its disk quota.
    case quotaExceeded = "quota_exceeded"

    /// The reason an errno stands for, or nil when the failure is not one to wait out.
    package init?(errno code: Int32) {
        switch code {
        case ENOSPC: self = .diskFull
        case EDQUOT: self = .quotaExceeded
        default: return nil
        }
    }

    /// The reason a failed spool write stands for: its system call's errno.
    package init?(_ error: SpoolError) {
        guard let errno = error.errno else { return nil }
        self.init(errno: errno.rawValue)
    }

    /// The reason a failed store write stands for, or nil when it is not transient (a corrupt
    /// or unreadable store, a constraint broken by a bug): those still stop the runner.
    package init?(storeError error: StoreError) {
        switch error.code {
        case .busy: self = .storeBusy
        case .full: self = .storeFull
        default: return nil
        }
    }
}

/// What met the condition; each source clears its own condition when its next write works.
package enum PauseSource: String, Sendable, CaseIterable {
    /// A commit of the history store.
    case store
    /// A status file in `outbox/`.
    case statusFiles = "status_files"
    /// A task's work directory, log file or standard input, before its spawn.
    case taskStart = "task_start"
    /// A running task's log file.
    case taskOutput = "task_output"
    /// The runner's own spool files: `runner.json`, `rejected/`.
    case spoolFiles = "spool_files"

    /// Sources with no write of their own to retry: a probe file tells when they clear.
    var clearsByProbe: Bool { self == .taskOutput || self == .spoolFiles }
}
