import Foundation
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// With `--no-inotify` (NFS and other filesystems without inotify): looks at the definitions
/// directory every `--rescan` and asks for a reload when a definition file was added, removed
/// or changed (name, size, modification time or inode differ).
package struct DefinitionsPoller: Service {
    let directory: String
    let interval: Duration
    let onChange: @Sendable () -> Void

    package init(directory: String, interval: Duration, onChange: @escaping @Sendable () -> Void) {
        self.directory = directory
        self.interval = interval
        self.onChange = onChange
    }

    package func run() async throws {
        var last = Self.fingerprint(of: directory)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            let current = Self.fingerprint(of: directory)
            if current != last {
                last = current
                onChange()
            }
        }
    }

    /// One line per definition file: name, size, mtime (ns) and inode.
    /// The names the definitions directory's watchers look at: `*.yaml` and `*.yml` that are not
    /// dot files (an editor's or `write(atomically:)`'s temp file is neither).
    package static func isDefinitionFile(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
    }

    /// A directory that cannot be listed reads as empty: a change, so the reload runs and
    /// reports why it cannot read the directory (and keeps the definitions it has).
    static func fingerprint(of directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.sorted().compactMap { name in
            guard isDefinitionFile(name) else { return nil }
            var info = stat()
            guard stat("\(directory)/\(name)", &info) == 0 else { return nil }
            return "\(name) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)"
        }
    }
}
