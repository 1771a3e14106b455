import Foundation
import ProcessDefinitions

/// Judges one request file of `inbox/`: accept, reject, or wait (SPEC §3).
///
/// It judges; it neither reads nor moves anything. The file was read and parsed off the engine
/// (`RequestFile`); the engine acts on the decision so that a request leaves `inbox/` only after
/// the commit that records it.
package struct RequestIntake: Sendable {
    let maxRequestBytes: Int
    /// How long an unparsable file must stay unchanged, as the runner sees it, before it is
    /// rejected.
    let settle: Double

    /// - Parameters:
    ///   - file: the file as read off the engine.
    ///   - existingRequest: the stored request body of an existing process with this id, if any.
    ///   - firstSeen: when the runner first saw the file with this identity (seconds since
    ///     1970): the start of its `--settle` wait.
    func examine(
        _ file: RequestFile, now: Date, catalog: DefinitionCatalog,
        existingRequest: (String) throws -> String?,
        firstSeen: (FileIdentity) -> Double
    ) rethrows -> IntakeDecision {
        let fileName = file.fileName
        let processID = file.processID
        guard ProcessID.isValid(processID), let outcome = file.outcome else {
            return .reject(
                RequestRejection(
                    .invalidProcessID,
                    "the file name must be <process_id>.json with process_id matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$; got '\(processID)'",
                    writesStatus: false))
        }
        // Looked up first: a file rejected under the id of an existing process must leave that
        // process's status file alone, whatever is wrong with the file.
        let existing = try existingRequest(processID)
        /// The end of the settle wait, or nil when the file has been unchanged long enough.
        func unsettled(_ identity: FileIdentity) -> Double? {
            let until = firstSeen(identity) + settle
            return now.timeIntervalSince1970 < until ? until : nil
        }
        let data: Data
        let identity: FileIdentity
        switch outcome {
        case .contents(let contents, let seen):
            data = contents
            identity = seen
        case .missing:
            return .gone
        case .notARegularFile(let kind):
            return .reject(
                RequestRejection(
                    .notARegularFile,
                    "\(fileName) is a \(kind), not a regular file; write the request to tmp/ and rename(2) it into inbox/",
                    writesStatus: existing == nil))
        case .tooLarge(let size):
            return .reject(
                RequestRejection(
                    .tooLarge, "\(fileName) is \(size) bytes; the limit is \(maxRequestBytes) (--max-request-bytes)",
                    writesStatus: existing == nil))
        case .unreadable(let reason):
            // A client may still be setting the mode (write, then chmod): judged after --settle.
            if let identity = file.unreadableIdentity, let until = unsettled(identity) { return .wait(until: until) }
            if reason.deniesAccess {
                return .reject(
                    RequestRejection(
                        .permissionDenied,
                        "\(fileName) cannot be read by the runner (\(reason)); make it readable by the runner's user or group, e.g. chmod 644, before renaming it into inbox/",
                        writesStatus: existing == nil))
            }
            return .reject(
                RequestRejection(
                    .notARegularFile, "\(fileName) cannot be read: \(reason)", writesStatus: existing == nil))
        }

        if identity.links > 1 {
            // A client's link(2)-then-unlink drop has two names for a moment; a file hard-linked
            // from outside the spool keeps them. Never accepted: it is someone else's file.
            if let until = unsettled(identity) { return .wait(until: until) }
            return .reject(
                RequestRejection(
                    .notARegularFile,
                    "\(fileName) is a hard link (the file has \(identity.links) names), not a file of its own; write the request to tmp/ and rename(2) it into inbox/",
                    writesStatus: existing == nil))
        }
        let body = String(decoding: data, as: UTF8.self)
        let parsed = file.parsed ?? .success(.null)
        if let existing {
            if existing.utf8.elementsEqual(data) { return .identicalDuplicate }
            // Possibly still being written: a slow client's partial file must not be judged yet.
            if case .failure = parsed, let until = unsettled(identity) {
                return .wait(until: until)
            }
            return .reject(
                RequestRejection(
                    .duplicateProcessID,
                    "a process with id '\(processID)' already exists with a different request; use a new id (the existing process is untouched)",
                    writesStatus: false))
        }

        let value: JSONValue
        switch parsed {
        case .success(let parsedValue):
            value = parsedValue
        case .failure(let error):
            if let until = unsettled(identity) { return .wait(until: until) }
            return .reject(RequestRejection(.invalidJSON, "\(fileName) is not valid JSON: \(error.description)"))
        }
        guard case .object(let fields) = value else {
            return .reject(
                RequestRejection(
                    .notAnObject,
                    "\(fileName) holds a JSON \(value.typeName); a request is a JSON object such as {\"process_type\": \"...\", ...}"
                ))
        }
        let processType: String
        let definition: ProcessDefinition
        let inputs: [String: JSONValue]
        switch Self.judge(fields, fileName: fileName, catalog: catalog) {
        case .success(let judged): (processType, definition, inputs) = judged
        case .failure(let rejection): return .reject(rejection)
        }
        let record = ProcessRecord(
            processID: processID, processType: processType, status: .pending, inputs: inputs,
            requestJSON: body, createdAt: now, updatedAt: now)
        return .accept(record, definition)
    }

    /// `process_type` and the inputs of a request object, judged against the definitions: the
    /// same verdict and message for the runner's intake and for `submit`'s check before it drops.
    /// - Returns: the type, its definition and the inputs with defaults applied, or the rejection
    ///   (`unknown_process_type`, `invalid_inputs`).
    package static func judge(
        _ request: [String: JSONValue], fileName: String, catalog: DefinitionCatalog
    ) -> Result<(String, ProcessDefinition, [String: JSONValue]), RequestRejection> {
        var fields = request
        guard case .string(let processType)? = fields.removeValue(forKey: "process_type") else {
            return .failure(
                RequestRejection(
                    .unknownProcessType,
                    "\(fileName) has no string \"process_type\"; known types: \(Self.known(catalog))"))
        }
        guard let definition = catalog.definitions[processType] else {
            if let broken = catalog.errors.first(where: { DefinitionLoader.processType(ofFile: $0.file) == processType }
            ) {
                return .failure(
                    RequestRejection(
                        .unknownProcessType,
                        "the definition of '\(processType)' is invalid (\(broken.description)); fix it, run `spoolrunner validate`, and restart the runner",
                        processType: processType))
            }
            return .failure(
                RequestRejection(
                    .unknownProcessType,
                    "no definition for process_type '\(processType)'; known types: \(Self.known(catalog))",
                    processType: processType))
        }
        switch definition.validateInputs(fields) {
        case .success(let valid): return .success((processType, definition, valid))
        case .failure(let error):
            return .failure(RequestRejection(.invalidInputs, error.message, processType: processType))
        }
    }

    static func known(_ catalog: DefinitionCatalog) -> String {
        let names = catalog.definitions.keys.sorted()
        return names.isEmpty ? "(none: check --definitions)" : names.joined(separator: ", ")
    }
}
