import Foundation

/// One `control/` file as listed and read off the engine actor: the engine judges and acts on
/// it, and never waits for the directory or a client's file.
struct ControlFile: Sendable {
    var fileName: String
    /// The file as it was just before it was read (nil: gone).
    var identity: FileIdentity?
    /// The message, why it is refused, or nil when the file vanished before it could be read.
    var message: Result<ControlMessage, RequestRejection>?

    /// Lists `directory` and reads each `*.json` message (dot files are a client's own temp
    /// files; other names are not messages), in name order, on a thread of the global pool.
    /// Paths in `skipping` (acted on, removed after their commit) are listed but not read.
    static func readOffTheEngine(_ directory: String, skipping: Set<String>) async throws -> [ControlFile] {
        try await Task.detached {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            return names.filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }.sorted().map { name in
                let path = "\(directory)/\(name)"
                if skipping.contains(path) { return ControlFile(fileName: name) }
                return ControlFile(
                    fileName: name, identity: FileIdentity.of(path), message: ControlMessage.read(path: path))
            }
        }.value
    }
}
