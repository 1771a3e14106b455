import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Whether a runner holds a spool's `runner.lock` right now, seen from a client.
///
/// Clients (`status`, `submit --wait`) must not take the lock to find out, even for a moment: a
/// runner starting in that moment would exit 75. So the kernel's lock table, `/proc/locks`, is
/// read instead: an `FLOCK` on the lock file's device and inode means a live runner (the kernel
/// drops the lock when its holder dies, so there is no stale state). Where `/proc/locks` cannot be
/// read, `runner.json` decides: fresh (< 10 s), not `stopped`, and its pid alive.
package struct RunnerPresence: Sendable, Equatable {
    package var isRunning: Bool
    /// `runner.json`'s `updated_at`, when there is one: when a runner was last seen.
    package var lastSeen: String?

    package static func check(_ layout: SpoolLayout) -> RunnerPresence {
        let heartbeat = Heartbeat.read(layout.heartbeatFile)
        var info = stat()
        guard stat(layout.lockFile, &info) == 0 else {
            return RunnerPresence(isRunning: false, lastSeen: heartbeat?.updatedAt)
        }
        if let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) {
            let key = lockKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            let held = table.split(separator: "\n").contains { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                return fields.count >= 6 && fields[1] == "FLOCK" && fields[5] == key
            }
            return RunnerPresence(isRunning: held, lastSeen: heartbeat?.updatedAt)
        }
        guard let heartbeat, heartbeat.state != "stopped",
            let updated = Timestamp.parse(heartbeat.updatedAt), Date().timeIntervalSince(updated) < 10,
            kill(pid_t(heartbeat.pid), 0) == 0 || errno == EPERM
        else {
            return RunnerPresence(isRunning: false, lastSeen: heartbeat?.updatedAt)
        }
        return RunnerPresence(isRunning: true, lastSeen: heartbeat.updatedAt)
    }

    /// `MAJ:MIN:INODE` as the kernel prints it in `/proc/locks` (`%02x:%02x:%lu`).
    static func lockKey(device: UInt64, inode: UInt64) -> String {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        return "\(hex2(major)):\(hex2(minor)):\(inode)"
    }

    private static func hex2(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return text.count < 2 ? "0" + text : text
    }

    /// The few `runner.json` fields a client needs.
    struct Heartbeat {
        var pid: Int
        var updatedAt: String
        var state: String?

        static func read(_ path: String) -> Heartbeat? {
            guard let data = FileManager.default.contents(atPath: path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let pid = object["pid"] as? Int, let updated = object["updated_at"] as? String
            else { return nil }
            return Heartbeat(pid: pid, updatedAt: updated, state: object["state"] as? String)
        }
    }
}
