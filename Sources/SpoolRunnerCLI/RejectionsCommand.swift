import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner

/// `spoolrunner rejections`: the `rejections` table, newest first: what could not be accepted.
struct RejectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rejections",
        abstract: "List rejected request and control files from the history store, newest first.",
        discussion:
            "Each rejected file is in SPOOL/rejected/ with <file>.error.json beside it. On a terminal the columns are aligned; piped, the rows are tab-separated; --json prints a JSON array."
    )

    @Option(
        help:
            "Only this error code (invalid_json, not_an_object, too_large, invalid_process_id, unknown_process_type, invalid_inputs, duplicate_process_id, not_a_regular_file, unknown_action, unknown_process)."
    )
    var code: String?

    @Option(
        help: ArgumentHelp(
            "Received at or after TIME (ISO 8601, or a duration before now such as 2h).", valueName: "TIME"))
    var since: TimeArgument?

    @Option(help: "At most this many rows.")
    var limit: Int = 50

    @Flag(help: "Print a JSON array.")
    var json = false

    @OptionGroup var spool: SpoolOptions

    @OptionGroup var store: StoreOptions

    func validate() throws {
        _ = try StoreSelection.resolve(spool: spool, store: store)
        if let code, RequestRejection.Code(rawValue: code) == nil {
            throw ValidationError(
                "--code must be one of \(RequestRejection.Code.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let query = RejectionQuery(code: code, since: since?.date, limit: limit)
        let records = try await StoreSelection.resolve(spool: spool, store: store).withReader { store in
            try await store.rejections(query)
        }
        if json {
            print(
                JSONValue.array(
                    records.map { record in
                        .object([
                            "file": .string(record.fileName),
                            "received_at": .string(Timestamp.string(record.receivedAt)),
                            "code": .string(record.code.rawValue),
                            "message": .string(record.message),
                        ])
                    }
                ).compactJSON)
            return
        }
        if records.isEmpty {
            print("no rejections match")
            return
        }
        var table = TableOutput("RECEIVED", "FILE", "CODE", "MESSAGE")
        for record in records {
            table.append([Timestamp.string(record.receivedAt), record.fileName, record.code.rawValue, record.message])
        }
        print(table.render())
    }
}
