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
    /// - Returns: the row for the `rejections` table, and whether the file left `directory` (it
    ///   stays when `rejected/` will not take it; the caller must not judge it again).
    /// - Throws: `SpoolError` with ENOSPC or EDQUOT when the error file cannot be written: the
    ///   request then stays where it is, to be rejected once there is room again.
    func reject(fileName: String, from directory: String, processID: String?, rejection: RequestRejection, now: Date)
        throws(SpoolError) -> (record: RejectionRecord, moved: Bool)
    {
        let error = FailureInfo(code: rejection.code.failureCode, message: rejection.message, task: nil)
        let status = processID.flatMap { id in
            rejection.writesStatus
                ? StatusDocument(rejectedID: id, processType: rejection.processType, error: error, at: now) : nil
        }
        // The status file before the move: once the file has left inbox/, nothing would judge it
        // again, so a runner killed right after the move (before the publisher's thread got to
        // it) would leave the client without an answer for good. Killed before the move, the
        // next start judges the file again and writes the same answer. A write that fails here
        // is left to the publisher, which retries it.
        if let status { try? StatusWriter(layout: layout).write(status) }
        let moved = try moveToRejected(fileName: fileName, from: directory, error: error, stamp: Timestamp.string(now))
        // Published too: it replaces an older document of this id still queued there (its file
        // would otherwise be written over this one), and it is retried if the write above failed.
        if let status { statusPublisher.publish(status) }
        return (
            RejectionRecord(
                fileName: fileName, receivedAt: now, code: rejection.code.failureCode, message: rejection.message),
            moved
        )
    }

    /// Writes the error file, then moves the file beside it. `rejected/` is opened from the spool
    /// root without following links, and made again if it was deleted (`SpoolDirectory`).
    private func moveToRejected(fileName: String, from directory: String, error: FailureInfo, stamp: String)
        throws(SpoolError) -> Bool
    {
        let rejected: SpoolDirectory
        do {
            rejected = try layout.directory(.rejected)
        } catch {
            if PauseReason(error) != nil { throw error }
            return false
        }
        let target = uniqueName(fileName, in: rejected)
        let document: JSONValue = .object([
            "file": .string(fileName),
            "received_at": .string(stamp),
            "error": .object(["code": .string(error.code.rawValue), "message": .string(error.message)]),
        ])
        // The reason first: a client that sees the file in rejected/ finds its error beside it.
        do {
            try AtomicFile.write(Data((document.compactJSON + "\n").utf8), named: "\(target).error.json", in: rejected)
        } catch {
            if PauseReason(error) != nil { throw error }
        }
        // rename(2) moves a symlink or FIFO itself, never what it points to.
        let moved = renameat(AT_FDCWD, "\(directory)/\(fileName)", rejected.descriptor, target) == 0
        // The window a crash may hit before the row is committed (`RejectionRecovery`).
        if moved { CrashPoint.step("rejected") }
        return moved
    }

    /// `p1.json`, or `p1.json.1`, `p1.json.2`, ... when a rejected file of that name is there.
    /// lstat, so that a symlink already moved there counts as taken too.
    private func uniqueName(_ fileName: String, in rejected: SpoolDirectory) -> String {
        var candidate = fileName
        var suffix = 0
        var info = stat()
        while fstatat(rejected.descriptor, candidate, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            suffix += 1
            candidate = "\(fileName).\(suffix)"
        }
        return candidate
    }
}
