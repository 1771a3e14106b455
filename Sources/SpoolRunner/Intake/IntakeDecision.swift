import ProcessDefinitions

/// What intake decided about one inbox file.
enum IntakeDecision: Sendable {
    /// A valid new request: the process to create. The file leaves `inbox/` after the commit.
    case accept(ProcessRecord, ProcessDefinition)
    /// The same id with byte-identical content: the file is removed, nothing else happens.
    case identicalDuplicate
    case reject(RequestRejection)
    /// Not parsable (or not readable) yet, and not unchanged for `--settle` since first seen: a
    /// client may still be writing it.
    case wait(until: Double)
    /// Gone before it could be read.
    case gone
}

/// Why a request file could not be accepted (SPEC §3 "Rejections").
package struct RequestRejection: Error, Sendable {
    package enum Code: String, Sendable, CaseIterable {
        case invalidJSON = "invalid_json"
        case notAnObject = "not_an_object"
        case tooLarge = "too_large"
        case invalidProcessID = "invalid_process_id"
        case unknownProcessType = "unknown_process_type"
        case invalidInputs = "invalid_inputs"
        case duplicateProcessID = "duplicate_process_id"
        case notARegularFile = "not_a_regular_file"
        /// The runner may not read the file (its mode or owner): not a malformed request, a
        /// client's permissions to fix.
        case permissionDenied = "permission_denied"
        // Control messages only.
        case unknownAction = "unknown_action"
        case unknownProcess = "unknown_process"

        /// The same code as it appears in error objects and the `rejections` table: every
        /// rejection code is a failure code of the same text (`DomainTests` checks each).
        package var failureCode: FailureCode { FailureCode(rawValue: rawValue)! }
    }

    package var code: Code
    package var message: String
    /// The process type named by the request, when it named one.
    package var processType: String?
    /// Whether `outbox/<id>.json` gets a `rejected` status: only when the name is a valid id and
    /// no process with that id exists (a duplicate must leave the existing status alone).
    package var writesStatus: Bool

    package init(_ code: Code, _ message: String, processType: String? = nil, writesStatus: Bool = true) {
        self.code = code
        self.message = message
        self.processType = processType
        self.writesStatus = writesStatus
    }
}
