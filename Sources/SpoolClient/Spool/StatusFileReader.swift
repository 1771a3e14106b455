import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads `outbox/<id>.json` as a client: the bytes as the runner wrote them, never following a
/// symlink and never more than a bound.
///
/// The runner rewrites the file atomically (temp file + rename), so what is read is always one
/// whole version. Used by `spoolrunner submit --wait`/`status` (through `StatusWriter.read`) and
/// by the HTTP gateway, which serves the bytes verbatim.
public struct StatusFileReader: Sendable {
    /// A status file holds the inputs (at most the 1 MiB request) and each task's output (at most
    /// 64 KiB): 16 MiB is far above any real one and still bounds a hostile file.
    public static let limit = 16 * 1024 * 1024

    public let layout: SpoolLayout

    public init(layout: SpoolLayout) {
        self.layout = layout
    }

    /// The file's bytes, or nil when there is none (or the id is not a valid one).
    /// - Throws: `SpoolError.cannotRead` when a file is there but cannot be read as a status file.
    public func read(processID: String) throws(SpoolError) -> Data? {
        guard ProcessID.isValid(processID) else { return nil }
        let path = layout.statusFile(processID)
        switch SafeFileReader.read(path, limit: Self.limit) {
        case .contents(let data, _): return data
        case .missing: return nil
        case .notARegularFile(let kind):
            throw SpoolError(.cannotRead, path: path, message: "is a \(kind), not a status file")
        case .tooLarge(let size):
            throw SpoolError(.cannotRead, path: path, message: "is \(size) bytes, over the \(Self.limit)-byte bound")
        case .unreadable(let cause): throw .read(path, what: "the status file", errno: cause)
        }
    }

    /// Whether `inbox/<id>.json` is still waiting for the runner (a regular file, not followed).
    public func isWaitingInInbox(processID: String) -> Bool {
        guard ProcessID.isValid(processID) else { return false }
        var info = stat()
        return lstat("\(layout.inbox)/\(processID).json", &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}
