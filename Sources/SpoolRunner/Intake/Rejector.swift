import Foundation
import ProcessDefinitions
#if canImport(Glibc)
import Glibc
#endif

/// Moves a file that cannot be accepted to `rejected/`, unchanged, with the reason beside it
/// (Postfix's `corrupt` queue): never deleted, never silently dropped.
struct Rejector: Sendable {
    let layout: SpoolLayout
    let statusWriter: StatusWriter

    /// - Parameter from: the directory the file is in (`inbox/` or `control/`).
    /// - Returns: the row for the `rejections` table.
    func reject(fileName: String, from directory: String, processID: String?, rejection: RequestRejection, now: Date) -> RejectionRecord {
        let stamp = Timestamp.string(now)
        let target = uniqueName(fileName)
        let error = FailureInfo(code: rejection.code.rawValue, message: rejection.message, task: nil)
        let document: JSONValue = .object([
            "file": .string(fileName),
            "received_at": .string(stamp),
            "error": .object(["code": .string(error.code), "message": .string(error.message)]),
        ])
        // The reason first: a client that sees the file in rejected/ finds its error beside it.
        try? AtomicFile.write(Data((document.compactJSON + "\n").utf8), to: "\(layout.rejected)/\(target).error.json")
        // rename(2) moves a symlink or FIFO itself, never what it points to.
        rename("\(directory)/\(fileName)", "\(layout.rejected)/\(target)")
        if let processID, rejection.writesStatus {
            try? statusWriter.write(StatusDocument(rejectedID: processID, processType: rejection.processType, error: error, at: stamp))
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
