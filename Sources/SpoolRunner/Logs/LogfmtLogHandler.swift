import Logging

/// Writes each event as one logfmt line: `ts=… level=info msg="runner started" process_id=…`.
///
/// A value is quoted when it is empty or holds a space, `"`, `=` or a control character; inside
/// quotes `\` and `"` are escaped and newlines become `\n`, so a line is always one line and a
/// logfmt parser gets every value back unchanged.
package struct LogfmtLogHandler: LogHandler {
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
        destination.write(Self.render(record, journal: destination.journal, color: destination.color))
    }

    static func render(_ record: LogRecord, journal: Bool, color: Bool) -> String {
        var line = journal ? "<\(LogRecord.priority(record.level))>" : ""
        if let timestamp = record.timestamp { line += "ts=\(timestamp) " }
        let level = record.level.rawValue
        line += "level=" + (color ? LevelColor.paint(level, record.level) : level)
        line += " msg=" + quoted(record.message)
        for (key, value) in record.fields {
            line += " \(key)=\(quoted(value))"
        }
        return line
    }

    static func quoted(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains {
                $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0.value == 0x7f
            }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// ANSI colour of a level word on a terminal.
enum LevelColor {
    static func paint(_ text: String, _ level: Logger.Level) -> String {
        let code: String
        switch level {
        case .trace, .debug: code = "2"  // dim
        case .info: code = "32"  // green
        case .notice: code = "36"  // cyan
        case .warning: code = "33"  // yellow
        case .error, .critical: code = "1;31"  // bold red
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
