import FlyingFox
import Foundation
import SpoolClient

extension Gateway {
    /// `GET /ui/process/<id>/logs/<file>`: one attempt's log as plain text, its last
    /// `maxLogBytes`; anything that is not a regular file directly under `logs/<id>/` is 404.
    func log(_ processID: String, file: String) throws(APIError) -> HTTPResponse {
        switch LogFiles(layout: layout).read(processID, name: file, limit: configuration.maxLogBytes) {
        case .notFound:
            throw APIError(.notFound, "no log '\(file)' for process '\(processID)'")
        case .text(let data, let size, let omitted):
            var body = Data()
            if omitted > 0 {
                body.append(
                    Data(
                        "[spoolrunner-http: the first \(omitted) of \(size) bytes are omitted; the whole log is logs/\(processID)/\(file) in the spool]\n"
                            .utf8))
            }
            body.append(data)
            // A log is the task's output: never rendered, never sniffed, no script even if opened directly.
            return .raw(
                body, type: "text/plain; charset=utf-8",
                headers: [HTTPHeader("Content-Security-Policy"): "default-src 'none'; sandbox"])
        }
    }
}
