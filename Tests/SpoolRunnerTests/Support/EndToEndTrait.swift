import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs at most a few of the marked suites' tests at once: each spawns runners, tasks and tools.
///
/// The end-to-end tests wait by suspending (see `ChildExit`), so nothing throttles them any more:
/// Swift Testing would start every one of them at once (hundreds of `spoolrunner` processes on a
/// small machine), and their time bounds would fail for want of CPU. The width is the number of
/// cores (`SPOOLRUNNER_TEST_WIDTH` overrides it). Twice the cores ran the suite a third faster
/// here, but on a loaded 2-core machine the PostgreSQL lease tests (a 1 s lease renewed every
/// 200 ms) then missed their renewals.
///
/// Tests marked `.waitsOnTimers` take a slot of a second lane of the same width instead: they
/// spend most of their time waiting for a timer of the runner (a schedule clock, the store's
/// busy timeout, the SIGKILL 5 s after a SIGTERM, a sleeping task), not on the CPU, and holding
/// one of the few CPU slots for that long made the whole queue wait behind them.
struct EndToEndTrait: SuiteTrait, TestTrait, TestScoping {
    /// Which slots a test takes.
    enum Lane: Sendable {
        /// Spawns runners and tasks that keep the CPU busy.
        case busy
        /// Mostly waits for a runner's timer.
        case waiting
    }

    var lane = Lane.busy
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Called for the suite and each test too (testCase nil): only a test case takes a slot.
        guard testCase != nil else { return try await function() }
        // A waiting test in a suite marked `.endToEnd` carries both traits: it takes only the
        // waiting lane's slot.
        if lane == .busy, test.traits.contains(where: { ($0 as? EndToEndTrait)?.lane == .waiting }) {
            return try await function()
        }
        let slots = lane == .busy ? Self.slots : Self.waitingSlots
        await slots.acquire()
        let started = ContinuousClock.now
        defer { Self.record(test, since: started) }
        do {
            try await function()
        } catch {
            await slots.release()
            throw error
        }
        await slots.release()
    }

    /// With `SPOOLRUNNER_TEST_TIMES=<file>`, each test's own time (from taking its slot to its
    /// end, without the wait for a slot that Swift Testing's "passed after" includes) is appended
    /// to that file as `<seconds>\t<suite>/<test>`: the list to read when the suite gets slower.
    static func record(_ test: Test, since started: ContinuousClock.Instant) {
        guard let path = ProcessInfo.processInfo.environment["SPOOLRUNNER_TEST_TIMES"] else { return }
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let line = String(format: "%.3f\t", seconds) + "\(test.id)\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    static let width =
        ProcessInfo.processInfo.environment["SPOOLRUNNER_TEST_WIDTH"].flatMap(Int.init)
        ?? max(2, ProcessInfo.processInfo.activeProcessorCount)
    static let slots = Slots(width: width)
    static let waitingSlots = Slots(width: width)

    /// A counting semaphore that suspends instead of blocking.
    actor Slots {
        private var free: Int
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(width: Int) {
            free = width
        }

        func acquire() async {
            if free > 0 {
                free -= 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty {
                free += 1
            } else {
                waiting.removeFirst().resume()
            }
        }
    }
}

extension Trait where Self == EndToEndTrait {
    /// At most as many of these tests at once as there are cores (see `EndToEndTrait`).
    static var endToEnd: Self { Self() }

    /// An end-to-end test that mostly waits for a runner's timer: at most as many of these at
    /// once as there are cores, beside the `.endToEnd` ones (see `EndToEndTrait`).
    static var waitsOnTimers: Self { Self(lane: .waiting) }
}
