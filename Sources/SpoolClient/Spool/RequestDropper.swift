import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The client side of the spool protocol: write in `tmp/`, then move into place in one step.
///
/// Shared by `spoolrunner submit`/`cancel`/`retry` and the HTTP gateway, which never link the engine.
public struct RequestDropper: Sendable {
    public let layout: SpoolLayout

    public init(layout: SpoolLayout) {
        self.layout = layout
    }

    /// Writes `inbox/<id>.json`; never replaces a request of the same id still waiting there.
    public func drop(processID: String, body: Data) throws(SpoolError) {
        try drop(body, into: layout.inbox, name: "\(processID).json")
    }

    /// Writes a control message `control/<name>.json`. - Returns: the file's name (`--wait`
    /// watches it disappear: the runner has taken the message).
    @discardableResult
    public func control(_ message: ControlMessage) throws(SpoolError) -> String {
        let body: String
        let name: String
        if message.action == .prune {
            body = "{\"action\":\"prune\",\"before\":\"\(message.before ?? "")\"}\n"
            name = "prune-\(UInt32.random(in: 0...UInt32.max)).json"
        } else {
            body = "{\"action\":\"\(message.action.rawValue)\",\"process_id\":\"\(message.processID)\"}\n"
            name = "\(message.action.rawValue)-\(message.processID)-\(UInt32.random(in: 0...UInt32.max)).json"
        }
        try drop(Data(body.utf8), into: layout.control, name: name)
        return name
    }

    /// Writes and fsyncs the file in `tmp/`, links it into place, and fsyncs the directory: a
    /// request that `submit` reported is on disk, whole, even after a power cut.
    private func drop(_ body: Data, into directory: String, name: String) throws(SpoolError) {
        for path in [layout.tmp, directory] where !FileManager.default.fileExists(atPath: path) {
            throw SpoolError(
                .cannotWrite, path: path,
                message:
                    "missing; is this a spool? (run `spoolrunner init` or `spoolrunner serve` once, or pass --spool)")
        }
        let temp = "\(layout.tmp)/\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .createTemporary(temp, errno: Errno(rawValue: errno), call: "open") }
        defer { unlink(temp) }
        // errno is read before close(2), which may set its own.
        var failure: SpoolError?
        if !body.withUnsafeBytes({ DurableWrite.writeAll(fd, $0) }) {
            failure = .write(temp, errno: Errno(rawValue: errno))
        } else if fsync(fd) != 0 {
            failure = .write(temp, errno: Errno(rawValue: errno), call: "fsync")
        }
        close(fd)
        if let failure { throw failure }
        // link(2) then unlink: atomic like rename, but refuses to replace an existing file.
        guard link(temp, "\(directory)/\(name)") == 0 else {
            throw .link("\(directory)/\(name)", errno: Errno(rawValue: errno))
        }
        DurableWrite.syncDirectory(directory)
    }
}
