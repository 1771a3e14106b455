import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that readers never see half done: a temp file in the same directory, then
/// `rename(2)` over the target (which replaces a symlink there instead of following it).
public enum AtomicFile {
    /// Prefix of the runner's own temp files; they start with a dot so that `*.json` readers and
    /// the inbox scanner pass them over, and the start-up cleanup can find them.
    public static let tempPrefix = ".spoolrunner-tmp-"

    /// Writes `data` to `path` atomically.
    /// - Parameter durable: fsync the file before the rename and the directory after it, for a
    ///   write that must survive a power cut.
    /// - Throws: `SpoolError.cannotWrite` naming the path.
    public static func write(_ data: Data, to path: String, durable: Bool = false) throws(SpoolError) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temp = "\(directory)/\(tempPrefix)\(name).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(path, "cannot create temp file") }
        var ok = data.withUnsafeBytes { writeAll(fd, $0) }
        if ok && durable { ok = fsync(fd) == 0 }
        guard ok else {
            let error = failure(path, "cannot write")
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        CrashPoint.step("rename")
        guard rename(temp, path) == 0 else {
            let error = failure(path, "cannot rename into place")
            unlink(temp)
            throw error
        }
        if durable { syncDirectory(directory) }
    }

    /// fsync of a directory (see `DurableWrite`, shared with the clients).
    public static func syncDirectory(_ directory: String) {
        DurableWrite.syncDirectory(directory)
    }

    /// write(2) until everything is written (see `DurableWrite`, shared with the clients).
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        DurableWrite.writeAll(fd, buffer)
    }

    private static func failure(_ path: String, _ what: String) -> SpoolError {
        let code = errno
        return SpoolError(.cannotWrite, path: path, message: "\(what): \(String(cString: strerror(code)))", systemErrno: code)
    }

    /// Removes temp files a dead runner left half written in `directory`.
    public static func removeStaleTempFiles(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(tempPrefix) {
            unlink("\(directory)/\(name)")
        }
    }
}
