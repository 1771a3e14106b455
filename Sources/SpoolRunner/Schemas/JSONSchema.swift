/// The JSON Schemas (draft-07) of the three file formats, for editors and `spoolrunner schema`.
///
/// The text is compiled in (`JSONSchema+Text.swift`, written by `scripts/gen-docs.sh` from
/// `schemas/*.schema.json`), not shipped as a SwiftPM resource: an installed binary would crash
/// looking for a resource bundle that is not next to it.
package enum JSONSchema: String, CaseIterable, Sendable {
    case request, status, definition

    /// The file name under `schemas/` and next to the definitions.
    package var fileName: String { "\(rawValue).schema.json" }
}
