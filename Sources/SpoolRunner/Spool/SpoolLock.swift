import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// `runner.lock`: one runner per spool.
///
/// An `flock` is released by the kernel when the holder dies, so a crashed runner never leaves a
/// stale lock behind (unlike a pid file).
package final class SpoolLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock or fails at once.
    /// - Throws: `SpoolError.locked` when another runner holds it; `.cannotCreate` when the file
    ///   cannot be opened.
    package init(path: String) throws(SpoolError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .openLock(path, errno: Errno(rawValue: errno)) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = SpoolError.lock(path, errno: Errno(rawValue: errno))
            close(fd)
            throw error
        }
        self.descriptor = fd
    }

    deinit {
        close(descriptor)
    }
}
