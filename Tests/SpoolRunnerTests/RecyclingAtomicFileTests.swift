import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The status files' inode reuse (issue 10): rewrites swap inodes instead of creating and freeing
/// them, and a reader that has the old file open never sees it rewritten under it.
@Suite(.endToEnd) struct RecyclingAtomicFileTests {
    private func inode(_ path: String) -> UInt64? {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    private func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func rewritesReuseTheReplacedInode() throws {
        let spool = try TemporarySpool()
        let outbox = try spool.layout.directory(.outbox)
        let path = "\(outbox.path)/p1.json"
        var file = RecyclingAtomicFile()
        try file.write(Data("one".utf8), named: "p1.json", in: outbox)
        let first = try #require(inode(path))
        #expect(file.spare == nil, "the first write of a name has nothing to exchange with")
        try file.write(Data("two".utf8), named: "p1.json", in: outbox)
        #expect(contents(path) == "two")
        let spare = try #require(file.spare)
        #expect(spare.hasPrefix(AtomicFile.tempPrefix))
        #expect(inode("\(outbox.path)/\(spare)") == first, "the replaced inode is kept as the spare")
        let second = try #require(inode(path))
        try file.write(Data("three, longer than before".utf8), named: "p1.json", in: outbox)
        #expect(contents(path) == "three, longer than before")
        #expect(inode(path) == first, "the spare took the third write")
        #expect(inode("\(outbox.path)/\(try #require(file.spare))") == second)
        // Another process's first write takes the spare and leaves none.
        try file.write(Data("other".utf8), named: "p2.json", in: outbox)
        #expect(contents("\(outbox.path)/p2.json") == "other")
        #expect(inode("\(outbox.path)/p2.json") == second)
        #expect(file.spare == nil)
        try file.write(Data("four".utf8), named: "p1.json", in: outbox)
        let spareName = try #require(file.spare)
        file.removeSpare(in: outbox)
        #expect(file.spare == nil)
        #expect(inode("\(outbox.path)/\(spareName)") == nil)
        #expect(contents(path) == "four")
    }

    @Test func aReaderOfTheOldFileKeepsItWhole() throws {
        let spool = try TemporarySpool()
        let outbox = try spool.layout.directory(.outbox)
        let path = "\(outbox.path)/p1.json"
        var file = RecyclingAtomicFile()
        try file.write(Data("old document".utf8), named: "p1.json", in: outbox)
        let old = try #require(inode(path))
        // A client opens the status file, then the runner rewrites it twice.
        let reader = open(path, O_RDONLY)
        try #require(reader >= 0)
        defer { close(reader) }
        try file.write(Data("new document".utf8), named: "p1.json", in: outbox)
        let spare = try #require(file.spare)
        try file.write(Data("newer document".utf8), named: "p1.json", in: outbox)
        #expect(contents(path) == "newer document")
        #expect(inode(path) != old, "the open inode was not reused")
        #expect(inode("\(outbox.path)/\(spare)") == nil, "the spare someone had open is dropped")
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = pread(reader, &buffer, buffer.count, 0)
        #expect(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self) == "old document")
    }

    @Test func aPlantedSymlinkIsReplacedNotFollowed() throws {
        let spool = try TemporarySpool()
        let outbox = try spool.layout.directory(.outbox)
        let target = spool.root.appendingPathComponent("elsewhere.txt").path
        try "keep".write(toFile: target, atomically: false, encoding: .utf8)
        var file = RecyclingAtomicFile()
        try file.write(Data("one".utf8), named: "p0.json", in: outbox)
        try file.write(Data("two".utf8), named: "p0.json", in: outbox)
        #expect(file.spare != nil)
        #expect(symlink(target, "\(outbox.path)/p1.json") == 0)
        try file.write(Data("status".utf8), named: "p1.json", in: outbox)
        try file.write(Data("status again".utf8), named: "p1.json", in: outbox)
        #expect(contents("\(outbox.path)/p1.json") == "status again")
        #expect(contents(target) == "keep")
        var info = stat()
        #expect(lstat("\(outbox.path)/p1.json", &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG)
    }
}

/// Stopping the status publisher writes its whole backlog (issue 10: a 50,000-request burst
/// ended `serve --once` with final states unwritten when the backlog outlasted the stop timeout).
@Suite(.endToEnd) struct StatusPublisherStopTests {
    @Test func stopWritesTheWholeBacklogWhileWritesSucceed() async throws {
        let spool = try TemporarySpool()
        let publisher = StatusPublisher(
            writer: StatusWriter(layout: spool.layout), reconciler: nil,
            pause: RunnerPause(logger: .init(label: "test")), logger: .init(label: "test"))
        let ids = (0..<2000).map { String(format: "p%05d", $0) }
        for round in ["first", "final"] {
            for id in ids {
                publisher.publish(
                    StatusDocument(
                        rejectedID: id, processType: nil, error: FailureInfo(code: .invalidInputs, message: round),
                        at: Date()))
            }
        }
        // A zero timeout: only failing writes may be given up, never a backlog being written.
        await publisher.stop(timeout: 0)
        for id in ids {
            let text = try #require(
                FileManager.default.contents(atPath: spool.layout.statusFile(id)).map {
                    String(decoding: $0, as: UTF8.self)
                }, "\(id) not written")
            #expect(text.contains("\"final\""), "\(id): \(text)")
        }
    }
}
