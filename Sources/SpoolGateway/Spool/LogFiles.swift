import Foundation
import SpoolClient

#if canImport(Glibc)
import Glibc
#endif

/// Task logs under `logs/<id>/`, opened so that no name can reach outside that directory.
///
/// Each step of the path is opened with `O_NOFOLLOW` relative to the one before (`openat`): a
/// symlink planted as `logs`, as `logs/<id>` or as the log file itself is refused, not followed.
/// Names are single segments the router already decoded and stripped of `/`, `.` and `..`.
struct LogFiles {
    enum Read {
        case text(Data, size: Int, omitted: Int)
        case notFound
    }

    let layout: SpoolLayout

    /// The regular files of `logs/<id>/`, sorted.
    func list(_ processID: String) -> [String] {
        guard ProcessID.isValid(processID), let directory = openDirectory(processID) else { return [] }
        guard let stream = fdopendir(directory) else {
            close(directory)
            return []
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard Self.isLogName(name) else { continue }
            var info = stat()
            if fstatat(dirfd(stream), name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFREG {
                names.append(name)
            }
        }
        return names.sorted()
    }

    /// The last `limit` bytes of `logs/<id>/<name>` (the end is where a failure shows).
    func read(_ processID: String, name: String, limit: Int) -> Read {
        guard ProcessID.isValid(processID), Self.isLogName(name), let directory = openDirectory(processID) else {
            return .notFound
        }
        defer { close(directory) }
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .notFound }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return .notFound }
        let size = Int(info.st_size)
        let start = max(0, size - limit)
        var data = Data(count: size - start)
        var total = 0
        data.withUnsafeMutableBytes { buffer in
            while total < buffer.count {
                let count = pread(fd, buffer.baseAddress! + total, buffer.count - total, off_t(start + total))
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                total += count
            }
        }
        data.count = total
        return .text(data, size: size, omitted: start)
    }

    /// `<task>.<attempt>.log`-shaped: no leading dot, no separators.
    static func isLogName(_ name: String) -> Bool {
        guard name.hasSuffix(".log"), !name.hasPrefix("."), name.utf8.count <= 255 else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// `logs/<id>` as a directory descriptor, every step without following a symlink.
    private func openDirectory(_ processID: String) -> Int32? {
        let logs = open(layout.logs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard logs >= 0 else { return nil }
        defer { close(logs) }
        let directory = openat(logs, processID, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        return directory >= 0 ? directory : nil
    }
}
