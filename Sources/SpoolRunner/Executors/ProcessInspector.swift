import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about a pid: whether it still runs and whether it is still the process
/// we started (pids are reused), read from `/proc`.
package enum ProcessInspector {
    /// Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or nil when
    /// there is no such process.
    package static func startTicks(of pid: Int32) -> Int64? {
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
        // ECHILD: not (or no longer) our child, so it was reaped: gone, unless /proc still
        // shows a live process under that pid.
        if result != 0 { return errno == ECHILD ? !isAlive(pid) : false }
        return info._sifields._sigchld.si_pid == pid
    }

    /// Pids of processes whose environment holds every one of `entries` (`NAME=value`): finds a
    /// task's processes, children included, even when the runner that started them died before
    /// it could record their pid.
    package static func processes(withEnvironment entries: [String]) -> [Int32] {
        processes(matchingAny: [entries]).map(\.pid)
    }

    /// One pass over /proc: every process whose environment holds all the entries of one of
    /// `sets`, with the index of the set it matched.
    static func processes(matchingAny sets: [[String]]) -> [(pid: Int32, set: Int)] {
        let wanted = sets.map { $0.map { Array($0.utf8) } }.filter { !$0.isEmpty }
        guard !wanted.isEmpty, let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
            return []
        }
        var found: [(pid: Int32, set: Int)] = []
        for name in names {
            guard let pid = Int32(name), pid != getpid() else { continue }
            guard let data = FileManager.default.contents(atPath: "/proc/\(name)/environ") else { continue }
            let variables = Set(data.split(separator: 0, omittingEmptySubsequences: true).map { Array($0) })
            if let set = wanted.firstIndex(where: { $0.allSatisfy(variables.contains) }) {
                found.append((pid, set))
            }
        }
        return found
    }

    /// What is left of a dead runner's task: its recorded process (group leader) and start
    /// time, and the environment entries that only its processes carry.
    package struct Leftover: Sendable {
        package var pid: Int32?
        package var startTicks: Int64?
        package var environment: [String]

        package init(pid: Int32?, startTicks: Int64?, environment: [String]) {
            self.pid = pid
            self.startTicks = startTicks
            self.environment = environment
        }
    }

    /// Kills what is left of a dead runner's tasks: each recorded process group when the pid
    /// still belongs to it, and any process that carries a task's environment (which finds
    /// processes that escaped the group with `setsid`). One pass over /proc for all of them.
    /// Waits (bounded) until they are gone, so that a task never runs twice at the same time.
    package static func killLeftovers(_ leftovers: [Leftover]) {
        guard !leftovers.isEmpty else { return }
        var victims: [Int32] = []
        for leftover in leftovers {
            if let pid = leftover.pid, let startTicks = leftover.startTicks, Self.startTicks(of: pid) == startTicks {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                victims.append(pid)
            }
        }
        for match in processes(matchingAny: leftovers.map(\.environment)) {
            kill(match.pid, SIGKILL)
            victims.append(match.pid)
        }
        // SIGKILL is not instant; a process is gone once /proc no longer lists it or it is a zombie.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, victims.contains(where: { isAlive($0) }) {
            usleep(10_000)
        }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return false }
        let state = text[text.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }
}
