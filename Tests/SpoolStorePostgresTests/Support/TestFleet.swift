import Foundation
import SpoolStorePostgres

/// The hosts of one fleet test: each with a spool and a definitions directory of its own, the
/// same definitions, and one shared directory for the ledger their tasks append to
/// (`$FLEET_LEDGER`). What each test sets up alike, so that a test says only what differs.
final class TestFleet: Sendable {
    let shared: String
    let hosts: [FleetHost]

    /// - Parameter definitions: file name → YAML, written on every host.
    init(_ names: [String], definitions: [String: String] = [:]) throws {
        let directory = NSTemporaryDirectory() + "fleet-shared-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        shared = directory
        hosts = try names.map { try FleetHost($0, shared: directory) }
        for host in hosts {
            for (name, yaml) in definitions { try host.define(name, yaml) }
        }
    }

    /// Writes `definitions/<name>` on every host.
    func define(_ name: String, _ yaml: String) throws {
        for host in hosts { try host.define(name, yaml) }
    }

    /// The one host of a single-host fleet, or the first.
    var host: FleetHost { hosts[0] }

    /// The ledger's lines as the tasks wrote them.
    var ledgerLines: [String] {
        ((try? String(contentsOfFile: shared + "/ledger", encoding: .utf8)) ?? "").split(separator: "\n").map(
            String.init)
    }

    /// The ledger, parsed (`start|end|term <process> <task> <pid> <epoch seconds>` lines).
    var ledger: Ledger { Ledger(path: shared + "/ledger") }

    /// A supervisor that starts each host's runner with `extra` (see `FleetHost.start`).
    func supervisor(
        _ url: StoreURL, _ extra: [String] = [], contained: Bool = false, environment: [String: String] = [:]
    ) -> FleetSupervisor {
        FleetSupervisor(hosts: hosts) { host in
            try host.start(url, extra, contained: contained, environment: environment)
        }
    }
}

/// Runs `body` with a fresh database of the test server (`db`, not yet migrated: the runners do
/// it) and a fleet of `names` hosts with `definitions`.
func withFleet<Result: Sendable>(
    _ label: String, _ names: [String] = ["alpha"], definitions: [String: String] = [:],
    _ body: @Sendable (PostgresStore, TestFleet) async throws -> Result
) async throws -> Result {
    try await withStores(label, migrate: false) { stores in
        try await body(stores[0], try TestFleet(names, definitions: definitions))
    }
}
