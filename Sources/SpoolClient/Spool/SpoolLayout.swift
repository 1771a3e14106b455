import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The directories and files of one spool root (SPEC §2).
///
/// Every path the runner and the CLI touch is named here, so that a change of layout is one edit.
public struct SpoolLayout: Sendable {
    public let root: String

    public init(root: String) {
        // Absolute paths: tasks run in work/<id>/ and `{{work_dir}}` must mean the same thing there.
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var tmp: String { root + "/tmp" }
    public var inbox: String { root + "/inbox" }
    public var control: String { root + "/control" }
    public var outbox: String { root + "/outbox" }
    public var rejected: String { root + "/rejected" }
    public var work: String { root + "/work" }
    public var logs: String { root + "/logs" }
    public var lockFile: String { root + "/runner.lock" }
    public var heartbeatFile: String { root + "/runner.json" }
    public var defaultDatabase: String { root + "/history.sqlite" }

    public func statusFile(_ processID: String) -> String { "\(outbox)/\(processID).json" }
    public func workDirectory(_ processID: String) -> String { "\(work)/\(processID)" }
    public func logDirectory(_ processID: String) -> String { "\(logs)/\(processID)" }
    public func logFile(_ processID: String, task: String, attempt: Int) -> String {
        "\(logDirectory(processID))/\(task).\(attempt).log"
    }

    /// The directories the runner creates when they are missing.
    public var directories: [String] { [tmp, inbox, control, outbox, rejected, work, logs] }

    /// Recreates any of `directories` found missing while the runner runs (someone deleted
    /// `outbox/`, a cleanup script went too far): the one place that does it, called when a write
    /// fails with ENOENT and by the status reconciler's periodic pass.
    /// - Returns: the directories recreated (empty when all were there), and the first failure
    ///   to create one (its errno kept: ENOSPC when inodes ran out).
    @discardableResult
    public func restoreMissingDirectories() -> (restored: [String], failure: SpoolError?) {
        var restored: [String] = []
        var info = stat()
        for directory in [root] + directories where lstat(directory, &info) != 0 && errno == ENOENT {
            if mkdir(directory, 0o755) == 0 {
                restored.append(directory)
            } else if errno != EEXIST {
                let code = errno
                return (restored, SpoolError(.cannotCreate, path: directory, message: "cannot create directory: \(String(cString: strerror(code)))", systemErrno: code))
            }
        }
        return (restored, nil)
    }

    /// Creates the spool root and its directories.
    /// - Throws: `SpoolError.cannotCreate` naming the directory.
    public func create() throws(SpoolError) {
        for directory in [root] + directories {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw SpoolError(.cannotCreate, path: directory, message: "cannot create directory: \(error.localizedDescription)")
            }
        }
    }
}
