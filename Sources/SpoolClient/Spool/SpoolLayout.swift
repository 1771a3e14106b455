import Foundation
import SystemPackage

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
    /// The spool's identity (`SpoolIdentity`), which its history store records.
    public var identityFile: String { root + "/runner.id" }
    public var defaultDatabase: String { root + "/history.sqlite" }

    public func statusFile(_ processID: String) -> String { "\(outbox)/\(processID).json" }
    public func workDirectory(_ processID: String) -> String { "\(work)/\(processID)" }
    public func logDirectory(_ processID: String) -> String { "\(logs)/\(processID)" }
    public func logFile(_ processID: String, task: String, attempt: Int) -> String {
        "\(logDirectory(processID))/\(task).\(attempt).log"
    }

    /// The directories the runner creates when they are missing.
    public var directories: [String] { Place.allCases.map { "\(root)/\($0.rawValue)" } }

    /// The spool's own directories, by who writes into them.
    public enum Place: String, CaseIterable, Sendable {
        case tmp, inbox, control, outbox, rejected, work, logs

        /// Clients drop files into tmp/, inbox/ and control/: writable by the spool's group
        /// (the shared layout of the README). The runner's own directories are not.
        public var mode: mode_t {
            switch self {
            case .tmp, .inbox, .control: 0o775
            case .outbox, .rejected, .work, .logs: 0o755
            }
        }
    }

    /// Opens one of the spool's directories without following a symlink, creating it when
    /// missing (SPEC §2: the runner creates what is missing).
    /// - Throws: `SpoolError` (`.unsafe` for a symlink in its place).
    public func directory(_ place: Place, create: Bool = true) throws(SpoolError) -> SpoolDirectory {
        try SpoolDirectory.open(root: root, [place.rawValue], create: create, mode: place.mode)
    }

    /// Opens `work/<id>/` or `logs/<id>/`, creating it when missing. A symlink planted there is
    /// replaced by a real directory (only the link is removed; its target is untouched).
    public func processDirectory(_ place: Place, _ processID: String) throws(SpoolError) -> SpoolDirectory {
        try directory(place).child(processID, mode: 0o755, plantedLink: .replace)
    }

    /// Recreates any of `directories` found missing while the runner runs (someone deleted
    /// `outbox/`, a cleanup script went too far), through `directory(_:)` like every other
    /// opening of a spool directory: made with its explicit mode, never through a symlink.
    /// Called when a write fails with ENOENT and by the status reconciler's periodic pass.
    /// - Returns: the directories recreated (empty when all were there), and the first failure
    ///   to create one (its errno kept: ENOSPC when inodes ran out).
    @discardableResult
    public func restoreMissingDirectories() -> (restored: [String], failure: SpoolError?) {
        var restored: [String] = []
        var info = stat()
        if lstat(root, &info) != 0 && errno == ENOENT {
            if mkdir(root, 0o755) == 0 {
                restored.append(root)
            } else if errno != EEXIST {
                return (restored, .makeDirectory(root, errno: Errno(rawValue: errno), call: "mkdir"))
            }
        }
        for place in Place.allCases where lstat("\(root)/\(place.rawValue)", &info) != 0 && errno == ENOENT {
            do {
                _ = try directory(place)
                restored.append("\(root)/\(place.rawValue)")
            } catch {
                return (restored, error)
            }
        }
        return (restored, nil)
    }

    /// Creates the spool root and its directories, and refuses a spool another user could
    /// subvert: a symlink in place of one of its directories, or a directory that everyone may
    /// write to without the sticky bit (anyone could then replace the runner's files).
    /// - Throws: `SpoolError.cannotCreate` naming the directory, `.unsafe` with the reason.
    public func create() throws(SpoolError) {
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw SpoolError(
                .cannotCreate, path: root, message: "cannot create directory: \(error.localizedDescription)")
        }
        try Self.checkNotWorldWritable(root)
        for place in Place.allCases {
            let directory = try directory(place)
            try Self.checkNotWorldWritable(directory.path, descriptor: directory.descriptor)
        }
    }

    static func checkNotWorldWritable(_ path: String, descriptor: Int32? = nil) throws(SpoolError) {
        var info = stat()
        let ok = descriptor.map { fstat($0, &info) == 0 } ?? (stat(path, &info) == 0)
        guard ok else { return }
        if info.st_mode & S_IWOTH != 0 && info.st_mode & S_ISVTX == 0 {
            let mode = String(info.st_mode & 0o7777, radix: 8)
            throw SpoolError(
                .unsafe, path: path,
                message:
                    "is writable by everyone (mode \(mode)) without the sticky bit, so anyone could replace or redirect the runner's files; run chmod o-w \(path) (give clients the spool's group instead), or chmod +t \(path)"
            )
        }
    }
}
