import ArgumentParser
import Foundation
import ProcessDefinitions
import SpoolRunner

/// `spoolrunner submit`: drops a request atomically (tmp/ then rename), prints its id.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a request: write it to tmp/ and rename it into inbox/.",
        discussion: """
            NAME=VALUE sets an input; its value is typed by the definition's input (an integer input \
            gets 3, not "3"). NAME:=JSON sets a raw JSON value (count:=3, tags:='["a","b"]'), which \
            needs no definition.

            Before it drops the request, submit checks it against the definitions it finds \
            (--definitions, SPOOLRUNNER_DEFINITIONS, or ./definitions) exactly as the runner will: an \
            unknown type or an invalid input exits 65 with the runner's message, and nothing is \
            dropped. When it finds no definitions it says so on standard error, sends NAME=VALUE as \
            strings, and leaves the check to the runner.

            With --wait it follows the status file and exits 0 only if the process ends in success \
            (1 otherwise, 124 on --timeout). While no runner holds the spool's lock it says so on \
            standard error, every 30 seconds, and keeps waiting.
            """
    )

    @Argument(help: "The process type (a definition's name).", completion: CompletionSource.processTypes)
    var type: String

    @Argument(help: ArgumentHelp("Inputs as NAME=VALUE or NAME:=JSON.", valueName: "NAME=VALUE"))
    var inputs: [String] = []

    @Option(
        help: ArgumentHelp("Read inputs from a JSON object file ('-' for standard input).", valueName: "FILE"),
        completion: .file(extensions: ["json"]))
    var json: String?

    @Option(help: "Use this process id instead of a generated one (it is the idempotency key).")
    var id: String?

    @Flag(help: "Wait for the process to end; exit 0 only on success.")
    var wait = false

    @Option(help: ArgumentHelp("With --wait: give up after this long (exit 124).", valueName: "DUR"))
    var timeout: DurationArgument?

    @OptionGroup var spool: SpoolRootOptions
    @OptionGroup var definitions: DefinitionsOptions

    func validate() throws {
        if let id, !ProcessID.isValid(id) {
            throw ValidationError("--id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
        }
        if timeout != nil && !wait { throw ValidationError("--timeout goes with --wait") }
        for input in inputs where !input.contains("=") {
            throw ValidationError("'\(input)' is not NAME=VALUE")
        }
    }

    func run() async throws {
        var fields: [String: JSONValue] = [:]
        if let json {
            let data: Data?
            data =
                json == "-"
                ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: json)
            guard let data else { throw fail("cannot read \(json)", ExitStatus.noInput) }
            let value: JSONValue
            do {
                // The runner's strict reading, so a file it would reject fails here already.
                value = try StrictJSONParser.parse(data)
            } catch {
                throw fail("\(json) is not valid JSON: \(error.description)", ExitStatus.dataError)
            }
            guard case .object(let object) = value else {
                throw fail("\(json) does not hold a JSON object", ExitStatus.dataError)
            }
            fields = object
        }
        let catalog = DefinitionCatalog.load(directory: definitions.definitions)
        var isDirectory: ObjCBool = false
        let exists =
            FileManager.default.fileExists(atPath: definitions.definitions, isDirectory: &isDirectory)
            && isDirectory.boolValue
        let found = exists && (!catalog.definitions.isEmpty || !catalog.errors.isEmpty)
        if !found {
            FileHandleOutput.write(
                "spoolrunner: no definitions found in \(definitions.definitions) (--definitions, SPOOLRUNNER_DEFINITIONS): the request is not checked before it is dropped, and NAME=VALUE values are sent as strings (use NAME:=JSON for numbers, booleans, objects)\n"
            )
        }
        let definition = catalog.definitions[type]
        for input in inputs {
            let (name, value) = try parse(input, definition: definition)
            fields[name] = value
        }
        fields["process_type"] = .string(type)
        let processID = id ?? ProcessID.generate()
        if found,
            case .failure(let rejection) = RequestIntake.judge(fields, fileName: "\(processID).json", catalog: catalog)
        {
            throw fail(
                "the runner would reject this request, so it was not dropped: \(rejection.code.rawValue): \(rejection.message)",
                ExitStatus.dataError)
        }
        let layout = spool.layout
        // A status file already there belongs to an earlier request with this id: --wait must
        // not read it as this one's answer before the runner has taken this file.
        let preexisting: Bool
        do {
            preexisting = try StatusWriter(layout: layout).read(processID: processID) != nil
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        let dropped = Date().addingTimeInterval(-0.01)
        do {
            try RequestDropper(layout: layout).drop(
                processID: processID, body: Data((JSONValue.object(fields).compactJSON + "\n").utf8))
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        print(processID)
        guard wait else { return }
        let deadline = timeout.map { Date().addingTimeInterval($0.duration.seconds) }
        let writer = StatusWriter(layout: layout)
        var lastStatus: ProcessStatus?
        var notice = RunnerNotice(layout: layout)
        while true {
            notice.check()
            let taken = !preexisting || !FileManager.default.fileExists(atPath: "\(layout.inbox)/\(processID).json")
            if taken, let rejection = Self.rejection(of: processID, in: layout, since: dropped) {
                FileHandleOutput.write("\(processID): rejected: \(rejection)\n")
                throw ExitStatus.failed
            }
            let current: StatusDocument?
            do {
                current = taken ? try writer.read(processID: processID) : nil
            } catch {
                throw fail(error.description, ExitStatus.of(error))
            }
            if let document = current {
                if document.status != lastStatus {
                    lastStatus = document.status
                    FileHandleOutput.write("\(processID): \(document.status.rawValue)\n")
                }
                if document.status.isFinal {
                    if document.status == .success { return }
                    if let error = document.error {
                        FileHandleOutput.write("\(processID): \(error.code): \(error.message)\n")
                    }
                    throw ExitStatus.failed
                }
            }
            if let deadline, Date() >= deadline {
                throw fail(
                    "\(processID) has not ended after --timeout; it goes on (see `spoolrunner status \(processID)`)",
                    ExitStatus.timedOut)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The error of this request's rejection, when `rejected/` has one newer than `since`: a
    /// rejection that leaves an existing status file alone (duplicate_process_id) shows only there.
    static func rejection(of processID: String, in layout: SpoolLayout, since: Date) -> String? {
        let prefix = "\(processID).json"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: layout.rejected) else { return nil }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".error.json") {
            let path = "\(layout.rejected)/\(name)"
            guard let modified = FileIdentity.of(path)?.modified,
                modified >= since,
                let data = FileManager.default.contents(atPath: path),
                case .object(let document)? = try? JSONDecoder().decode(JSONValue.self, from: data),
                case .object(let error)? = document["error"]
            else { continue }
            return "\(error["code"]?.templateText ?? "?"): \(error["message"]?.templateText ?? "")"
        }
        return nil
    }

    /// `NAME=VALUE` typed by the definition's input, or `NAME:=JSON`.
    func parse(_ input: String, definition: ProcessDefinition?) throws -> (String, JSONValue) {
        if let range = input.range(of: ":="), !input[..<range.lowerBound].contains("=") {
            let name = String(input[..<range.lowerBound])
            let text = String(input[range.upperBound...])
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                throw fail("\(name):= needs a JSON value; got \(text)", ExitStatus.dataError)
            }
            return (name, value)
        }
        let equals = input.firstIndex(of: "=")!
        let name = String(input[..<equals])
        let text = String(input[input.index(after: equals)...])
        let declared = definition?.inputs.first { $0.name == name }?.type
        if declared == .string || declared == nil && definition != nil {
            return (name, .string(text))
        }
        if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), declared != nil {
            return (name, value)
        }
        return (name, .string(text))
    }
}
