import Foundation
import ProcessDefinitions

/// The runner side of a control message: read the client's file without trusting it.
extension ControlMessage {
    /// nil when the file vanished before it could be read.
    static func read(path: String) -> Result<ControlMessage, RequestRejection>? {
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
                        .unknownAction, "\(name): \"action\" must be \"cancel\" or \"retry\"", writesStatus: false))
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
