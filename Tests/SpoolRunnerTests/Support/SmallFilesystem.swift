import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test, to fill up on purpose (blocks with `size`, inodes with
/// `inodes`); unmounted by `unmount()` (call it in a `defer`, after stopping what uses it).
///
/// Needs root: a test creating one skips (or fails under SPOOLRUNNER_REQUIRE_ALL=1) without it.
final class SmallFilesystem {
    let path: String
    private var mounted = false
    private var fillers: [String] = []

    /// Mounts a tmpfs at `path` (created when missing).
    init(at path: String, sizeMiB: Int = 16, inodes: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        self.path = path
        try Requirement.root(sourceLocation: sourceLocation)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var options = "size=\(sizeMiB)m"
        if let inodes { options += ",nr_inodes=\(inodes)" }
        let result = Self.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", path])
        try Requirement.check(
            result == 0, "cannot mount a tmpfs at \(path) (mount exited \(result))", sourceLocation: sourceLocation)
        mounted = true
    }

    deinit { unmount() }

    /// Fills the filesystem's free blocks with one file. Returns the bytes written.
    @discardableResult
    func fillBlocks() -> Int {
        let filler = "\(path)/.filler-blocks-\(fillers.count)"
        fillers.append(filler)
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5a, count: 64 * 1024)
        var total = 0
        var size = chunk.count
        // Down to single bytes, so that not even a small status file fits afterwards.
        while size >= 1 {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress!, size) }
            if written > 0 { total += written } else { size /= 2 }
        }
        return total
    }

    /// Uses up every free inode with empty files. Returns how many were made.
    @discardableResult
    func fillInodes() -> Int {
        let directory = "\(path)/.filler-inodes"
        guard mkdir(directory, 0o700) == 0 else { return 0 }
        fillers.append(directory)
        var count = 0
        while true {
            let fd = open("\(directory)/\(count)", O_WRONLY | O_CREAT, 0o600)
            guard fd >= 0 else { break }
            close(fd)
            count += 1
        }
        return count
    }

    /// Frees what `fillBlocks` and `fillInodes` took.
    func free() {
        for filler in fillers.reversed() {
            try? FileManager.default.removeItem(atPath: filler)
        }
        fillers.removeAll()
    }

    func unmount() {
        guard mounted else { return }
        if Self.run("/bin/umount", [path]) != 0 {
            _ = Self.run("/bin/umount", ["-l", path])
        }
        mounted = false
    }

    private static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
