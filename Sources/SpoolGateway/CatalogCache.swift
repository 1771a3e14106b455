import Foundation
import ProcessDefinitions
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The definitions, reloaded when a file in the directory changes, so that the gateway validates
/// against what the runner has on disk without a restart.
///
/// The check is one `stat` per file (the directory is small); loading happens only on a change.
final class CatalogCache: Sendable {
    let directory: String
    private let state = Mutex<(stamp: [String: Double], catalog: DefinitionCatalog)?>(nil)

    init(directory: String) {
        self.directory = directory
    }

    var catalog: DefinitionCatalog {
        let stamp = currentStamp()
        if let cached = state.withLock({ $0 }), cached.stamp == stamp { return cached.catalog }
        let catalog = DefinitionCatalog.load(directory: directory)
        state.withLock { $0 = (stamp, catalog) }
        return catalog
    }

    /// Modification time of every entry of the directory and of the directory itself.
    private func currentStamp() -> [String: Double] {
        var stamp: [String: Double] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names + ["."] {
            var info = stat()
            if stat("\(directory)/\(name)", &info) == 0 {
                stamp[name] = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            }
        }
        return stamp
    }
}
