import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A directory of the spool, opened from the spool root one component at a time without
/// following a symlink (`openat` + `O_NOFOLLOW`).
///
/// Anyone who may write into the spool could plant a symlink where the runner writes
/// (`logs/<id>` → `/etc`): every file the runner creates goes through one of these handles, so a
/// planted link is never followed. A link where a per-process directory belongs is replaced by a
/// real directory (the link itself is removed, its target is untouched); a link in place of one
/// of the spool's own directories is refused with an error. What the runner creates gets its
/// mode set explicitly, whatever the umask.
public final class SpoolDirectory: Sendable {
    /// The open directory; closed when the handle goes away.
    public let descriptor: Int32
    /// Its path, for messages.
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// What to do with a symlink (or any non-directory) found where a directory belongs.
    public enum PlantedLink: Sendable {
        /// Refuse with an error: the spool's own directories (`outbox/`, `logs/`, ...).
        case refuse
        /// Remove the link itself and create the directory: per-process directories, which
        /// only the runner creates.
        case replace
    }

    /// Opens `root` (followed if it is a symlink: the administrator chose it), then each of
    /// `components` below it without following links, creating missing ones with `mode`.
    /// - Throws: `SpoolError.cannotCreate` when a directory cannot be made, `.unsafe` for a
    ///   planted link that is refused.
    public static func open(
        root: String, _ components: [String], create: Bool = true, mode: mode_t = 0o755,
        plantedLink: PlantedLink = .refuse
    ) throws(SpoolError) -> SpoolDirectory {
        let rootFD = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw .openRoot(root, errno: Errno(rawValue: errno)) }
        var current = SpoolDirectory(descriptor: rootFD, path: root)
        for (index, name) in components.enumerated() {
            // The last component of a per-process path is the one a client could plant.
            let policy: PlantedLink = index == components.count - 1 ? plantedLink : .refuse
            current = try current.child(name, create: create, mode: mode, plantedLink: policy)
        }
        return current
    }

    /// Opens (or creates) the directory `name` inside this one.
    public func child(_ name: String, create: Bool = true, mode: mode_t = 0o755, plantedLink: PlantedLink = .refuse)
        throws(SpoolError) -> SpoolDirectory
    {
        let childPath = "\(path)/\(name)"
        for _ in 0..<3 {
            let fd = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 { return SpoolDirectory(descriptor: fd, path: childPath) }
            let code = errno
            switch code {
            case ENOENT:
                guard create else { throw .openDirectory(childPath, errno: .noSuchFileOrDirectory) }
                if mkdirat(descriptor, name, mode) != 0 && errno != EEXIST {
                    throw .makeDirectory(childPath, errno: Errno(rawValue: errno))
                }
                let made = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard made >= 0 else { continue }
                // Explicit, not left to the umask; a setgid parent (a shared spool's group) is kept.
                var parent = stat()
                let setgid: mode_t = fstat(descriptor, &parent) == 0 ? parent.st_mode & S_ISGID : 0
                fchmod(made, mode | setgid)
                return SpoolDirectory(descriptor: made, path: childPath)
            case ELOOP, ENOTDIR:
                var info = stat()
                guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                let isLink = info.st_mode & S_IFMT == S_IFLNK
                let what =
                    isLink
                    ? "a symlink\(Self.linkTarget(descriptor, name).map { " (to \($0))" } ?? "")" : "not a directory"
                guard isLink, plantedLink == .replace else {
                    throw SpoolError(
                        .unsafe, path: childPath,
                        message:
                            "is \(what); the runner never writes through a symlink or into anything but a real directory of the spool. Replace it with a directory (use a bind mount to put it on another disk)"
                    )
                }
                // unlinkat removes the link itself; what it points to is not touched.
                guard unlinkat(descriptor, name, 0) == 0 || errno == ENOENT else {
                    throw .removePlantedLink(childPath, what: what, errno: Errno(rawValue: errno))
                }
            default:
                throw .openDirectory(childPath, errno: Errno(rawValue: code))
            }
        }
        throw SpoolError(
            .unsafe, path: childPath, message: "keeps changing while the runner opens it; something is replacing it")
    }

    static func linkTarget(_ directory: Int32, _ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
