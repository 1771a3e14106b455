import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Reads a client's file without trusting it: never follows a symlink, never blocks on a FIFO,
/// never reads more than a limit.
public enum SafeFileReader {
    public enum Outcome: Sendable {
        case contents(Data, identity: FileIdentity)
        /// A symlink, FIFO, directory, socket or device: not opened for reading.
        case notARegularFile(kind: String)
        case tooLarge(size: Int)
        /// Gone before it could be read (another reader, a client that took it back).
        case missing
        /// Cannot be opened or read, for the reason the errno gives (`deniesAccess`: the file's
        /// permissions).
        case unreadable(Errno)
    }

    /// Reads `path` when it is a regular file of at most `limit` bytes.
    public static func read(_ path: String, limit: Int) -> Outcome {
        // lstat first: a symlink is refused by name, and a FIFO is never opened at all.
        var info = stat()
        guard lstat(path, &info) == 0 else {
            return errno == ENOENT ? .missing : unreadable(errno)
        }
        if let kind = kindName(info.st_mode) { return .notARegularFile(kind: kind) }
        // O_NOFOLLOW and O_NONBLOCK close the window between lstat and open: a file swapped for a
        // symlink or a FIFO in between fails here instead of being followed or blocking.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP { return .notARegularFile(kind: "symlink") }
            return errno == ENOENT ? .missing : unreadable(errno)
        }
        defer { close(fd) }
        guard fstat(fd, &info) == 0 else { return unreadable(errno) }
        if let kind = kindName(info.st_mode) { return .notARegularFile(kind: kind) }
        let size = Int(info.st_size)
        if size > limit { return .tooLarge(size: size) }
        var data = Data(count: size + 1)
        var total = 0
        let ok = data.withUnsafeMutableBytes { buffer -> Bool in
            while total < buffer.count {
                let count = Glibc.read(fd, buffer.baseAddress! + total, buffer.count - total)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                if count == 0 { break }
                total += count
            }
            return true
        }
        guard ok else { return unreadable(errno) }
        // The file grew after fstat: still bounded by the limit.
        if total > limit { return .tooLarge(size: total) }
        data.count = total
        return .contents(data, identity: FileIdentity(info))
    }

    static func unreadable(_ code: Int32) -> Outcome {
        .unreadable(Errno(rawValue: code))
    }

    static func kindName(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFLNK: "symlink"
        case S_IFIFO: "FIFO"
        case S_IFDIR: "directory"
        case S_IFSOCK: "socket"
        case S_IFCHR, S_IFBLK: "device"
        default: "special file"
        }
    }
}

extension Errno {
    /// EACCES or EPERM: the file's mode or owner keep the reader out (a client's permissions to
    /// fix, not a malformed file).
    public var deniesAccess: Bool { self == .permissionDenied || self == .notPermitted }
}
