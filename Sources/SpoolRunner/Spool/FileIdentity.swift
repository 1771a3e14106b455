#if canImport(Glibc)
import Glibc
#endif

/// What the runner saw of a client's file: which inode, how big, last changed when.
///
/// Settling (SPEC §3 `--settle`) is judged on the runner's own observation: a file counts as
/// settled once its identity has not changed for `--settle` since the runner first saw it. The
/// file's mtime is part of the identity (a change means someone is writing) but never compared
/// with the clock, so a future or past mtime cannot make a file wait for ever or skip the wait.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modifiedSeconds: Int
    public var modifiedNanoseconds: Int

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
    }

    /// The identity of `path` itself (a symlink is not followed), or nil when it is gone.
    public static func of(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(info)
    }
}

/// When the runner first saw each not-yet-acceptable file with its current identity.
struct SettleTracker {
    private struct Entry {
        var identity: FileIdentity
        var firstSeen: Double
    }

    private var entries: [String: Entry] = [:]

    /// When `name` was first seen as it is now; a changed identity starts the wait again.
    mutating func firstSeen(_ name: String, _ identity: FileIdentity, now: Double) -> Double {
        if let entry = entries[name], entry.identity == identity { return entry.firstSeen }
        entries[name] = Entry(identity: identity, firstSeen: now)
        return now
    }

    /// Whether `name` is known with exactly this identity and still within `settle` at `now`:
    /// then it need not be read again yet.
    func isWaiting(_ name: String, _ identity: FileIdentity, settle: Double, now: Double) -> Bool {
        guard let entry = entries[name], entry.identity == identity else { return false }
        return now < entry.firstSeen + settle
    }

    mutating func forget(_ name: String) {
        entries.removeValue(forKey: name)
    }

    /// Drops what is no longer in the directory.
    mutating func keep(only names: Set<String>) {
        if entries.keys.contains(where: { !names.contains($0) }) {
            entries = entries.filter { names.contains($0.key) }
        }
    }
}
