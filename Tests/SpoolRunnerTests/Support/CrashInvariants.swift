import Foundation
import GRDB
import SpoolRunner
import Testing

/// The definitions the crash tests run, and the invariants they check after any crash.
///
/// Every task appends `<task> <attempt>` to `runs.log` in its work directory, so the number of
/// times a task really ran can be compared with the attempts the store recorded; the `ledger`
/// type's `charge` task is `idempotent: false` and appends its process id to one shared ledger.
enum CrashWorkload {
    static let types = ["chain", "ledger", "flaky", "doomed"]

    static func install(in spool: TemporarySpool) throws {
        let ledger = spool.root.appendingPathComponent("ledger.txt").path
        try spool.define("chain.yaml", """
            tasks:
              - name: one
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log'
              - name: two
                mode: async
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log; sleep 0.05'
              - name: three
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log'
            """)
        try spool.define("ledger.yaml", """
            tasks:
              - name: prepare
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log'
              - name: charge
                idempotent: false
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log; echo "$SPOOL_PROCESS_ID" >> "$LEDGER"; sleep 0.02'
                env: {LEDGER: "\(ledger)"}
              - name: receipt
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log'
            """)
        try spool.define("flaky.yaml", """
            tasks:
              - name: wobble
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log; [ "$SPOOL_ATTEMPT" -ge 2 ]'
                retry: {max_attempts: 3, backoff: 20ms, max_backoff: 100ms}
              - name: after
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log'
            """)
        try spool.define("doomed.yaml", """
            tasks:
              - name: fall
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log; exit 3'
              - name: never
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log'
            on_failure:
              - name: cleanup
                shell: 'echo "$SPOOL_TASK_NAME $SPOOL_ATTEMPT" >> runs.log'
            """)
    }

    static func request(_ index: Int) -> (id: String, body: String) {
        let type = types[index % types.count]
        return (String(format: "req-%05d", index), #"{"process_type": "\#(type)"}"#)
    }

    /// Checks every invariant of SPEC §6 on a spool whose runner has finished cleanly.
    static func check(_ spool: TemporarySpool, requests: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(spool.inboxFiles().isEmpty, "inbox not empty: \(spool.inboxFiles())", sourceLocation: sourceLocation)
        let queue = try DatabaseQueue(path: spool.layout.defaultDatabase)
        let (rows, tasks, integrity) = try queue.read { db in
            (try Row.fetchAll(db, sql: "SELECT process_id, process_type, status FROM processes"),
             try Row.fetchAll(db, sql: "SELECT process_id, task_name, status, attempts FROM tasks"),
             try String.fetchOne(db, sql: "PRAGMA integrity_check"))
        }
        #expect(integrity == "ok", sourceLocation: sourceLocation)
        var processRows: [String: Int] = [:]
        var processType: [String: String] = [:]
        for row in rows {
            processRows[row["process_id"], default: 0] += 1
            processType[row["process_id"]] = row["process_type"]
        }
        for id in requests {
            #expect(processRows[id] == 1, "\(id): \(processRows[id] ?? 0) processes rows", sourceLocation: sourceLocation)
            let status = spool.status(id)
            #expect(status?.status.isFinal == true, "\(id): status \(String(describing: status?.status))", sourceLocation: sourceLocation)
        }
        // A task never ran more often than the attempts the store recorded: so a success, once
        // recorded, was never run again.
        var tasksByProcess: [String: [Row]] = [:]
        for task in tasks { tasksByProcess[task["process_id"], default: []].append(task) }
        let ledgerPath = spool.root.appendingPathComponent("ledger.txt").path
        let ledger = ((try? String(contentsOfFile: ledgerPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        var ledgerCounts: [String: Int] = [:]
        for line in ledger { ledgerCounts[line, default: 0] += 1 }
        for id in requests {
            let runs = ((try? String(contentsOfFile: spool.layout.workDirectory(id) + "/runs.log", encoding: .utf8)) ?? "")
                .split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
            for task in tasksByProcess[id] ?? [] {
                let name: String = task["task_name"]
                let attempts: Int = task["attempts"]
                let executions = runs.filter { $0 == name }.count
                #expect(executions <= attempts, "\(id)/\(name): ran \(executions) times, \(attempts) attempts recorded", sourceLocation: sourceLocation)
                if processType[id] == "ledger" && name == "charge" {
                    let status: String = task["status"]
                    let lines = ledgerCounts[id] ?? 0
                    #expect(lines <= 1, "\(id): \(lines) ledger lines", sourceLocation: sourceLocation)
                    if status == "success" {
                        #expect(lines == 1, "\(id): charge succeeded with \(lines) ledger lines", sourceLocation: sourceLocation)
                    }
                }
            }
        }
    }
}
