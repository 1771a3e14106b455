import Foundation
import ProcessDefinitions
#if canImport(Glibc)
import Glibc
#endif

/// Moves a file that cannot be accepted to `rejected/`, unchanged, with the reason beside it
/// (Postfix's `corrupt` queue): never deleted, never silently dropped.
struct Rejector: Sendable {
    let layout: SpoolLayout
    let statusPublisher: StatusPublisher

    /// - Parameter from: the directory the file is in (`inbox/` or `control/`).
    /// - Returns: the row for the `rejections` table.
    /// - Throws: `SpoolError` with ENOSPC or EDQUOT when the error file cannot be written: the
    ///   request then stays where it is, to be rejected once there is room again.
    func reject(fileName: String, from directory: String, processID: String?, rejection: RequestRejection, now: Date) throws(SpoolError) -> RejectionRecord {
        let stamp = Timestamp.string(now)
        let target = uniqueName(fileName)
        let error = FailureInfo(code: rejection.code.rawValue, message: rejection.message, task: nil)
        let document: JSONValue = .object([
            "file": .string(fileName),
            "received_at": .string(stamp),
            "error": .object(["code": .string(error.code), "message": .string(error.message)]),
        ])
        // The reason first: a client that sees the file in rejected/ finds its error beside it.
        let errorData = Data((document.compactJSON + "\n").utf8)
        let errorFile = "\(layout.rejected)/\(target).error.json"
        do {
            try AtomicFile.write(errorData, to: errorFile)
        } catch {
            if error.systemErrno == ENOENT, !layout.restoreMissingDirectories().restored.isEmpty {
                try? AtomicFile.write(errorData, to: errorFile)
            } else if let code = error.systemErrno, PauseReason(errno: code) != nil {
                throw error
            }
        }
        // rename(2) moves a symlink or FIFO itself, never what it points to.
        if rename("\(directory)/\(fileName)", "\(layout.rejected)/\(target)") != 0, errno == ENOENT,
           !layout.restoreMissingDirectories().restored.isEmpty {
            rename("\(directory)/\(fileName)", "\(layout.rejected)/\(target)")
        }
        if let processID, rejection.writesStatus {
            statusPublisher.publish(StatusDocument(rejectedID: processID, processType: rejection.processType, error: error, at: stamp))
        }
        return RejectionRecord(fileName: fileName, receivedAt: stamp, code: rejection.code.rawValue, message: rejection.message)
    }

    /// `p1.json`, or `p1.json.1`, `p1.json.2`, ... when a rejected file of that name is there.
    /// lstat, so that a symlink already moved there counts as taken too.
    private func uniqueName(_ fileName: String) -> String {
        var candidate = fileName
        var suffix = 0
        var info = stat()
        while lstat("\(layout.rejected)/\(candidate)", &info) == 0 {
            suffix += 1
            candidate = "\(fileName).\(suffix)"
        }
        return candidate
    }
}
