import Foundation

/// One row of `spoolrunner runners`: a runner as the fleet sees it.
public struct RunnerState: Sendable, Equatable, Encodable {
    /// Its liveness, judged against its own lease on the database clock.
    public enum Health: String, Sendable, Encodable {
        /// Renewed within the last two renewal intervals.
        case healthy
        /// Alive, unexpired, but it missed a renewal: slow, loaded, or cut off.
        case late
        /// Alive on paper, its lease over: the reaper will mark it dead.
        case expired
        case dead, stopped
    }

    public var runnerID: String
    public var hostname: String
    public var pid: Int
    public var version: String
    public var incarnation: Int64
    public var startedAt: String
    public var heartbeatAgeSeconds: Double
    public var expiresAt: String
    public var health: Health
    public var leader: Bool
    public var ownedProcesses: Int
    public var runningTasks: Int
    public var maxTasks: Int
    /// process type → definition sha256 (hex): drift between hosts shows here.
    public var definitions: [String: String]

    enum CodingKeys: String, CodingKey {
        case runnerID = "runner_id"
        case hostname, pid, version, incarnation
        case startedAt = "started_at"
        case heartbeatAgeSeconds = "heartbeat_age_seconds"
        case expiresAt = "expires_at"
        case health, leader
        case ownedProcesses = "owned_processes"
        case runningTasks = "running_tasks"
        case maxTasks = "max_tasks"
        case definitions
    }
}
