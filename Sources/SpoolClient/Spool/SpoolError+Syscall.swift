import SystemPackage

/// One constructor per system call that can fail a spool operation (swift-nio's
/// `FileSystemError+Syscall.swift`): each picks the code and the words from the errno, and keeps
/// the call and the errno as the cause.
extension SpoolError {
    private init(_ code: Code, _ path: String, _ message: String, call: String, errno: Errno) {
        self.init(code, path: path, message: message, cause: SystemCallError(systemCall: call, errno: errno))
    }

    /// `open(2)` of the spool's root directory.
    public static func openRoot(_ path: String, errno: Errno) -> SpoolError {
        SpoolError(.cannotCreate, path, "cannot open the spool directory", call: "open", errno: errno)
    }

    /// `openat(2)` of a directory of the spool.
    public static func openDirectory(_ path: String, errno: Errno) -> SpoolError {
        let message = errno == .noSuchFileOrDirectory ? "the directory is missing" : "cannot open directory"
        return SpoolError(.cannotCreate, path, message, call: "openat", errno: errno)
    }

    /// `open(2)` of the directory a file is written into (`path` is the file's).
    public static func openParentDirectory(_ path: String, errno: Errno) -> SpoolError {
        SpoolError(.cannotWrite, path, "cannot open its directory", call: "open", errno: errno)
    }

    /// `mkdir(2)` / `mkdirat(2)` of a directory of the spool.
    public static func makeDirectory(_ path: String, errno: Errno, call: String = "mkdirat") -> SpoolError {
        SpoolError(.cannotCreate, path, "cannot create directory", call: call, errno: errno)
    }

    /// `unlinkat(2)` of a symlink planted where a per-process directory belongs.
    public static func removePlantedLink(_ path: String, what: String, errno: Errno) -> SpoolError {
        SpoolError(.unsafe, path, "is \(what) and cannot be removed", call: "unlinkat", errno: errno)
    }

    /// `open(2)` of `runner.lock`.
    public static func openLock(_ path: String, errno: Errno) -> SpoolError {
        SpoolError(.cannotCreate, path, "cannot open lock file", call: "open", errno: errno)
    }

    /// `flock(2)` of `runner.lock`: EWOULDBLOCK is another runner, anything else a failure.
    public static func lock(_ path: String, errno: Errno) -> SpoolError {
        guard errno == .wouldBlock else {
            return SpoolError(.cannotCreate, path, "cannot lock", call: "flock", errno: errno)
        }
        return SpoolError(
            .locked, path, "another runner holds this spool's lock; stop it first or use another --spool",
            call: "flock", errno: errno)
    }

    /// `open(2)`/`openat(2)` with `O_CREAT|O_EXCL` of a temp file (a client's drop in `tmp/`,
    /// the runner's atomic writes).
    public static func createTemporary(_ path: String, errno: Errno, call: String = "openat") -> SpoolError {
        SpoolError(.cannotWrite, path, "cannot create temp file", call: call, errno: errno)
    }

    /// `write(2)` or `fsync(2)` of a file being written.
    public static func write(_ path: String, errno: Errno, call: String = "write") -> SpoolError {
        SpoolError(.cannotWrite, path, "cannot write", call: call, errno: errno)
    }

    /// `renameat(2)` of a temp file over its target.
    public static func rename(_ path: String, errno: Errno) -> SpoolError {
        SpoolError(.cannotWrite, path, "cannot rename into place", call: "renameat", errno: errno)
    }

    /// `link(2)` of a client's staged file into `inbox/` or `control/`: EEXIST is a request of
    /// the same name still waiting.
    public static func link(_ path: String, errno: Errno) -> SpoolError {
        guard errno == .fileExists else {
            return SpoolError(.cannotWrite, path, "cannot link into place", call: "link", errno: errno)
        }
        return SpoolError(
            .alreadyWaiting, path, "a request with this id is already waiting there", call: "link", errno: errno)
    }

    /// `open(2)`/`read(2)` of a file of the spool.
    public static func read(_ path: String, what: String, errno: Errno, call: String = "open") -> SpoolError {
        SpoolError(.cannotRead, path, "cannot read \(what)", call: call, errno: errno)
    }
}
