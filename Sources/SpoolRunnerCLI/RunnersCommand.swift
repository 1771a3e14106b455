import ArgumentParser
import Foundation
import SpoolStorePostgres

/// `spoolrunner runners --store URL`: every runner of a fleet sharing one PostgreSQL store.
struct RunnersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runners",
        abstract: "List the runners sharing a PostgreSQL store: health, leader, owned processes, definitions.",
        discussion:
            "Health is judged against each runner's own lease on the database clock: healthy, late (missed a renewal), expired, dead (taken over) or stopped. DEFINITIONS shows each process type's definition hash, so drift between hosts is visible."
    )

    @Flag(help: "Print a JSON array.")
    var json = false

    @OptionGroup var store: StoreOptions

    func validate() throws { _ = try store.url() }

    func run() async throws {
        let runners = try await store.withStore(runnerID: "runners") { store in
            // A store never migrated has no runners yet: say so instead of failing on the table.
            try await store.migrationState() == nil ? [] : try await store.runners()
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(runners), as: UTF8.self))
            return
        }
        if runners.isEmpty {
            print("no runners in store \(try store.url())")
            return
        }
        var table = TableOutput(
            "RUNNER", "HOST", "PID", "VERSION", "STARTED", "HEARTBEAT", "HEALTH", "LEADER", "OWNED", "TASKS",
            "DEFINITIONS")
        for runner in runners {
            table.append([
                runner.runnerID, runner.hostname, String(runner.pid), runner.version, runner.startedAt,
                String(format: "%.1fs ago", runner.heartbeatAgeSeconds), runner.health.rawValue,
                runner.leader ? "yes" : "", String(runner.ownedProcesses), "\(runner.runningTasks)/\(runner.maxTasks)",
                runner.definitions.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value.prefix(8))" }.joined(
                    separator: " "),
            ])
        }
        print(table.render())
    }
}
