import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The exit watcher and the sweep under it, with real child processes.
@Suite(.endToEnd) struct ProcessExitWatcherTests {
    /// A child of this process, left unreaped; the caller reaps it.
    static func spawn(_ arguments: [String]) throws -> Int32 {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let result = posix_spawn(&pid, arguments[0], nil, nil, argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        return pid
    }

    /// How `pid` ended, without reaping it (to tell a stray signal from a real bug).
    static func describeExit(_ pid: Int32) -> String {
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if result != 0 { return "waitid: \(String(cString: strerror(errno)))" }
        return
            "si_pid \(info._sifields._sigchld.si_pid) si_code \(info.si_code) si_status \(info._sifields._sigchld.si_status)"
    }

    @Test func withoutAPidfdTheWaitPollsAndLeavesTheChildUnreaped() async throws {
        let pid = try Self.spawn(["/bin/sh", "-c", "sleep 0.2"])
        let watcher = ProcessExitWatcher()
        await watcher.waitForExit(pid: pid, pidfd: -1)
        #expect(ProcessInspector.hasExited(pid))
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid, "still ours to reap")
        #expect(watcher.count == 0)
    }

    @Test func theSweepEndsAWaitWhoseExitEventNeverComes() async throws {
        let pid = try Self.spawn(["/bin/true"])
        // A descriptor that never becomes readable stands for a lost pidfd event.
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let watcher = ProcessExitWatcher()
        let silent = ends[0]
        let waiting = Task { await watcher.waitForExit(pid: pid, pidfd: silent) }
        while !ProcessInspector.hasExited(pid) || watcher.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(watcher.sweep().isEmpty, "one sighting is not enough: the event may be on its way")
        #expect(watcher.sweep() == [pid])
        await waiting.value
        #expect(watcher.count == 0)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        close(ends[0])
        close(ends[1])
    }

    @Test func theSweepLeavesRunningChildrenAlone() async throws {
        let pid = try Self.spawn(["/bin/sleep", "30"])
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let watcher = ProcessExitWatcher()
        let silent = ends[0]
        let waiting = Task { await watcher.waitForExit(pid: pid, pidfd: silent) }
        while watcher.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        for _ in 0..<3 {
            // A sweep may end a wait only for a child that really exited. (In a busy test run a
            // stray signal for a reused pid can kill this child: pid_max is 32768 here.)
            let ended = watcher.sweep()
            if !ended.isEmpty {
                #expect(ended == [pid] && ProcessInspector.hasExited(pid), "\(Self.describeExit(pid))")
            }
        }
        kill(pid, SIGKILL)
        while !ProcessInspector.hasExited(pid) { try await Task.sleep(for: .milliseconds(5)) }
        _ = watcher.sweep()
        _ = watcher.sweep()
        await waiting.value
        #expect(watcher.count == 0, "two sightings after the exit end the wait")
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        close(ends[0])
        close(ends[1])
    }
}
