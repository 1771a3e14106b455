import Foundation

/// Finds the status files that are missing or differ from the store (SPEC §4: status files are a
/// projection of the history store), a bounded amount of work per call, so that the status
/// writer thread can run it between its writes.
///
/// Two ways in, both cheap with 100,000 status files: processes with an event since the last
/// pass (the events table's primary key, so no clock is trusted), and a sweep over every process
/// in rowid order, one page at a time. A file is stale when its `updated_at` line differs from
/// the store's; only that line is compared, so nothing is decoded.
struct StatusReconciler: Sendable {
    let store: any Store
    let layout: SpoolLayout
    /// Processes looked at per page of a sweep.
    var pageSize = 1000

    typealias Stamp = ProcessStamp

    // The status thread does blocking file I/O by design (see `StatusPublisher`): it waits for
    // its store reads the same way, never on the engine's executor.

    /// The newest event id; what changes after it is found by `changed(after:)`.
    func lastEventID() throws -> Int64 {
        try BlockingWait.run { [store] in try await store.lastEventID() }
    }

    /// Processes with an event after `eventID`, and the newest event id.
    func changed(after eventID: Int64) throws -> (stamps: [Stamp], lastEventID: Int64) {
        try BlockingWait.run { [store] in try await store.changedProcesses(afterEvent: eventID) }
    }

    /// Up to `pageSize` processes after `cursor`, in store order (empty at the end of a sweep).
    func page(after cursor: Int64) throws -> [Stamp] {
        let limit = pageSize
        return try BlockingWait.run { [store] in
            try await store.processStamps(after: cursor, limit: limit)
        }
    }

    /// Of `stamps`, the processes whose status file is missing, unreadable or not at the store's
    /// `updated_at`.
    func stale(_ stamps: [Stamp]) -> [String] {
        stamps.filter { stamp in
            guard let data = FileManager.default.contents(atPath: layout.statusFile(stamp.processID)) else {
                return true
            }
            return Self.updatedAt(in: data) != stamp.updatedAt
        }.map(\.processID)
    }

    /// The documents of `processIDs` as the store has them now, read in one transaction (a
    /// process that is gone, pruned, has none).
    func documents(_ processIDs: [String]) throws -> [String: StatusDocument] {
        guard !processIDs.isEmpty else { return [:] }
        let stored = try BlockingWait.run { [store] in try await store.snapshots(processIDs) }
        return stored.mapValues { StatusDocument(process: $0.record, tasks: $0.tasks) }
    }

    private static let marker = Array("\n  \"updated_at\": \"".utf8)

    /// The top-level `updated_at` of a status file written by `StatusDocument.jsonData()`: the
    /// only line that starts with two spaces and that key (inputs are one line, tasks indented
    /// further), so an input named `updated_at` cannot be mistaken for it.
    static func updatedAt(in data: Data) -> String? {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> String? in
            let count = bytes.count
            guard count > marker.count else { return nil }
            var index = 0
            while index + marker.count <= count {
                if bytes[index] == marker[0], (1..<marker.count).allSatisfy({ bytes[index + $0] == marker[$0] }) {
                    let start = index + marker.count
                    var end = start
                    while end < count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
                    guard end < count else { return nil }
                    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                }
                index += 1
            }
            return nil
        }
    }
}
