import Foundation
import ProcessDefinitions

#if canImport(Glibc)
import Glibc
#endif

/// The runner side of a control message: read the client's file without trusting it.
extension ControlMessage {
    /// nil when the file vanished before it could be read.
    /// - Parameter runnerUser: the runner's uid; a `prune` message from anyone else (but root)
    ///   is refused: deleting history takes the rights of the store's owner.
    static func read(path: String, runnerUser: UInt32 = UInt32(getuid())) -> Result<ControlMessage, RequestRejection>? {
        let name = (path as NSString).lastPathComponent
        switch SafeFileReader.read(path, limit: 64 * 1024) {
        case .contents(let data, let identity):
            if identity.links > 1 {
                return .failure(
                    RequestRejection(
                        .notARegularFile,
                        "\(name) is a hard link (the file has \(identity.links) names), not a file of its own",
                        writesStatus: false))
            }
            let value: JSONValue
            do {
                value = try StrictJSONParser.parse(data)
            } catch {
                return .failure(
                    RequestRejection(
                        .invalidJSON, "\(name) is not valid JSON: \(error.description)", writesStatus: false))
            }
            guard case .object(let fields) = value else {
                return .failure(
                    RequestRejection(
                        .notAnObject,
                        "\(name) holds a JSON \(value.typeName); expected {\"action\": \"cancel\"|\"retry\", \"process_id\": \"...\"}",
                        writesStatus: false))
            }
            guard case .string(let actionName)? = fields["action"], let action = Action(rawValue: actionName) else {
                return .failure(
                    RequestRejection(
                        .unknownAction, "\(name): \"action\" must be \"cancel\", \"retry\" or \"prune\"",
                        writesStatus: false))
            }
            if action == .prune {
                guard identity.owner == runnerUser || identity.owner == 0 else {
                    return .failure(
                        RequestRejection(
                            .permissionDenied,
                            "\(name): a prune message must come from the runner's user (uid \(runnerUser)) or root, not uid \(identity.owner): deleting history takes the rights of the store's owner",
                            writesStatus: false))
                }
                guard case .string(let before)? = fields["before"], Timestamp.parse(before) != nil else {
                    return .failure(
                        RequestRejection(
                            .invalidJSON,
                            "\(name): \"before\" must be an ISO 8601 UTC time such as 2026-11-01T00:00:00Z",
                            writesStatus: false))
                }
                return .success(.prune(before: before))
            }
            guard case .string(let id)? = fields["process_id"], ProcessID.isValid(id) else {
                return .failure(
                    RequestRejection(
                        .unknownProcess, "\(name): \"process_id\" must be a valid process id", writesStatus: false))
            }
            return .success(ControlMessage(action: action, processID: id))
        case .missing:
            return nil
        case .notARegularFile(let kind):
            return .failure(
                RequestRejection(.notARegularFile, "\(name) is a \(kind), not a regular file", writesStatus: false))
        case .tooLarge(let size):
            return .failure(
                RequestRejection(
                    .tooLarge, "\(name) is \(size) bytes; a control message is at most 64 KiB", writesStatus: false))
        case .unreadable(let reason):
            if reason.deniesAccess {
                return .failure(
                    RequestRejection(
                        .permissionDenied,
                        "\(name) cannot be read by the runner (\(reason)); make it readable by the runner's user or group",
                        writesStatus: false))
            }
            return .failure(
                RequestRejection(.notARegularFile, "\(name) cannot be read: \(reason)", writesStatus: false))
        }
    }
}
