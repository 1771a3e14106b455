import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The definitions watcher reacts to definition files only: a temp file written beside one
/// (`write(atomically:)`, an editor's swap file) used to start a reload that read the old file
/// and announced it, before the rename that mattered.
@Suite(.endToEnd) struct InboxWatcherTests {
    /// One `inotify_event` record as the kernel lays it out (little-endian, name NUL-padded).
    static func event(mask: UInt32, name: String) -> [UInt8] {
        var name = Array(name.utf8)
        if !name.isEmpty { name += [UInt8](repeating: 0, count: 16 - name.count % 16) }
        func bytes(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        return bytes(1) + bytes(mask) + bytes(0) + bytes(UInt32(name.count)) + name
    }

    static func counts(_ records: [[UInt8]]) -> Bool {
        InboxWatcher.anyEventCounts(ArraySlice(records.flatMap { $0 }), names: DefinitionsPoller.isDefinitionFile)
    }

    @Test func onlyDefinitionFilesOverflowsAndTheDirectoryItselfCount() {
        let created = UInt32(IN_CREATE)
        #expect(!Self.counts([Self.event(mask: created, name: ".job.yaml.swp")]))
        #expect(!Self.counts([Self.event(mask: created, name: "job.yaml.tmp-1234")]))
        #expect(!Self.counts([Self.event(mask: created, name: "notes.txt")]))
        #expect(Self.counts([Self.event(mask: UInt32(IN_MOVED_TO), name: "job.yaml")]))
        #expect(Self.counts([Self.event(mask: UInt32(IN_DELETE), name: "old.yml")]))
        // The one that counts may come after others in the same read.
        #expect(
            Self.counts([
                Self.event(mask: created, name: ".job.yaml.swp"),
                Self.event(mask: UInt32(IN_MOVED_TO), name: "job.yaml"),
            ]))
        #expect(Self.counts([Self.event(mask: UInt32(IN_Q_OVERFLOW), name: "")]))
        #expect(Self.counts([Self.event(mask: UInt32(IN_DELETE_SELF), name: "")]))
    }
}
