import Foundation
import PostgresNIO
import SpoolStorePostgres
import Testing

@Suite("Runner registration and leases")
struct RunnerLeaseTests {
    static func identity(_ id: String, machine: String, boot: String = "boot-1", pid: Int32, ticks: Int64?)
        -> RunnerIdentity
    {
        RunnerIdentity(
            runnerID: id, machineID: machine, bootID: boot, hostname: "host-of-\(machine)", spool: "/spool", pid: pid,
            pidStartTicks: ticks, version: "test", maxTasks: 4, definitions: ["greet": "ab12"])
    }

    @Test("registration counts incarnations; another machine's live runner id is refused")
    func registration() async throws {
        try await withStores("registration") { stores in
            let store = stores[0]
            let first = try await store.register(
                Self.identity("r1", machine: "m-a", pid: 4_000_001, ticks: 7), lease: .seconds(15))
            #expect(first.lease.incarnation == 1)
            #expect(first.previous == nil)
            #expect(
                try await store.value("SELECT state FROM runners WHERE runner_id = 'r1'", as: String.self) == "alive")
            #expect(
                try await store.value(
                    "SELECT definitions->>'greet' FROM runners WHERE runner_id = 'r1'", as: String.self)
                    == "ab12")

            // Another machine while r1's lease runs: refused, naming the host and the expiry.
            do {
                _ = try await store.register(
                    Self.identity("r1", machine: "m-b", pid: 12, ticks: 1), lease: .seconds(15))
                Issue.record("a live runner id was taken by another machine")
            } catch let error as PostgresStoreError {
                #expect(error.code == .runnerIDInUse)
                #expect(error.description.contains("host-of-m-a"), "\(error)")
                #expect(error.description.contains("expires at"), "\(error)")
            }

            // The same machine and boot, the old pid gone: a new incarnation, at once.
            let gone = try Self.finishedPID()
            _ = try await store.register(
                Self.identity("r2", machine: "m-c", pid: gone, ticks: 99), lease: .seconds(15))
            let here = RunnerIdentity.current(runnerID: "r2", spool: "/spool", version: "test", maxTasks: 4)
            var again = Self.identity("r2", machine: "m-c", pid: getpid(), ticks: here.pidStartTicks)
            again.pid = getpid()
            let second = try await store.register(again, lease: .seconds(15))
            #expect(second.lease.incarnation == 2)
            #expect(second.previous?.pid == gone)
            #expect(second.previous?.isGone(from: again) == true)

            // The same machine and boot, and the old process still runs (it is us): refused.
            do {
                _ = try await store.register(again, lease: .seconds(15))
                Issue.record("a live runner on this machine was replaced")
            } catch let error as PostgresStoreError {
                #expect(error.code == .runnerIDInUse)
            }

            // Once its lease has expired, anyone may take the id over.
            try await store.execute(
                "UPDATE runners SET expires_at = now() - interval '1 second' WHERE runner_id = 'r1'")
            let taken = try await store.register(
                Self.identity("r1", machine: "m-b", pid: 12, ticks: 1), lease: .seconds(15))
            #expect(taken.lease.incarnation == 2)
            #expect(taken.previous?.expired == true)
            #expect(taken.previous?.ranHere(Self.identity("r1", machine: "m-b", pid: 12, ticks: 1)) == false)
        }
    }

    @Test("renewal extends the lease; an expired or superseded lease is lost")
    func renewal() async throws {
        try await withStores("renewal") { stores in
            let store = stores[0]
            let lease = try await store.registerTestRunner(lease: .seconds(15))
            #expect(lease.deadline == lease.renewedAt + .seconds(10))
            #expect(lease.renewalInterval == .seconds(3))
            try await Task.sleep(for: .milliseconds(20))
            let renewed = try await store.renew(lease, runningTasks: 3)
            #expect(renewed.expiresAt > lease.expiresAt)
            #expect(renewed.renewedAt > lease.renewedAt)
            #expect(try await store.value("SELECT running_tasks::int8 FROM runners", as: Int64.self) == 3)

            // Expired on the database clock: the renewal updates nothing.
            try await store.execute("UPDATE runners SET expires_at = now() - interval '1 second'")
            await #expect(throws: PostgresStoreError.self) { _ = try await store.renew(renewed) }
            do { _ = try await store.renew(renewed) } catch let error as PostgresStoreError {
                #expect(error.code == .leaseLost)
            }

            // A newer incarnation: the old one's renewal is refused even before expiry.
            let next = try await store.registerTestRunner(lease: .seconds(15))
            #expect(next.incarnation == lease.incarnation + 1)
            do {
                _ = try await store.renew(lease)
                Issue.record("an old incarnation renewed")
            } catch let error as PostgresStoreError {
                #expect(error.code == .leaseLost)
            }
            _ = try await store.renew(next)
        }
    }

    /// The pid of a process that has exited (and been reaped).
    static func finishedPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
