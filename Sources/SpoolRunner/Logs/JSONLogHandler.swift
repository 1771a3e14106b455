import Logging

/// Writes each event as one JSON object per line, keys in a stable order: `ts` (when not going
/// to the journal), `level`, `msg`, `process_id`, `task`, `attempt`, then the rest sorted.
///
/// Every value is a JSON string (metadata carries text), so a consumer never guesses a type.
package struct JSONLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    let destination: LogDestination

    package init(destination: LogDestination, logLevel: Logger.Level = .info) {
        self.destination = destination
        self.logLevel = logLevel
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let record = LogRecord(event: event, handlerMetadata: metadata, timestamp: !destination.journal)
        destination.write(Self.render(record, journal: destination.journal))
    }

    static func render(_ record: LogRecord, journal: Bool) -> String {
        var members: [String] = []
        if let timestamp = record.timestamp { members.append("\"ts\":\(string(timestamp))") }
        members.append("\"level\":\(string(record.level.rawValue))")
        members.append("\"msg\":\(string(record.message))")
        for (key, value) in record.fields where key != "ts" && key != "level" && key != "msg" {
            members.append("\(string(key)):\(string(value))")
        }
        return (journal ? "<\(LogRecord.priority(record.level))>" : "") + "{" + members.joined(separator: ",") + "}"
    }

    /// A JSON string literal (RFC 8259 escapes; no newline can survive).
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
