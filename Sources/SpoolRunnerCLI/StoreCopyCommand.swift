import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner
import SpoolStorePostgres

/// `spoolrunner store copy --from history.sqlite --to URL`: moves a spool's history into a
/// PostgreSQL store once, when its user outgrows one machine.
struct StoreCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a spool's SQLite history into a PostgreSQL store (rerun it to finish an interrupted copy).",
        discussion:
            "Processes with their tasks and events, rejections and schedule state are copied; a process the PostgreSQL store has already is left alone, so the copy can be run again. The spool's runner must be stopped: the copy holds the spool's lock while it works. Copied processes belong to no runner: the fleet's runners claim the unfinished ones, which must have a definition in --definitions. The spool's runner id (--runner-id, by default the one `serve --store` gives this spool) keeps writing their status files."
    )

    @Option(
        help: ArgumentHelp("The SQLite history store to copy (SPOOL/history.sqlite).", valueName: "FILE"),
        completion: .file(extensions: ["sqlite"]))
    var from: String

    @Option(help: ArgumentHelp("The PostgreSQL store to copy into (env SPOOLRUNNER_STORE).", valueName: "URL"))
    var to: String?

    @Option(
        name: .long, help: ArgumentHelp("Read the store's password from the first line of FILE.", valueName: "FILE"),
        completion: .file())
    var storePasswordFile: String?

    @Option(
        help: ArgumentHelp("The spool the history belongs to (default: the directory of --from).", valueName: "DIR"),
        completion: .directory)
    var spool: String?

    @Option(
        help: ArgumentHelp(
            "The runner that keeps the copied processes' status files (default: the spool's serve --store runner id, <host>-<first 6 hex of runner.id>).",
            valueName: "ID"))
    var runnerID: String?

    @OptionGroup var definitions: DefinitionsOptions

    func validate() throws { _ = try url() }

    func url() throws -> StoreURL {
        guard let text = to ?? ProcessInfo.processInfo.environment["SPOOLRUNNER_STORE"], !text.isEmpty else {
            throw ValidationError("--to URL (or SPOOLRUNNER_STORE) is required")
        }
        do {
            return try StoreURL.parse(text, passwordFile: storePasswordFile)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let url = try url()
        guard FileManager.default.fileExists(atPath: from) else {
            throw fail("\(from): no such history store", ExitStatus.noInput)
        }
        let layout = SpoolLayout(root: spool ?? URL(fileURLWithPath: from).deletingLastPathComponent().path)
        // The spool's runner must not write the history while it is copied: it would be left out.
        let lock: SpoolLock
        do {
            lock = try SpoolLock(path: layout.lockFile)
        } catch  where error.code == .locked {
            throw fail(
                "a runner holds the spool \(layout.root) (\(layout.lockFile)): stop it before copying its history",
                ExitStatus.locked)
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        let yaml = Self.definitionTexts(directory: definitions.definitions)
        let subscriber = runnerID ?? Self.spoolRunnerID(layout)
        let source = SQLiteStore(readOnlyPath: from)
        let missing: [String]
        do {
            missing = try await PostgresStore.typesWithoutDefinition(in: source, definitions: yaml)
        } catch {
            throw fail(error)
        }
        guard missing.isEmpty else {
            throw fail(
                "\(from) has unfinished processes of \(missing.joined(separator: ", ")), and \(definitions.definitions) has no definition to run them with (\(missing.map { "\($0).yaml" }.joined(separator: ", "))): give the spool's definitions directory with --definitions DIR",
                ExitStatus.noInput)
        }
        let fromPath = from
        let report = try await StoreOptions.withStore(url: url, runnerID: "store-copy") { store in
            _ = try await store.migrate()
            do {
                return try await store.copyHistory(from: source, definitions: yaml, subscriber: subscriber) {
                    report in
                    FileHandleOutput.write("copied \(report.copied + report.present) process(es) so far\n")
                }
            } catch let error as StoreError {
                throw fail(error)
            }
        }
        withExtendedLifetime(lock) {}
        print(
            "copied \(report.copied) process(es) (\(report.present) already there), \(report.rejections) rejection(s) and \(report.scheduleStates) schedule state(s) from \(fromPath) to \(url)\(subscriber.map { "; status files kept by runner \($0)" } ?? "")"
        )
    }

    /// process type → the text of its definition file, for every definition that loads.
    static func definitionTexts(directory: String) -> [String: String] {
        let catalog = DefinitionCatalog.load(directory: directory)
        return catalog.definitions.compactMapValues { try? String(contentsOfFile: $0.file, encoding: .utf8) }
    }

    /// The runner id `serve --store` gives this spool: `<hostname>-<first 6 hex digits of
    /// runner.id>`; nil when the spool has no identity yet (no runner ever ran on it).
    static func spoolRunnerID(_ layout: SpoolLayout) -> String? {
        guard let text = try? String(contentsOfFile: layout.identityFile, encoding: .utf8) else { return nil }
        let identity = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard identity.count == 32 else { return nil }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(host.isEmpty ? "host" : host)-\(identity.prefix(6))"
    }
}
