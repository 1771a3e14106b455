import Foundation
import Logging
import ProcessDefinitions
import Subprocess
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Runs one attempt of one task and says how it ended. Never throws: every failure is an outcome
/// (`spawn_failed`, `timeout`, `exit_status`, ...), because the engine must record it either way.
public struct TaskExecutor: Sendable {
    /// SIGTERM first; SIGKILL when the group is still there after this long (SPEC §5).
    public var killGrace: Duration = .seconds(5)

    public init() {}

    /// - Parameter spawned: called once the child exists, with its pid and start ticks, so the
    ///   engine can record them for a later runner's recovery.
    public func run(
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
        let wake = AsyncStream<StopHandle.Reason?>.makeStream()
        stop.onStop { reason in wake.continuation.yield(reason) }
        let timer = Task {
            try? await Task.sleep(for: limit)
            wake.continuation.yield(nil)
        }
        var iterator = wake.stream.makeAsyncIterator()
        let reason = await iterator.next() ?? nil
        timer.cancel()
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
        // Made here rather than by the engine: creating inodes is slow on some filesystems, and
        // this runs beside the engine instead of in its loop.
        Self.makeDirectory(launch.workDirectory)
        Self.makeDirectory((launch.logFile as NSString).deletingLastPathComponent)
        let logFD = open(launch.logFile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else {
            return TaskOutcome(failure: FailureInfo(code: "spawn_failed", message: "cannot open log file \(launch.logFile): \(String(cString: strerror(errno)))", task: launch.taskName))
        }
        defer { close(logFD) }
        guard let inputFD = Self.standardInputDescriptor(launch.standardInput, near: launch.logFile) else {
            return TaskOutcome(failure: FailureInfo(code: "spawn_failed", message: "cannot prepare standard input: \(String(cString: strerror(errno)))", task: launch.taskName))
        }

        var options = PlatformOptions()
        // Its own process group: a timeout or cancel signals the task and everything it started.
        options.processGroupID = 0
        let timedOut = Flag()
        let killGrace = self.killGrace
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
                output: .sequence,
                error: .fileDescriptor(FileDescriptor(rawValue: logFD), closeAfterSpawningProcess: false)
            ) { execution -> OutputTail in
                let pid = execution.processIdentifier.value
                spawned(pid, ProcessInspector.startTicks(of: pid))
                let terminator = GroupTerminator(groupID: pid, grace: killGrace)
                stop.onStop { _ in terminator.terminate() }
                return await withTaskGroup(of: Void.self) { group in
                    if let timeout = launch.timeout {
                        group.addTask {
                            try? await Task.sleep(for: timeout)
                            guard !Task.isCancelled else { return }
                            timedOut.set()
                            terminator.terminate()
                        }
                    }
                    // A background child that keeps stdout open would hold the read below
                    // forever after the task's own process exits: once it has exited, the rest
                    // of its group is killed (like systemd's KillMode=control-group).
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(250))
                            if ProcessInspector.hasExited(pid) {
                                try? await Task.sleep(for: .milliseconds(250))
                                if !Task.isCancelled { kill(-pid, SIGKILL) }
                                return
                            }
                        }
                    }
                    var tail = OutputTail()
                    do {
                        for try await buffer in execution.standardOutput {
                            buffer.withUnsafeBytes { bytes in
                                _ = AtomicFile.writeAll(logFD, bytes)
                                tail.append(bytes)
                            }
                        }
                    } catch {
                        Self.note(logFD, "spoolrunner: reading standard output failed: \(error)")
                    }
                    group.cancelAll()
                    terminator.finished()
                    return tail
                }
            }
            let output = result.closureResult.outputObject
            switch result.terminationStatus {
            case .exited(let code):
                if let reason = stop.reason { return Self.stopped(reason, launch: launch, exitCode: Int(code)) }
                if timedOut.isSet {
                    return TaskOutcome(exitCode: Int(code), failure: Self.timeoutFailure(launch))
                }
                if code == 0 { return TaskOutcome(exitCode: 0, output: output) }
                return TaskOutcome(exitCode: Int(code), output: output, failure: FailureInfo(
                    code: "exit_status", message: "exited with status \(code); see \(launch.logFile)", task: launch.taskName))
            case .signaled(let signal):
                if let reason = stop.reason { return Self.stopped(reason, launch: launch, exitCode: 128 + Int(signal)) }
                if timedOut.isSet {
                    return TaskOutcome(exitCode: 128 + Int(signal), failure: Self.timeoutFailure(launch))
                }
                return TaskOutcome(exitCode: 128 + Int(signal), failure: FailureInfo(
                    code: "exit_status", message: "killed by signal \(signal); see \(launch.logFile)", task: launch.taskName))
            }
        } catch {
            Self.note(logFD, "spoolrunner: cannot start \(executable): \(error)")
            return TaskOutcome(failure: FailureInfo(
                code: "spawn_failed", message: "cannot start \(executable): \(error)", task: launch.taskName))
        }
    }

    // MARK: - Helpers

    /// Standard input, complete before the spawn, so nothing has to keep feeding the child: a
    /// pipe already holding the whole document when it fits in the pipe buffer (the usual case,
    /// and no inode to create), otherwise an unlinked file.
    static func standardInputDescriptor(_ data: Data, near path: String) -> Int32? {
        if data.count <= 60 * 1024 {
            var ends: [Int32] = [0, 0]
            // pipe2 is not exported to Swift; swift-subprocess closes every descriptor above 2
            // in its children anyway (closefrom), and FD_CLOEXEC covers anything else.
            if pipe(&ends) == 0 {
                _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
                _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
                let ok = data.withUnsafeBytes { AtomicFile.writeAll(ends[1], $0) }
                close(ends[1])
                if ok { return ends[0] }
                close(ends[0])
            }
        }
        let name = "\(path).stdin.\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        unlink(name)
        let ok = data.withUnsafeBytes { AtomicFile.writeAll(fd, $0) }
        guard ok, lseek(fd, 0, SEEK_SET) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func makeDirectory(_ path: String) {
        if mkdir(path, 0o755) != 0 && errno == ENOENT {
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    static func timeoutFailure(_ launch: TaskLaunch) -> FailureInfo {
        let limit = launch.timeout.map { DurationParser.format($0) } ?? "?"
        return FailureInfo(code: "timeout", message: "ran longer than its timeout of \(limit)", task: launch.taskName)
    }

    static func stopped(_ reason: StopHandle.Reason, launch: TaskLaunch, exitCode: Int? = nil) -> TaskOutcome {
        switch reason {
        case .cancelled:
            return TaskOutcome(exitCode: exitCode, failure: FailureInfo(code: "cancelled", message: "cancelled on request", task: launch.taskName))
        case .processTimeout:
            return TaskOutcome(exitCode: exitCode, failure: FailureInfo(code: "timeout", message: "stopped because the process ran past its timeout", task: launch.taskName))
        case .shutdown:
            return TaskOutcome(exitCode: exitCode, failure: FailureInfo(code: "interrupted", message: "stopped because the runner shut down", task: launch.taskName))
        }
    }

    static func note(_ fd: Int32, _ line: String) {
        let text = Array((line + "\n").utf8)
        _ = text.withUnsafeBytes { AtomicFile.writeAll(fd, $0) }
    }
}

/// SIGTERM to a process group, then SIGKILL after a grace period unless the group's leader has
/// been reaped first (after which its group id could be reused).
final class GroupTerminator: Sendable {
    private let groupID: Int32
    private let grace: Duration
    private let state = Mutex<(terminating: Bool, finished: Bool)>((false, false))

    init(groupID: Int32, grace: Duration) {
        self.groupID = groupID
        self.grace = grace
    }

    func terminate() {
        let first = state.withLock { state -> Bool in
            guard !state.terminating, !state.finished else { return false }
            state.terminating = true
            return true
        }
        guard first else { return }
        kill(-groupID, SIGTERM)
        let groupID = self.groupID
        let grace = self.grace
        Task { [weak self] in
            try? await Task.sleep(for: grace)
            guard let self, !self.state.withLock({ $0.finished }) else { return }
            kill(-groupID, SIGKILL)
        }
    }

    /// The task's output is closed and its leader about to be reaped: no more signals.
    func finished() {
        state.withLock { $0.finished = true }
    }
}

/// A one-way boolean shared between an attempt's watchers.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
