import Foundation

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
    /// How many names the file has: more than one while a client's link-then-unlink drop is
    /// half done, or for good when someone hard-linked a file from elsewhere into the spool.
    public var links: Int
    /// The file's owner: a `prune` control message is honoured only from the runner's own user
    /// or root, who could open the store for writing anyway.
    public var owner: UInt32

    init(_ info: stat) {
        links = Int(info.st_nlink)
        owner = UInt32(info.st_uid)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
    }

    /// The last modification, as a date (the one place a file's mtime is read as a time).
    public var modified: Date {
        Date(timeIntervalSince1970: Double(modifiedSeconds) + Double(modifiedNanoseconds) / 1e9)
    }

    /// The identity of `path` itself (a symlink is not followed), or nil when it is gone.
    public static func of(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(info)
    }
}
