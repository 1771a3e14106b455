import Foundation
import GRDB
import SpoolRunner
import Testing

/// The definitions the crash tests run, and the invariants they check after any crash.
///
/// The workload is `scripts/chaos-workload/`: every task appends `<task> <attempt>` to `runs.log`
/// in its work directory, so the number of times a task really ran can be compared with the
/// attempts the store recorded; the `ledger` type's `charge` task is `idempotent: false` and
/// appends its process id to one shared ledger.
enum CrashWorkload {
    static let types = ["chain", "ledger", "flaky", "doomed"]

    /// Copies `scripts/chaos-workload/*.yaml` (shared with `scripts/chaos.sh`) into the spool's
    /// definitions; the ledger lands in `<root>/ledger.txt`, beside the spool.
    static func install(in spool: TemporarySpool) throws {
        let workload = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("scripts/chaos-workload")
        for type in types {
            let yaml = try String(contentsOf: workload.appendingPathComponent("\(type).yaml"), encoding: .utf8)
            try spool.define("\(type).yaml", yaml)
        }
    }

    static func request(_ index: Int) -> (id: String, body: String) {
        let type = types[index % types.count]
        return (String(format: "req-%05d", index), #"{"process_type": "\#(type)"}"#)
    }

    /// Checks every invariant of SPEC §6 on a spool whose runner has finished cleanly.
    static func check(_ spool: TemporarySpool, requests: [String], sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        #expect(spool.inboxFiles().isEmpty, "inbox not empty: \(spool.inboxFiles())", sourceLocation: sourceLocation)
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let (rows, tasks, integrity) = try queue.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT process_id, process_type, status FROM processes"),
                try Row.fetchAll(db, sql: "SELECT process_id, task_name, status, attempts FROM tasks"),
                try String.fetchOne(db, sql: "PRAGMA integrity_check")
            )
        }
        #expect(integrity == "ok", sourceLocation: sourceLocation)
        var processRows: [String: Int] = [:]
        var processType: [String: String] = [:]
        for row in rows {
            processRows[row["process_id"], default: 0] += 1
            processType[row["process_id"]] = row["process_type"]
        }
        for id in requests {
            #expect(
                processRows[id] == 1, "\(id): \(processRows[id] ?? 0) processes rows", sourceLocation: sourceLocation)
            let status = spool.status(id)
            #expect(
                status?.status.isFinal == true, "\(id): status \(String(describing: status?.status))",
                sourceLocation: sourceLocation)
        }
        // A task never ran more often than the attempts the store recorded: so a success, once
        // recorded, was never run again.
        var tasksByProcess: [String: [Row]] = [:]
        for task in tasks { tasksByProcess[task["process_id"], default: []].append(task) }
        let ledgerPath = spool.root.appendingPathComponent("ledger.txt").path
        let ledger = ((try? String(contentsOfFile: ledgerPath, encoding: .utf8)) ?? "").split(separator: "\n").map(
            String.init)
        var ledgerCounts: [String: Int] = [:]
        for line in ledger { ledgerCounts[line, default: 0] += 1 }
        for id in requests {
            let runs =
                ((try? String(contentsOfFile: spool.layout.workDirectory(id) + "/runs.log", encoding: .utf8)) ?? "")
                .split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
            for task in tasksByProcess[id] ?? [] {
                let name: String = task["task_name"]
                let attempts: Int = task["attempts"]
                let executions = runs.filter { $0 == name }.count
                #expect(
                    executions <= attempts, "\(id)/\(name): ran \(executions) times, \(attempts) attempts recorded",
                    sourceLocation: sourceLocation)
                if processType[id] == "ledger" && name == "charge" {
                    let status: String = task["status"]
                    let lines = ledgerCounts[id] ?? 0
                    #expect(lines <= 1, "\(id): \(lines) ledger lines", sourceLocation: sourceLocation)
                    if status == "success" {
                        #expect(
                            lines == 1, "\(id): charge succeeded with \(lines) ledger lines",
                            sourceLocation: sourceLocation)
                    }
                }
            }
        }
    }
}
