import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Who a runner is, as recorded in the `runners` table.
///
/// `machineID` + `bootID` say whether a previous incarnation ran on this very machine since its
/// last boot; only then can its pid (with its start time, so a reused pid is not mistaken for
/// it) tell whether it is gone.
public struct RunnerIdentity: Sendable, Equatable {
    public var runnerID: String
    public var machineID: String
    public var bootID: String
    public var hostname: String
    public var spool: String
    public var pid: Int32
    public var pidStartTicks: Int64?
    public var version: String
    public var maxTasks: Int
    /// process type → sha256 (hex) of the definition this runner validates it with.
    public var definitions: [String: String]

    public init(
        runnerID: String, machineID: String, bootID: String, hostname: String, spool: String, pid: Int32,
        pidStartTicks: Int64?, version: String, maxTasks: Int, definitions: [String: String] = [:]
    ) {
        self.runnerID = runnerID
        self.machineID = machineID
        self.bootID = bootID
        self.hostname = hostname
        self.spool = spool
        self.pid = pid
        self.pidStartTicks = pidStartTicks
        self.version = version
        self.maxTasks = maxTasks
        self.definitions = definitions
    }

    /// This process on this machine.
    public static func current(
        runnerID: String, spool: String, version: String, maxTasks: Int, definitions: [String: String] = [:]
    ) -> RunnerIdentity {
        func firstLine(_ path: String) -> String {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").first.map(String.init)
                ?? ""
        }
        return RunnerIdentity(
            runnerID: runnerID, machineID: firstLine("/etc/machine-id"),
            bootID: firstLine("/proc/sys/kernel/random/boot_id"), hostname: ProcessInfo.processInfo.hostName,
            spool: spool, pid: getpid(), pidStartTicks: startTicks(of: getpid()), version: version, maxTasks: maxTasks,
            definitions: definitions)
    }

    /// Field 22 of `/proc/PID/stat` (start time in clock ticks since boot), or nil when the
    /// process does not exist.
    public static func startTicks(of pid: Int32) -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces) start at field 3.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        return fields.count > 19 ? Int64(fields[19]) : nil
    }
}
