import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that readers never see half done: a temp file in the same directory, then
/// `rename(2)` over the target (which replaces a symlink there instead of following it).
package enum AtomicFile {
    /// Prefix of the runner's own temp files; they start with a dot so that `*.json` readers and
    /// the inbox scanner pass them over, and the start-up cleanup can find them.
    package static let tempPrefix = ".spoolrunner-tmp-"

    /// Writes `data` to `path` atomically. The directory of `path` is trusted as given (the
    /// spool root, a directory of the user's choice); below the spool root, use
    /// `write(_:named:in:)` with a `SpoolDirectory`.
    /// - Parameter durable: fsync the file before the rename and the directory after it, for a
    ///   write that must survive a power cut.
    /// - Throws: `SpoolError.cannotWrite` naming the path.
    package static func write(_ data: Data, to path: String, durable: Bool = false, mode: mode_t = 0o644)
        throws(SpoolError)
    {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .openParentDirectory(path, errno: Errno(rawValue: errno)) }
        defer { close(fd) }
        try write(
            data, named: (path as NSString).lastPathComponent, inDirectory: fd, path: path, durable: durable, mode: mode
        )
    }

    /// Writes `data` as `name` inside `directory` atomically: the temp file is created with
    /// `O_EXCL|O_NOFOLLOW` and renamed with `renameat`, both relative to the open directory, so
    /// no symlink on the way is followed and one at the target is replaced, never written through.
    /// Not fsynced: the files written below the spool root (status and error files) are
    /// projections the runner can write again.
    /// - Throws: `SpoolError.cannotWrite` naming the path.
    package static func write(_ data: Data, named name: String, in directory: SpoolDirectory, mode: mode_t = 0o644)
        throws(SpoolError)
    {
        try write(
            data, named: name, inDirectory: directory.descriptor, path: "\(directory.path)/\(name)", durable: false,
            mode: mode)
    }

    /// A fresh name for a temp file that will replace `name`: dot-prefixed with `tempPrefix`, so
    /// that readers of `*.json` skip it and the start-up cleanup finds it.
    static func temporaryName(for name: String) -> String {
        "\(tempPrefix)\(name).\(UInt32.random(in: 0...UInt32.max))"
    }

    private static func write(
        _ data: Data, named name: String, inDirectory directory: Int32, path: String, durable: Bool, mode: mode_t
    ) throws(SpoolError) {
        let temp = temporaryName(for: name)
        let fd = openat(directory, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .createTemporary(path, errno: Errno(rawValue: errno)) }
        // Explicit, whatever the umask.
        fchmod(fd, mode)
        // errno is read right after the call that failed, before close(2) may set its own.
        var failure: SpoolError?
        if !data.withUnsafeBytes({ DurableWrite.writeAll(fd, $0) }) {
            failure = .write(path, errno: Errno(rawValue: errno))
        } else if durable && fsync(fd) != 0 {
            failure = .write(path, errno: Errno(rawValue: errno), call: "fsync")
        }
        close(fd)
        if let failure {
            unlinkat(directory, temp, 0)
            throw failure
        }
        CrashPoint.step("rename")
        guard renameat(directory, temp, directory, name) == 0 else {
            let error = SpoolError.rename(path, errno: Errno(rawValue: errno))
            unlinkat(directory, temp, 0)
            throw error
        }
        if durable { fsync(directory) }
    }

    /// Removes temp files a dead runner left half written in `directory`.
    /// Best effort: a directory that cannot be listed only keeps its leftovers, which the next
    /// start tries again.
    package static func removeStaleTempFiles(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(tempPrefix) {
            unlink("\(directory)/\(name)")
        }
    }
}
