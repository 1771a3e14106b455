import Foundation
import SpoolRunner
#if canImport(Glibc)
import Glibc
#endif

/// The client side of the spool protocol: write in `tmp/`, then move into place in one step.
struct RequestDropper {
    let layout: SpoolLayout

    /// Writes `inbox/<id>.json`; never replaces a request of the same id still waiting there.
    func drop(processID: String, body: Data) throws(SpoolError) {
        try drop(body, into: layout.inbox, name: "\(processID).json")
    }

    /// Writes a control message `control/<name>.json`.
    func control(_ message: ControlMessage) throws(SpoolError) {
        let body = "{\"action\":\"\(message.action.rawValue)\",\"process_id\":\"\(message.processID)\"}\n"
        try drop(Data(body.utf8), into: layout.control, name: "\(message.action.rawValue)-\(message.processID)-\(UInt32.random(in: 0...UInt32.max)).json")
    }

    private func drop(_ body: Data, into directory: String, name: String) throws(SpoolError) {
        for path in [layout.tmp, directory] where !FileManager.default.fileExists(atPath: path) {
            throw SpoolError(.cannotWrite, path: path, message: "missing; is this a spool? (run `spoolrunner init` or `spoolrunner serve` once, or pass --spool)")
        }
        let temp = "\(layout.tmp)/\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temp, contents: body) else {
            throw SpoolError(.cannotWrite, path: temp, message: "cannot write: \(String(cString: strerror(errno)))")
        }
        defer { unlink(temp) }
        // link(2) then unlink: atomic like rename, but refuses to replace an existing file.
        guard link(temp, "\(directory)/\(name)") == 0 else {
            let reason = errno == EEXIST ? "a request with this id is already waiting in the inbox" : String(cString: strerror(errno))
            throw SpoolError(.cannotWrite, path: "\(directory)/\(name)", message: reason)
        }
    }
}
