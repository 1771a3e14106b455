import Foundation
import ProcessDefinitions

/// One `inbox/` file as read and parsed off the engine actor: what `RequestIntake.examine`
/// judges on the actor, so the engine never waits for a client's file.
///
/// Reading is what may block (a slow disk, a file being written, a megabyte to parse); judging
/// needs the engine's state (live processes, the settle bookkeeping, the definitions in force).
struct RequestFile: Sendable {
    var fileName: String
    /// What reading found; nil when the name is not a process id (such a file is not read).
    var outcome: SafeFileReader.Outcome?
    /// The file's identity when it could not be read, for the `--settle` wait.
    var unreadableIdentity: FileIdentity?
    /// The contents parsed as JSON, when they were read.
    var parsed: Result<JSONValue, JSONParseError>?

    var processID: String { String(fileName.dropLast(".json".count)) }

    /// Reads and parses `inbox/<fileName>`, never following a symlink, never opening a FIFO,
    /// never reading more than `limit` bytes (`SafeFileReader`). Blocking: call it off the engine.
    static func read(_ fileName: String, inbox: String, limit: Int) -> RequestFile {
        var file = RequestFile(fileName: fileName)
        guard ProcessID.isValid(file.processID) else { return file }
        let path = "\(inbox)/\(fileName)"
        let outcome = SafeFileReader.read(path, limit: limit)
        file.outcome = outcome
        switch outcome {
        case .contents(let data, _):
            do throws(JSONParseError) {
                file.parsed = .success(try StrictJSONParser.parse(data))
            } catch {
                file.parsed = .failure(error)
            }
        case .unreadable:
            file.unreadableIdentity = FileIdentity.of(path)
        case .missing, .notARegularFile, .tooLarge:
            break
        }
        return file
    }

    /// Reads `fileNames` on a thread of the global pool, and returns them in the same order.
    static func readOffTheEngine(_ fileNames: [String], inbox: String, limit: Int) async -> [RequestFile] {
        await Task.detached { fileNames.map { read($0, inbox: inbox, limit: limit) } }.value
    }
}
