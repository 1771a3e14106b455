import Foundation

/// Writes status files into `outbox/`, always whole (temp file + rename).
///
/// Not fsynced: status files are a projection of the history store, and after a crash the runner
/// rewrites every one that may be stale (see `Recovery`).
package struct StatusWriter: Sendable {
    package let layout: SpoolLayout

    package init(layout: SpoolLayout) {
        self.layout = layout
    }

    package func write(_ document: StatusDocument) throws(SpoolError) {
        // outbox/ opened from the spool root without following links, at each write: a planted
        // symlink is refused, and a deleted outbox/ is made again.
        try AtomicFile.write(document.jsonData(), named: "\(document.processID).json", in: layout.directory(.outbox))
    }

    /// The runner's write: the same, reusing the inode `file` keeps (see `RecyclingAtomicFile`).
    func write(_ document: StatusDocument, recycling file: inout RecyclingAtomicFile) throws(SpoolError) {
        try file.write(document.jsonData(), named: "\(document.processID).json", in: layout.directory(.outbox))
    }

    /// Removes the inode `file` keeps for the next write.
    func removeSpare(of file: inout RecyclingAtomicFile) {
        guard file.spare != nil, let outbox = try? layout.directory(.outbox, create: false) else { return }
        file.removeSpare(in: outbox)
    }

    /// The status file of `processID`, or nil when there is none.
    /// - Throws: `SpoolError.cannotRead` when a file is there but cannot be read, or does not
    ///   hold a status document (the runner writes whole files: this is not a half-written one).
    package func read(processID: String) throws(SpoolError) -> StatusDocument? {
        guard let data = try StatusFileReader(layout: layout).read(processID: processID) else { return nil }
        do {
            return try JSONDecoder().decode(StatusDocument.self, from: data)
        } catch {
            throw SpoolError(
                .cannotRead, path: layout.statusFile(processID), message: "is not a status document: \(error)")
        }
    }
}
