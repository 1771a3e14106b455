import Foundation
import Synchronization

/// What a service manager does for a test fleet: a runner that exits by itself (a poison task
/// killed it) is started again on its spool after 0.5 s. The test takes a host out of its hands
/// while it kills and restarts that host itself (`hold` / `release`).
final class FleetSupervisor: Sendable {
    let hosts: [FleetHost]
    /// Starts a host's runner (the test's own arguments: contained or not, environment).
    let start: @Sendable (FleetHost) throws -> Void
    /// Hosts the test stops and starts itself, and the runners' own deaths seen so far.
    private let state = Mutex<(held: Set<String>, deaths: [(host: String, at: Date)])>(([], []))

    init(hosts: [FleetHost], start: @escaping @Sendable (FleetHost) throws -> Void) {
        self.hosts = hosts
        self.start = start
    }

    /// The runners that died by themselves, in order, with when it was seen.
    var deaths: [(host: String, at: Date)] { state.withLock { $0.deaths } }

    /// The test kills or stops `host` itself: not restarted until `release`.
    func hold(_ host: FleetHost) {
        state.withLock { _ = $0.held.insert(host.name) }
    }

    /// Starts `host` (unless it runs) and gives it back to the supervisor.
    func release(_ host: FleetHost) throws {
        try state.withLock { state in
            if host.runner?.isRunning != true { try start(host) }
            state.held.remove(host.name)
        }
    }

    /// Watches every 50 ms until cancelled.
    func run() async {
        while !Task.isCancelled {
            for host in hosts where host.runner?.isRunning == false {
                let held = state.withLock { $0.held.contains(host.name) }
                guard !held else { continue }
                let died = Date()
                try? await Task.sleep(for: .milliseconds(500))
                state.withLock { state in
                    guard !state.held.contains(host.name), host.runner?.isRunning == false else { return }
                    state.deaths.append((host.name, died))
                    try? start(host)
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
