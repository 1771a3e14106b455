import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner

/// `spoolrunner history`: lists processes from the store, opened read-only.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List processes from the history store, newest first.",
        discussion:
            "On a terminal the columns are aligned; piped, the rows are tab-separated (one field per column); --json prints a JSON array."
    )

    @Option(help: "Only this process type.")
    var type: String?

    @Option(help: "Only this status (pending, running, success, failed, cancelled).")
    var status: String?

    @Option(
        help: ArgumentHelp(
            "Created at or after TIME (ISO 8601, or a duration before now such as 2h).", valueName: "TIME"))
    var since: TimeArgument?

    @Option(help: ArgumentHelp("Created before TIME.", valueName: "TIME"))
    var until: TimeArgument?

    @Option(help: "At most this many rows.")
    var limit: Int = 50

    @Flag(help: "Print a JSON array.")
    var json = false

    @OptionGroup var spool: SpoolOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        _ = try StoreSelection.resolve(spool: spool, store: store)
        let recorded = ProcessStatus.allCases.filter { $0 != .rejected }
        if let status, !recorded.map(\.rawValue).contains(status) {
            let hint =
                status == "rejected"
                ? " (rejected requests never became processes: see the rejections table or spool/rejected/)" : ""
            throw ValidationError("--status must be one of \(recorded.map(\.rawValue).joined(separator: ", "))\(hint)")
        }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let query = ProcessQuery(
            type: type, status: status.flatMap(ProcessStatus.init(rawValue:)),
            since: since?.date, until: until?.date,
            limit: limit)
        let records = try await StoreSelection.resolve(spool: spool, store: store).withReader { store in
            try await store.processes(query)
        }
        if json {
            let rows: [JSONValue] = records.map { record in
                .object([
                    "process_id": .string(record.processID),
                    "process_type": .string(record.processType),
                    "status": .string(record.status.rawValue),
                    "inputs": .object(record.inputs),
                    "created_at": .string(Timestamp.string(record.createdAt)),
                    "started_at": record.startedAt.map { .string(Timestamp.string($0)) } ?? .null,
                    "ended_at": record.endedAt.map { .string(Timestamp.string($0)) } ?? .null,
                    "error": record.error.map {
                        .object([
                            "code": .string($0.code.rawValue), "message": .string($0.message),
                            "task": $0.task.map(JSONValue.string) ?? .null,
                        ])
                    } ?? .null,
                ])
            }
            print(JSONValue.array(rows).compactJSON)
            return
        }
        if records.isEmpty {
            print("no processes match")
            return
        }
        var table = TableOutput("PROCESS", "TYPE", "STATUS", "CREATED", "TOOK", "ERROR")
        for record in records {
            let took = SpoolRunnerTime.elapsed(from: record.startedAt, to: record.endedAt) ?? "-"
            let error = record.error.map { "\($0.code.rawValue): \($0.message)" } ?? ""
            table.append([
                record.processID, record.processType, record.status.rawValue, Timestamp.string(record.createdAt), took,
                error,
            ])
        }
        print(table.render())
    }
}
