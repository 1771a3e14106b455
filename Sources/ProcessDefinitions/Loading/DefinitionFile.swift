import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a definition file's bytes without letting the file decide how long that takes.
///
/// A definition may be a symlink (configuration management often installs them), but what it
/// names must be a regular file of bounded size: a FIFO would block the reader for ever and
/// `/dev/zero` would never end.
enum DefinitionFile {
    /// Largest definition file read, in bytes. A definition of 10,000 tasks is well under 1 MiB.
    static let maxBytes = 4 << 20

    enum Outcome {
        case contents(Data)
        case problem(DefinitionError.Code, String)
    }

    static func read(_ path: String, limit: Int = maxBytes) -> Outcome {
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            return .problem(
                .unreadableFile,
                "cannot open the file: \(String(cString: strerror(errno))); check that it exists and is readable")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            return .problem(.unreadableFile, "cannot read the file: \(String(cString: strerror(errno)))")
        }
        if let kind = kindName(info.st_mode) {
            return .problem(
                .unreadableFile,
                "the file is \(kind), not a regular file; a definition must be a regular file (or a symlink to one)")
        }
        if Int(info.st_size) > limit {
            return .problem(.tooLarge, "the file is \(info.st_size) bytes; a definition is at most \(limit) bytes")
        }
        var data = Data(count: Int(info.st_size) + 1)
        var total = 0
        let failed = data.withUnsafeMutableBytes { buffer -> Int32? in
            while total < buffer.count {
                let count = Glibc.read(fd, buffer.baseAddress! + total, buffer.count - total)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if count == 0 { break }
                total += count
            }
            return nil
        }
        if let failed {
            return .problem(.unreadableFile, "cannot read the file: \(String(cString: strerror(failed)))")
        }
        if total > limit {
            return .problem(
                .tooLarge, "the file grew past \(limit) bytes while being read; a definition is at most \(limit) bytes")
        }
        data.count = total
        return .contents(data)
    }

    static func kindName(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFDIR: "a directory"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "a special file"
        }
    }
}
