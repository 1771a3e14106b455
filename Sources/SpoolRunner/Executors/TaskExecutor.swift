import Foundation
import ProcessDefinitions
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs one attempt of one task and says how it ended. Never throws: every failure is an outcome
/// (`spawn_failed`, `timeout`, `exit_status`, ...), because the engine must record it either way.
package struct TaskExecutor: Sendable {
    /// SIGTERM first; SIGKILL when the group is still there after this long (SPEC §5).
    package var killGrace: Duration = .seconds(5)
    /// SIGKILL this long after the SIGTERM of a stop for a lost lease: the task must be dead
    /// before another runner may take its process over (SPEC §9 self-fencing).
    package var fenceKillGrace: Duration = .milliseconds(500)
    /// Where a start that finds the disk full waits (nil: it fails `spawn_failed` at once).
    package var pause: RunnerPause?

    package init(pause: RunnerPause? = nil) {
        self.pause = pause
    }

    /// - Parameter spawned: called once the child exists, with its pid and start ticks, so the
    ///   engine can record them for a later runner's recovery.
    package func run(
        _ launch: TaskLaunch, stop: StopHandle,
        spawned: @escaping @Sendable (Int32, Int64?) -> Void
    ) async -> TaskOutcome {
        switch launch.action {
        case .sleep(let duration):
            return await sleep(duration, launch: launch, stop: stop)
        case .command(let executable, let arguments):
            return await command(executable, arguments, launch: launch, stop: stop, spawned: spawned)
        }
    }

    // MARK: - sleep:

    private func sleep(_ duration: Duration, launch: TaskLaunch, stop: StopHandle) async -> TaskOutcome {
        let limit = launch.timeout.map { Swift.min($0, duration) } ?? duration
        let (stops, stopped) = AsyncStream<StopHandle.Reason>.makeStream(bufferingPolicy: .bufferingNewest(1))
        stop.onStop { reason in stopped.yield(reason) }
        // The first of: the wait is over, or a stop came.
        let reason = await withTaskGroup(of: StopHandle.Reason?.self) { group in
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            group.addTask {
                var iterator = stops.makeAsyncIterator()
                return await iterator.next()
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            stopped.finish()
            return first
        }
        if let reason { return Self.stopped(reason, launch: launch) }
        if limit < duration {
            return TaskOutcome(failure: Self.timeoutFailure(launch))
        }
        return TaskOutcome(exitCode: 0)
    }

    // MARK: - run: and shell:

    private func command(
        _ executable: String, _ arguments: [String], launch: TaskLaunch, stop: StopHandle,
        spawned: @escaping @Sendable (Int32, Int64?) -> Void
    ) async -> TaskOutcome {
        let logFD: Int32
        let inputFD: Int32
        switch await prepareFiles(launch, stop: stop) {
        case .success(let descriptors): (logFD, inputFD) = descriptors
        case .failure(let outcome): return outcome.outcome
        }
        defer { close(logFD) }

        // Standard output goes through a pipe of our own, read by an `OutputPump` that can stop
        // reading once the task's process has exited (see `supervise`).
        var outputEnds: [Int32] = [0, 0]
        guard pipe(&outputEnds) == 0 else {
            close(inputFD)
            return TaskOutcome(
                failure: FailureInfo(
                    code: .spawnFailed, message: "cannot create the output pipe: \(String(cString: strerror(errno)))",
                    task: launch.taskName))
        }
        _ = fcntl(outputEnds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(outputEnds[1], F_SETFD, FD_CLOEXEC)
        let pump = OutputPump(descriptor: outputEnds[0], logFD: logFD) { [pause] code in
            guard let reason = PauseReason(errno: code) else { return }
            pause?.raise(
                .taskOutput, reason, path: launch.logFile,
                message:
                    "cannot write the log \(launch.logFile) of task '\(launch.taskName)' of process \(launch.processID): \(String(cString: strerror(code))) (its output is still read and its last line kept)"
            )
        }

        var options = PlatformOptions()
        // Its own process group: a timeout or cancel signals the task and everything it started.
        options.processGroupID = 0
        let timedOut = Flag()
        let killGrace = self.killGrace
        let fenceKillGrace = self.fenceKillGrace
        CrashPoint.step("spawn")
        do {
            let result = try await Subprocess.run(
                .path(FilePath(executable)),
                arguments: Arguments(arguments),
                // swift-subprocess passes raw entries to execve as they are: each needs its NUL.
                environment: .custom(launch.environment.map { Array($0.utf8) + [0] }),
                workingDirectory: FilePath(launch.workDirectory),
                platformOptions: options,
                input: .fileDescriptor(FileDescriptor(rawValue: inputFD), closeAfterSpawningProcess: true),
                output: .fileDescriptor(FileDescriptor(rawValue: outputEnds[1]), closeAfterSpawningProcess: true),
                error: .fileDescriptor(FileDescriptor(rawValue: logFD), closeAfterSpawningProcess: false)
            ) { execution -> OutputTail in
                let pid = execution.processIdentifier.value
                spawned(pid, ProcessInspector.startTicks(of: pid))
                return await Self.supervise(
                    pump, pid: pid, pidfd: execution.processIdentifier.processDescriptor,
                    timeout: launch.timeout, killGrace: killGrace, fenceKillGrace: fenceKillGrace, stop: stop,
                    timedOut: timedOut)
            }
            let output = result.closureResult.outputObject
            switch result.terminationStatus {
            case .exited(let code):
                if let reason = stop.reason { return Self.stopped(reason, launch: launch, exitCode: Int(code)) }
                if timedOut.isSet {
                    return TaskOutcome(exitCode: Int(code), failure: Self.timeoutFailure(launch))
                }
                if code == 0 { return TaskOutcome(exitCode: 0, output: output) }
                return TaskOutcome(
                    exitCode: Int(code), output: output,
                    failure: FailureInfo(
                        code: .exitStatus, message: "exited with status \(code); see \(launch.logFile)",
                        task: launch.taskName))
            case .signaled(let signal):
                if let reason = stop.reason { return Self.stopped(reason, launch: launch, exitCode: 128 + Int(signal)) }
                if timedOut.isSet {
                    return TaskOutcome(exitCode: 128 + Int(signal), failure: Self.timeoutFailure(launch))
                }
                return TaskOutcome(
                    exitCode: 128 + Int(signal),
                    failure: FailureInfo(
                        code: .exitStatus, message: "killed by signal \(signal); see \(launch.logFile)",
                        task: launch.taskName))
            }
        } catch {
            // Nothing was spawned, or the spawn failed half-way: the write end is closed, so
            // the pump ends at once.
            pump.stop()
            _ = await pump.finished()
            Self.note(logFD, "spoolrunner: cannot start \(executable): \(error)")
            return TaskOutcome(
                failure: FailureInfo(
                    code: .spawnFailed, message: "cannot start \(executable): \(error)", task: launch.taskName))
        }
    }

    /// Follows one running child until its own process exits: its standard output flows to the
    /// log through `pump`, its timeout is enforced, and a stop becomes SIGTERM, then SIGKILL
    /// after `killGrace`, to its whole process group.
    ///
    /// It waits for the process, not for its output pipe: a task may close its output early and
    /// must still time out, and a process that escaped the group (`setsid`) and keeps the pipe
    /// open must not hold the attempt. When the process has exited, what is left of its group is
    /// killed (like systemd's KillMode=control-group; the group id cannot be reused yet, the
    /// leader being unreaped), the pipe gets a moment to deliver what was written, and reading
    /// stops.
    static func supervise(
        _ pump: OutputPump, pid: Int32, pidfd: Int32, timeout: Duration?,
        killGrace: Duration, fenceKillGrace: Duration, stop: StopHandle, timedOut: Flag
    ) async -> OutputTail {
        let (termination, terminate) = AsyncStream<Duration>.makeStream(bufferingPolicy: .bufferingNewest(1))
        stop.onStop { reason in terminate.yield(reason == .leaseLost ? fenceKillGrace : killGrace) }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await grace in termination {
                    kill(-pid, SIGTERM)
                    try? await Task.sleep(for: grace)
                    if !Task.isCancelled { kill(-pid, SIGKILL) }
                    break
                }
            }
            if let timeout {
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled {
                        timedOut.set()
                        terminate.yield(killGrace)
                    }
                }
            }
            await ProcessExitWatcher.shared.waitForExit(pid: pid, pidfd: pidfd)
            kill(-pid, SIGKILL)
            group.addTask {
                try? await Task.sleep(for: outputDrainTime)
                if !Task.isCancelled { pump.stop() }
            }
            let tail = await pump.finished()
            group.cancelAll()
            terminate.finish()
            return tail
        }
    }

    /// How long the output pipe may stay open after the task's process exited before reading
    /// stops: what the task wrote is already in the pipe; a holder still writing escaped it.
    static let outputDrainTime: Duration = .milliseconds(200)

    // MARK: - Helpers

    /// Standard input, complete before the spawn, so nothing has to keep feeding the child: a
    /// pipe already holding the whole document when it fits in the pipe buffer (the usual case,
    /// and no inode to create), otherwise an unlinked file.
    static func standardInputDescriptor(_ data: Data, in directory: SpoolDirectory?, near path: String) -> Int32? {
        if data.count <= 60 * 1024 {
            var ends: [Int32] = [0, 0]
            // pipe2 is not exported to Swift; swift-subprocess closes every descriptor above 2
            // in its children anyway (closefrom), and FD_CLOEXEC covers anything else.
            if pipe(&ends) == 0 {
                _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
                _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
                let ok = data.withUnsafeBytes { DurableWrite.writeAll(ends[1], $0) }
                close(ends[1])
                if ok { return ends[0] }
                close(ends[0])
            }
        }
        let suffix = ".stdin.\(UInt32.random(in: 0...UInt32.max))"
        let (base, relative) =
            directory.map { ($0.descriptor, (path as NSString).lastPathComponent + suffix) } ?? (
                AT_FDCWD, path + suffix
            )
        let fd = openat(base, relative, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        unlinkat(base, relative, 0)
        let ok = data.withUnsafeBytes { DurableWrite.writeAll(fd, $0) }
        guard ok, lseek(fd, 0, SEEK_SET) == 0 else {
            let code = errno
            close(fd)
            errno = code
            return nil
        }
        return fd
    }

    /// mkdir, and on ENOENT the parent too (`work/` or `logs/` deleted under the runner).
    /// - Returns: the errno of the failure, or nil.
    static func makeDirectory(_ path: String) -> Int32? {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return nil }
        guard errno == ENOENT else { return errno }
        let parent = (path as NSString).deletingLastPathComponent
        if mkdir(parent, 0o755) != 0 && errno != EEXIST { return errno }
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return nil }
        return errno
    }

    static func timeoutFailure(_ launch: TaskLaunch) -> FailureInfo {
        let limit = launch.timeout.map { DurationParser.format($0) } ?? "?"
        return FailureInfo(code: .timeout, message: "ran longer than its timeout of \(limit)", task: launch.taskName)
    }

    static func stopped(_ reason: StopHandle.Reason, launch: TaskLaunch, exitCode: Int? = nil) -> TaskOutcome {
        switch reason {
        case .cancelled:
            return TaskOutcome(
                exitCode: exitCode,
                failure: FailureInfo(code: .cancelled, message: "cancelled on request", task: launch.taskName))
        case .processTimeout:
            return TaskOutcome(
                exitCode: exitCode,
                failure: FailureInfo(
                    code: .timeout, message: "stopped because the process ran past its timeout", task: launch.taskName)
            )
        case .shutdown:
            return TaskOutcome(
                exitCode: exitCode,
                failure: FailureInfo(
                    code: .interrupted, message: "stopped because the runner shut down", task: launch.taskName))
        case .leaseLost:
            return TaskOutcome(
                exitCode: exitCode,
                failure: FailureInfo(
                    code: .interrupted, message: "stopped because the runner lost its lease on the process",
                    task: launch.taskName))
        }
    }

    static func note(_ fd: Int32, _ line: String) {
        let text = Array((line + "\n").utf8)
        _ = text.withUnsafeBytes { DurableWrite.writeAll(fd, $0) }
    }
}
