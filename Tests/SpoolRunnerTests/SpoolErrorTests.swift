import Foundation
import SystemPackage
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// `SpoolError` keeps the system call and its errno as the cause, and the code decides: the
/// runner's pause, the CLI's exit status. Real calls on a temporary spool, no faked errno.
@Suite(.endToEnd) struct SpoolErrorTests {
    @Test func aSecondLockIsLockedWithTheFlockErrnoKept() throws {
        let spool = try TemporarySpool()
        let held = try SpoolLock(path: spool.layout.lockFile)
        let error = try #require(throws: SpoolError.self) { try SpoolLock(path: spool.layout.lockFile) }
        #expect(error.code == .locked)
        #expect(error.cause == SystemCallError(systemCall: "flock", errno: .wouldBlock))
        #expect(error.path == spool.layout.lockFile)
        // The errno is the expected answer there: the message says what it means, alone.
        #expect(
            error.description
                == "\(spool.layout.lockFile): another runner holds this spool's lock; stop it first or use another --spool"
        )
        withExtendedLifetime(held) {}
    }

    @Test func aMissingSpoolRootNamesTheCallAndTheSystemsReason() throws {
        let root = "/nonexistent-spoolrunner-\(getpid())"
        let error = try #require(throws: SpoolError.self) { try SpoolDirectory.open(root: root, ["outbox"]) }
        #expect(error.code == .cannotCreate)
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.cause?.systemCall == "open")
        #expect(error.description == "\(root): cannot open the spool directory: No such file or directory")
    }

    @Test func aMissingDirectoryNotToBeCreatedIsSaidToBeMissing() throws {
        let spool = try TemporarySpool()
        let error = try #require(throws: SpoolError.self) {
            try SpoolDirectory.open(root: spool.layout.root, ["no-such-directory"], create: false)
        }
        #expect(error.code == .cannotCreate)
        #expect(error.cause == SystemCallError(systemCall: "openat", errno: .noSuchFileOrDirectory))
        #expect(error.message == "the directory is missing")
    }

    @Test func anAtomicWriteUnderAFileFailsOnItsDirectoryWithENOTDIR() throws {
        let spool = try TemporarySpool()
        let file = "\(spool.layout.root)/plain"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let error = try #require(throws: SpoolError.self) {
            try AtomicFile.write(Data("{}".utf8), to: "\(file)/x.json")
        }
        #expect(error.code == .cannotWrite)
        #expect(error.cause == SystemCallError(systemCall: "open", errno: .notDirectory))
        #expect(error.path == "\(file)/x.json")
        #expect(PauseReason(error) == nil, "not a condition the runner waits out")
    }

    @Test func aSecondDropOfTheSameIDIsAlreadyWaitingWithTheLinkErrnoKept() throws {
        let spool = try TemporarySpool()
        let dropper = RequestDropper(layout: spool.layout)
        try dropper.drop(processID: "p1", body: Data("{}".utf8))
        let error = try #require(throws: SpoolError.self) { try dropper.drop(processID: "p1", body: Data("{}".utf8)) }
        #expect(error.code == .alreadyWaiting)
        #expect(error.cause == SystemCallError(systemCall: "link", errno: .fileExists))
        #expect(error.path == "\(spool.layout.inbox)/p1.json")
        #expect(spool.inboxFiles() == ["p1.json"], "the waiting request is left as it was")
    }

    @Test func aFullDiskOrQuotaPausesAndOtherErrnosDoNot() {
        #expect(PauseReason(SpoolError.write("/s/outbox/p1.json", errno: .noSpace)) == .diskFull)
        #expect(PauseReason(SpoolError.rename("/s/outbox/p1.json", errno: .diskQuotaExceeded)) == .quotaExceeded)
        #expect(PauseReason(SpoolError.write("/s/outbox/p1.json", errno: .ioError)) == nil)
        #expect(PauseReason(SpoolError(.corrupt, path: "/s/runner.id", message: "not an identity")) == nil)
    }

    @Test func aStatusFileThatIsAFIFOIsRefusedWithoutBlockingAndExits66() async throws {
        let spool = try TemporarySpool()
        let path = spool.layout.statusFile("p1")
        #expect(mkfifo(path, 0o644) == 0)
        let result = try await spool.run(["status", "p1"])
        #expect(result.status == 66, "\(result.standardError)")
        #expect(result.standardError.contains(path), "\(result.standardError)")
        #expect(result.standardError.contains("FIFO"), "\(result.standardError)")
        #expect(throws: SpoolError.self) { try StatusWriter(layout: spool.layout).read(processID: "p1") }
    }

    @Test func aStatusFileThatIsNotADocumentIsADataErrorThatSaysWhy() async throws {
        let spool = try TemporarySpool()
        try Data(#"{"process_id": "p1"}"#.utf8).write(to: URL(fileURLWithPath: spool.layout.statusFile("p1")))
        let result = try await spool.run(["status", "p1"])
        #expect(result.status == 65, "\(result.standardError)")
        #expect(result.standardError.contains("is not a status document: "), "\(result.standardError)")
        let error = try #require(throws: SpoolError.self) {
            try StatusWriter(layout: spool.layout).read(processID: "p1")
        }
        #expect(error.code == .cannotRead)
    }
}
