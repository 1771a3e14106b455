import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Atomic rewrites of the files of one directory that reuse inodes instead of creating and
/// freeing one per write: the status files, rewritten several times per process.
///
/// Why: creating an inode is the most expensive thing the runner does under load. On ext4
/// without a journal (this project's machines) every inode freed within the last minutes is
/// skipped, one inode-table lookup each, by every later allocation in its group: a profile of a
/// 3,000-request burst spent 25 % of all samples in `find_inode_bit`/`recently_deleted` under the
/// status writer, and each create + rename over an existing file frees one more inode.
///
/// How: the new content goes into a spare file (a temp file in the same directory), which
/// `renameat2(RENAME_EXCHANGE)` swaps with the target atomically, so a reader sees the old or the
/// new file, whole. The old inode is now the spare, rewritten by the next call. That rewrite is
/// only done under a write lease (`F_SETLEASE`), which the kernel grants only when nobody else has
/// the file open: a reader that opened the old status file before the swap keeps reading it whole,
/// and the spare is then dropped (unlinked) instead. Anything unexpected (no exchange on this
/// filesystem, no leases, a spare that is not our regular file with one link) falls back to
/// create + rename, as `AtomicFile` does.
///
/// Not `Sendable`: one instance belongs to one thread (the status publisher's).
struct RecyclingAtomicFile {
    /// The spare's name in the directory, if there is one.
    private(set) var spare: String?
    /// The directory the spare is in (its device and inode): a spare never crosses directories.
    private var spareDirectory: [UInt64]?

    /// Replaces `name` in `directory` with `data`.
    /// - Throws: `SpoolError.cannotWrite` naming the path.
    mutating func write(_ data: Data, named name: String, in directory: SpoolDirectory, mode: mode_t = 0o644)
        throws(SpoolError)
    {
        let dir = directory.descriptor
        let path = "\(directory.path)/\(name)"
        var info = stat()
        let identity = fstat(dir, &info) == 0 ? [UInt64(info.st_dev), UInt64(info.st_ino)] : nil
        var temp: String?
        if let candidate = spare {
            spare = nil
            if identity != nil, identity == spareDirectory, Self.rewrite(candidate, in: dir, data: data, mode: mode) {
                temp = candidate
            } else if identity == spareDirectory {
                unlinkat(dir, candidate, 0)
            }
        }
        if temp == nil {
            let fresh = AtomicFile.temporaryName(for: name)
            let fd = openat(dir, fresh, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            guard fd >= 0 else { throw .createTemporary(path, errno: Errno(rawValue: errno)) }
            fchmod(fd, mode)
            let ok = data.withUnsafeBytes { DurableWrite.writeAll(fd, $0) }
            guard ok else {
                let error = SpoolError.write(path, errno: Errno(rawValue: errno))
                close(fd)
                unlinkat(dir, fresh, 0)
                throw error
            }
            close(fd)
            temp = fresh
        }
        guard let temp else { return }
        CrashPoint.step("rename")
        if let exchange = Self.renameat2, exchange(dir, temp, dir, name, Self.renameExchange) == 0 {
            spare = temp
            spareDirectory = identity
            return
        }
        // ENOENT: the first write of this name; EINVAL: this filesystem cannot exchange.
        guard renameat(dir, temp, dir, name) == 0 else {
            let error = SpoolError.rename(path, errno: Errno(rawValue: errno))
            unlinkat(dir, temp, 0)
            throw error
        }
    }

    /// Rewrites the spare with `data` if nobody else has it open; false when it must be dropped.
    private static func rewrite(_ name: String, in dir: Int32, data: Data, mode: mode_t) -> Bool {
        let fd = openat(dir, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        // Only our own regular file with this one name: another name could be opened later.
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1, info.st_uid == geteuid()
        else { return false }
        // Someone opening the file while the lease is held makes the kernel signal the holder:
        // SIGURG, whose default is to be ignored (SIGIO's would end the runner).
        guard fcntl(fd, fSetSig, SIGURG) == 0, fcntl(fd, fSetLease, Int32(F_WRLCK)) == 0 else { return false }
        defer { _ = fcntl(fd, fSetLease, Int32(F_UNLCK)) }
        guard ftruncate(fd, 0) == 0 else { return false }
        if info.st_mode & 0o7777 != mode { fchmod(fd, mode) }
        return data.withUnsafeBytes { DurableWrite.writeAll(fd, $0) }
    }

    /// Removes the spare (at shutdown; a spare left by a crash is a temp file the next start removes).
    mutating func removeSpare(in directory: SpoolDirectory) {
        guard let spare else { return }
        var info = stat()
        if fstat(directory.descriptor, &info) == 0, [UInt64(info.st_dev), UInt64(info.st_ino)] == spareDirectory {
            unlinkat(directory.descriptor, spare, 0)
        }
        self.spare = nil
    }

    // Linux ABI values the Glibc module does not import (they sit behind _GNU_SOURCE).
    private static let fSetLease: Int32 = 1024
    private static let fSetSig: Int32 = 10
    private static let renameExchange: UInt32 = 2

    private typealias RenameAt2 =
        @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// glibc's `renameat2` (2.28 and later), looked up once: nil leaves create + rename.
    private static let renameat2: RenameAt2? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()
}
