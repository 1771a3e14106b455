import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension ProcessEngine {
    /// Arms a probe when a condition no write retries by itself is active (a running task's log
    /// that could not be written, a rejected file that could not be moved), with backoff.
    func armProbeIfNeeded() {
        guard !probeArmed else { return }
        guard pause.active.contains(where: { $0.source.clearsByProbe }) else {
            // A condition that comes back soon after it cleared keeps its long backoff.
            if let cleared = pause.last?.endedAt, Date().timeIntervalSince(cleared) > 60 { probeBackoff.reset() }
            return
        }
        probeArmed = true
        timersToArm.append((.seconds(probeBackoff.next()), .probe))
    }

    /// Clears each probe-cleared condition whose directory takes a new file again.
    func probeClearedConditions() {
        for condition in pause.active where condition.source.clearsByProbe {
            if DiskProbe.failure(near: condition.path) == nil {
                pause.clear(condition.source)
            }
        }
    }
}

/// Tells whether a filesystem takes new files again: creates, writes and removes a small file
/// (a new inode and a few blocks, like a status file or a log), next to where a write failed.
enum DiskProbe {
    static let size = 16 * 1024

    /// The errno of the failed probe, or nil when it worked.
    static func failure(near path: String) -> Int32? {
        var directory = path
        var info = stat()
        // The failed path itself may be a file, or a directory that could not be created.
        while stat(directory, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR {
            let parent = (directory as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != directory else { return ENOENT }
            directory = parent
        }
        let probe = "\(directory)/\(AtomicFile.tempPrefix)probe.\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return errno }
        defer {
            close(fd)
            unlink(probe)
        }
        let bytes = [UInt8](repeating: 0, count: size)
        guard bytes.withUnsafeBytes({ DurableWrite.writeAll(fd, $0) }) else { return errno }
        return nil
    }
}
