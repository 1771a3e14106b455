import Foundation
import Testing

@testable import SpoolRunner

#if canImport(Glibc)
import Glibc
#endif

/// The one schedule test on the real clock (up to a minute of waiting): a `* * * * *` entry on a
/// real `serve` produces `<type>-<yyyyMMdd'T'HHmm>` for the next minute, and after kill -9 and a
/// restart there is still exactly one row for it.
@Suite(.endToEnd) struct ScheduleRealClockTests {
    @Test func everyMinuteOnARealServe() async throws {
        let spool = try TemporarySpool()
        try spool.define("minutely.yaml", "schedule:\n  - cron: \"* * * * *\"\ntasks:\n  - name: nap\n    sleep: 1ms\n")
        let startedAt = Date()
        let runner = try spool.start(["serve", "--grace", "1s"])
        // The first slot strictly after the start (one that is due at the start is taken too,
        // when the start falls in a minute's first seconds: accept either).
        let nextMinute = Date(timeIntervalSince1970: ((startedAt.timeIntervalSince1970 / 60).rounded(.down) + 1) * 60)
        let entry = ScheduleDefinitionProbe.id(type: "minutely", minute: nextMinute)
        let ran = await spool.eventually(timeout: 100) { spool.status(entry)?.status == .success }
        runner.signal(SIGKILL)
        let first = await runner.wait()
        #expect(ran, "no \(entry): \(first.standardError)")
        #expect(try spool.processRowCount(entry) == 1)

        let again = try spool.start(["serve", "--grace", "1s"])
        try await Task.sleep(for: .seconds(3))
        again.signal(SIGTERM)
        let second = await again.wait()
        #expect(second.status == 0, "\(second.standardError)")
        #expect(try spool.processRowCount(entry) == 1)
        #expect(try spool.eventNames(entry).filter { $0 == "accepted" }.count == 1)
    }
}

/// The id format written out by hand, independent of the code under test.
enum ScheduleDefinitionProbe {
    static func id(type: String, minute: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmm"
        return "\(type)-\(formatter.string(from: minute))"
    }
}
