import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The spool's identity: 128 random bits in `runner.id`, created by the first runner and kept
/// for good. The history store records the identity of the spool it belongs to, so that a
/// runner started on another spool with the same `--db` refuses it instead of "recovering" the
/// first runner's live processes and running their tasks a second time.
package enum SpoolIdentity {
    /// Reads the spool's identity, creating it when the spool has none yet.
    /// - Throws: `SpoolError` naming `runner.id` when it cannot be read or created, or holds
    ///   something that is not an identity.
    package static func loadOrCreate(_ layout: SpoolLayout) throws(SpoolError) -> String {
        let path = layout.identityFile
        if let existing = try read(path) { return existing }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let identity = bytes.map { String(format: "%02x", $0) }.joined()
        try AtomicFile.write(Data((identity + "\n").utf8), to: path, durable: true)
        // Two runners cannot both get here (the caller holds runner.lock), but read back what is
        // there: that file is the identity from now on.
        return try read(path) ?? identity
    }

    private static func read(_ path: String) throws(SpoolError) -> String? {
        let data: Data
        switch SafeFileReader.read(path, limit: 4096) {
        case .contents(let contents, _): data = contents
        case .missing: return nil
        case .unreadable(let cause): throw .read(path, what: "the spool's identity file", errno: cause)
        case .notARegularFile, .tooLarge: data = Data()  // not an identity: said below
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count == 32, text.allSatisfy(\.isHexDigit) else {
            throw SpoolError(
                .corrupt, path: path,
                message:
                    "not a spool identity (32 hex digits expected); restore the file from a backup of this spool, or remove it if this spool never had a history store"
            )
        }
        return text.lowercased()
    }
}
