import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The requests waiting in `inbox/` and the age of the oldest, measured by listing the
/// directory off the engine (the metrics writer's task), the way Postfix's `qshape` looks at a
/// queue: a backlog is what is there, whatever the runner thinks it took.
package struct InboxBacklog: Sendable, Equatable {
    package var requests = 0
    /// Seconds since the oldest request file was last modified; 0 when there is none.
    package var oldestAge: Double = 0

    package init(requests: Int = 0, oldestAge: Double = 0) {
        self.requests = requests
        self.oldestAge = oldestAge
    }

    /// Counts the request files (`*.json`, not dot files: the names the intake takes) in `inbox`.
    /// An unreadable directory counts as empty; the runner reports it in its log.
    package static func measure(inbox: String, now: Date = Date()) -> InboxBacklog {
        guard let directory = opendir(inbox) else { return InboxBacklog() }
        defer { closedir(directory) }
        let fd = dirfd(directory)
        var backlog = InboxBacklog()
        var oldest: Double?
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard !name.hasPrefix("."), name.hasSuffix(".json") else { continue }
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                continue
            }
            backlog.requests += 1
            let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            oldest = min(oldest ?? modified, modified)
        }
        if let oldest { backlog.oldestAge = max(0, now.timeIntervalSince1970 - oldest) }
        return backlog
    }
}
