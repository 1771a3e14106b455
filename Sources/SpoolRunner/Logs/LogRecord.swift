import Foundation
import Logging

/// One log event reduced to the fields both line formats print, in their stable order.
///
/// Metadata keys are the ones the code uses (`process.id`, `task.name`, `spool.file`) renamed
/// to what a log query wants to type: `process_id`, `task`, `file`; any other dot becomes `_`.
struct LogRecord {
    var timestamp: String?
    var level: Logger.Level
    var message: String
    /// Sorted by key, `process_id`, `task` and `attempt` first.
    var fields: [(String, String)]

    init(event: LogEvent, handlerMetadata: Logger.Metadata, timestamp: Bool, now: Date = Date()) {
        self.timestamp = timestamp ? LogRecord.timestamp(now) : nil
        self.level = event.level
        self.message = event.message.description
        var merged = handlerMetadata
        if let metadata = event.metadata {
            merged.merge(metadata) { _, new in new }
        }
        var fields: [String: String] = [:]
        for (key, value) in merged {
            fields[Self.fieldName(key)] = Self.text(value)
        }
        if let error = event.error, fields["error"] == nil {
            fields["error"] = "\(error)"
        }
        let first = ["process_id", "task", "attempt"]
        self.fields =
            first.compactMap { key in fields.removeValue(forKey: key).map { (key, $0) } }
            + fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func fieldName(_ key: String) -> String {
        switch key {
        case "process.id": "process_id"
        case "task.name": "task"
        case "spool.file": "file"
        default: key.replacingOccurrences(of: ".", with: "_")
        }
    }

    static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): "[" + values.map(text).joined(separator: ",") + "]"
        case .dictionary(let values):
            "{" + values.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",") + "}"
        }
    }

    /// RFC 3339 UTC with milliseconds, built by hand (no formatter per line).
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        let millis = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return
            "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(min(999, millis)), 3))Z"
    }

    /// The sd-daemon priority prefix (syslog levels: 3 err, 4 warning, 5 notice, 6 info, 7 debug).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
