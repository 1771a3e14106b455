import ArgumentParser
import Foundation
import Logging
import ProcessDefinitions
import SpoolRunner
import SpoolStore
import SpoolStorePostgres

extension ServeCommand {
    /// `serve --store URL`: the engine on the fleet's PostgreSQL store (SPEC §9). The pool runs
    /// for the whole serve; the schema is migrated (once, under an advisory lock, whoever starts
    /// first), and this runner registers a new incarnation before anything is claimed.
    func serveShared(
        url: StoreURL, identity: String, layout: SpoolLayout, catalog: DefinitionCatalog, logger: Logger,
        startLevel: Logger.Level
    ) async throws {
        let runnerID = self.runnerID ?? Self.defaultRunnerID(spoolIdentity: identity)
        let store = PostgresStore(url: url, runnerID: runnerID, poolSize: storePool, logger: logger)
        store.membership.setListens(notify == .on)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            do {
                try await store.checkReachable()
                let report = try await store.migrate()
                if !report.applied.isEmpty {
                    logger.notice("store \(url): schema migrated from version \(report.from) to \(report.to)")
                }
                // The definitions' text first: `runners` shows each runner's hashes (drift between
                // hosts), and processes are accepted with them.
                let hashes = try await store.useDefinitions(
                    DefinitionTexts.read(directory: definitions.definitions, types: catalog.definitions.keys))
                let registration = try await store.join(
                    RunnerIdentity.current(
                        runnerID: runnerID, spool: layout.root, version: Version.current, maxTasks: maxTasks,
                        definitions: hashes),
                    lease: lease.duration)
                logger.log(
                    level: startLevel, "joined the fleet",
                    metadata: [
                        "store": "\(url)", "runner.id": "\(runnerID)",
                        "incarnation": "\(registration.lease.incarnation)",
                        "previous": "\(registration.previous.map { "\($0.state) on \($0.hostname)" } ?? "none")",
                    ])
            } catch let error as PostgresStoreError {
                let code: ExitCode =
                    switch error.code {
                    case .schemaTooNew: ExitStatus.storeTooNew
                    case .runnerIDInUse: ExitStatus.locked
                    default: ExitStatus.ioError
                    }
                throw fail("store \(url): \(error.description)", code)
            } catch let error as StoreError {
                throw fail(error)
            }
            try await serve(store: store, layout: layout, catalog: catalog, logger: logger, startLevel: startLevel) {
                configuration in
                configuration.lease = lease.duration
                configuration.storeDescription = url.description
                configuration.runnerID = runnerID
            }
        }
    }

    /// `<hostname>-<first 6 hex digits of runner.id>`: stable across restarts of one spool, and
    /// distinct for containers built from one image (which share /etc/machine-id).
    static func defaultRunnerID(spoolIdentity: String) -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(host.isEmpty ? "host" : host)-\(spoolIdentity.prefix(6))"
    }
}
