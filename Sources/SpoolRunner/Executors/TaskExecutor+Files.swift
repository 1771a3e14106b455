import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension TaskExecutor {
    /// A task that cannot start: its outcome, recorded as the attempt's end.
    struct NotStarted: Error {
        var outcome: TaskOutcome
    }

    /// Creates the task's work and log directories, opens its log file and its standard input.
    ///
    /// Made here rather than by the engine: creating inodes is slow on some filesystems, and this
    /// runs beside the engine instead of in its loop. A full disk (ENOSPC, blocks or inodes) or
    /// quota (EDQUOT) is waited out with backoff, the runner paused meanwhile: the task's start
    /// is already committed, so it waits to spawn instead of failing `spawn_failed`. Any other
    /// failure is `spawn_failed`, with the real error.
    /// - Returns: the log and standard-input descriptors (the caller closes the log).
    func prepareFiles(_ launch: TaskLaunch, stop: StopHandle) async -> Result<(Int32, Int32), NotStarted> {
        var backoff = Backoff(initial: 0.25, maximum: 5)
        var waiting = false
        while true {
            let attempt = Self.openFiles(launch)
            switch attempt {
            case .success:
                if waiting { pause?.clear(.taskStart) }
                return attempt.mapError {
                    NotStarted(
                        outcome: TaskOutcome(
                            failure: FailureInfo(code: .spawnFailed, message: $0.message, task: launch.taskName)))
                }
            case .failure(let failure):
                guard let pause, let reason = PauseReason(errno: failure.code) else {
                    return .failure(
                        NotStarted(
                            outcome: TaskOutcome(
                                failure: FailureInfo(
                                    code: .spawnFailed, message: failure.message, task: launch.taskName))))
                }
                waiting = true
                pause.raise(
                    .taskStart, reason, path: failure.path,
                    message:
                        "task '\(launch.taskName)' of process \(launch.processID) waits to start: \(failure.message)")
                if let reason = stop.reason {
                    return .failure(NotStarted(outcome: Self.stopped(reason, launch: launch)))
                }
                try? await Task.sleep(for: .seconds(backoff.next()))
                if let reason = stop.reason {
                    return .failure(NotStarted(outcome: Self.stopped(reason, launch: launch)))
                }
            }
        }
    }

    /// One failed step of `openFiles`: which path, which errno, and the message.
    struct FileFailure: Error {
        var path: String
        var code: Int32
        var message: String
    }

    /// In a spool (`launch.layout` set), `work/<id>/` and `logs/<id>/` are opened from the spool
    /// root without following links: a symlink planted at `logs/<id>` or `work/<id>` is replaced
    /// by a real directory (its target untouched), and the log and standard-input files are
    /// created inside the open directory with `O_NOFOLLOW` and explicit modes.
    static func openFiles(_ launch: TaskLaunch) -> Result<(Int32, Int32), FileFailure> {
        func failure(_ path: String, _ what: String, _ code: Int32) -> Result<(Int32, Int32), FileFailure> {
            .failure(
                FileFailure(path: path, code: code, message: "\(what) \(path): \(String(cString: strerror(code)))"))
        }
        let logName = (launch.logFile as NSString).lastPathComponent
        let logFD: Int32
        var logDirectory: SpoolDirectory?
        if let layout = launch.layout {
            do {
                _ = try layout.processDirectory(.work, launch.processID)
                logDirectory = try layout.processDirectory(.logs, launch.processID)
            } catch {
                return .failure(
                    FileFailure(
                        path: error.path, code: error.errno?.rawValue ?? EPERM,
                        message: "cannot prepare \(error.description)"))
            }
            logFD = openat(
                logDirectory!.descriptor, logName, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                0o644)
        } else {
            if let code = makeDirectory(launch.workDirectory) {
                return failure(launch.workDirectory, "cannot create work directory", code)
            }
            let directory = (launch.logFile as NSString).deletingLastPathComponent
            if let code = makeDirectory(directory) {
                return failure(directory, "cannot create log directory", code)
            }
            logFD = open(launch.logFile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        }
        guard logFD >= 0 else { return failure(launch.logFile, "cannot open log file", errno) }
        // Explicit, whatever the umask.
        fchmod(logFD, 0o644)
        guard let inputFD = standardInputDescriptor(launch.standardInput, in: logDirectory, near: launch.logFile) else {
            let code = errno
            close(logFD)
            return failure(launch.logFile + ".stdin", "cannot prepare standard input near", code)
        }
        return .success((logFD, inputFD))
    }
}
