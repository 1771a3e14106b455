import Foundation

/// One `schedule:` entry: the runner submits a request of this type itself at each cron slot.
///
/// A slot becomes an ordinary request whose id is derived from the slot
/// (`<type>-<yyyyMMdd'T'HHmm>`, or `<type>-<name>-<yyyyMMdd'T'HHmm>` for a named entry, the
/// slot's UTC minute), so the duplicate rule of the inbox makes it run at most once.
public struct ScheduleDefinition: Sendable {
    /// What to do with the slots that came due while no runner ran (SPEC §5 `catch_up`).
    public enum CatchUp: String, Sendable, CaseIterable {
        /// Only the most recent missed slot.
        case latest
        /// None: only slots that come due while a runner runs.
        case none
        /// Every missed slot, oldest first, at most `ScheduleDefinition.catchUpLimit`.
        case all
    }

    /// What to do when a slot comes due while the entry's previous run is unfinished.
    public enum Overlap: String, Sendable, CaseIterable {
        case allow
        /// Record a `schedule_skipped` event instead of submitting.
        case skip
    }

    /// Most slots `catch_up: all` submits after a downtime: the most recent ones, oldest first.
    public static let catchUpLimit = 100

    /// The entry's name; required when a definition has more than one entry.
    public var name: String?
    public var cron: CronExpression
    /// Wall-clock time zone of `cron`; nil is UTC.
    public var timeZone: TimeZone?
    public var inputs: [String: JSONValue]
    public var catchUp: CatchUp
    public var overlap: Overlap
    /// Why a request with `inputs` would be rejected (`invalid_inputs`), found at load time.
    /// Not an error of the definition: each slot is still submitted and rejected like a dropped
    /// request, so the problem shows in `rejected/` and the status file; `validate` warns.
    public var inputsProblem: DefinitionError?

    public init(
        name: String? = nil, cron: CronExpression, timeZone: TimeZone? = nil, inputs: [String: JSONValue] = [:],
        catchUp: CatchUp = .latest, overlap: Overlap = .allow, inputsProblem: DefinitionError? = nil
    ) {
        self.name = name
        self.cron = cron
        self.timeZone = timeZone
        self.inputs = inputs
        self.catchUp = catchUp
        self.overlap = overlap
        self.inputsProblem = inputsProblem
    }

    /// The time zone name as written, or `UTC`.
    public var timeZoneName: String { timeZone?.identifier ?? "UTC" }

    /// The key the runner stores this entry's last slot under: its name, or `""` when unnamed.
    public var key: String { name ?? "" }

    /// The process id of the request for `slot` (a whole UTC minute).
    public func processID(processType: String, slot: Date) -> String {
        let minute = UTCDateTime(epochMinute: Int64((slot.timeIntervalSince1970 / 60).rounded(.down)))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let stamp =
            "\(pad(minute.year, 4))\(pad(minute.month, 2))\(pad(minute.day, 2))T\(pad(minute.hour, 2))\(pad(minute.minute, 2))"
        return name.map { "\(processType)-\($0)-\(stamp)" } ?? "\(processType)-\(stamp)"
    }

    /// The request body for `slot`: `process_type` and the entry's inputs, keys sorted, so the
    /// same slot always gives byte-identical content (the inbox's duplicate rule depends on it).
    public func requestJSON(processType: String) -> String {
        var object = inputs
        object["process_type"] = .string(processType)
        return JSONValue.object(object).compactJSON
    }
}
