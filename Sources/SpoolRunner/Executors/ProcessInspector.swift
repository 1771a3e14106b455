import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about a pid: whether it still runs and whether it is still the process
/// we started (pids are reused), read from `/proc`.
public enum ProcessInspector {
    /// Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or nil when
    /// there is no such process.
    public static func startTicks(of pid: Int32) -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        return Int64(fields[19])
    }

    /// Whether `pid` has exited but is not yet reaped (or is gone), without reaping it.
    static func hasExited(_ pid: Int32) -> Bool {
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if result != 0 { return true }  // ECHILD: already reaped
        return info._sifields._sigchld.si_pid == pid
    }

    /// Pids of processes whose environment holds every one of `entries` (`NAME=value`): finds a
    /// task's processes, children included, even when the runner that started them died before
    /// it could record their pid.
    public static func processes(withEnvironment entries: [String]) -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let wanted = entries.map { Array($0.utf8) }
        var found: [Int32] = []
        for name in names {
            guard let pid = Int32(name), pid != getpid() else { continue }
            guard let data = FileManager.default.contents(atPath: "/proc/\(name)/environ") else { continue }
            let variables = data.split(separator: 0, omittingEmptySubsequences: true).map { Array($0) }
            if wanted.allSatisfy({ entry in variables.contains(entry) }) {
                found.append(pid)
            }
        }
        return found
    }

    /// Kills what is left of a dead runner's task: its recorded process group when the pid still
    /// belongs to it, and any process that carries the task's environment. Waits (bounded) until
    /// they are gone, so that a task never runs twice at the same time.
    public static func killLeftovers(pid: Int32?, startTicks: Int64?, environment: [String]) {
        var victims: [Int32] = []
        if let pid, let startTicks, Self.startTicks(of: pid) == startTicks {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            victims.append(pid)
        }
        for other in processes(withEnvironment: environment) {
            kill(other, SIGKILL)
            victims.append(other)
        }
        // SIGKILL is not instant; a process is gone once /proc no longer lists it or it is a zombie.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, victims.contains(where: { isAlive($0) }) {
            usleep(10_000)
        }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return false }
        let state = text[text.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }
}
