import Foundation
import Testing

@testable import SpoolRunner

/// The seed's request, `{"process_type": "premium_subscription", "user_id": "user_123"}`, run with
/// the shipped definitions and scripts, as the original Django + Celery system ran it.
@Suite(.endToEnd) struct SeedProcessTests {
    static let seedRequest = #"{"process_type": "premium_subscription", "user_id": "user_123"}"#

    @Test func seedRequestSucceedsWithThreeTasks() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        try spool.drop("seed_1", Self.seedRequest)
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")

        let status = try #require(spool.status("seed_1"))
        #expect(status.status == .success)
        #expect(status.processType == "premium_subscription")
        #expect(status.inputs == ["user_id": .string("user_123"), "plan": .string("monthly")])
        #expect(status.error == nil)
        #expect(status.tasks.map(\.taskName) == ["validate_user", "send_email", "register_external_service"])
        #expect(status.tasks.map(\.mode) == ["sync", "async", "sync"])
        for task in status.tasks {
            #expect(task.status == .success, "\(task.taskName): \(String(describing: task.error))")
            #expect(task.attempts == 1)
            #expect(task.exitCode == 0)
            #expect(task.startedAt != nil && task.endedAt != nil)
        }

        let validate = try status.task("validate_user")
        let email = try status.task("send_email")
        let register = try status.task("register_external_service")
        let validateEnded = try instant(validate.endedAt)
        let emailStarted = try instant(email.startedAt)
        let emailEnded = try instant(email.endedAt)
        let registerStarted = try instant(register.startedAt)
        let registerEnded = try instant(register.endedAt)
        // validate_user is sync: nothing after it starts before it has ended.
        #expect(emailStarted >= validateEnded)
        #expect(registerStarted >= validateEnded)
        // send_email is async: register_external_service does not wait for it, the two overlap.
        #expect(registerStarted < emailEnded)
        // The process ends when every task has, async ones included.
        let processEnded = try instant(status.endedAt)
        #expect(processEnded >= emailEnded)
        #expect(processEnded >= registerEnded)
        #expect(try instant(status.startedAt) <= instant(validate.startedAt, sourceLocation: #_sourceLocation))
        // Outputs: the last JSON line of each script; the plan reached the later tasks.
        #expect(validate.output?["plan"] == .string("monthly"))
        #expect(validate.output?["valid"] == .bool(true))
        #expect(email.output?["to"] == .string("user_123"))
        #expect(register.output?["plan"] == .string("monthly"))
        let welcome = try #require(spool.workFile("seed_1", "welcome_email.txt"))
        #expect(welcome.contains("Hello user_123, your monthly premium subscription is active."))
        #expect(spool.logText("seed_1", task: "validate_user", attempt: 1)?.contains("user_123 is valid") == true)
        #expect(spool.inboxFiles().isEmpty)
        #expect(try spool.integrityCheck() == "ok")
    }

    @Test func yearlyPlanReachesEveryTask() async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        try spool.drop(
            "seed_yearly", #"{"process_type": "premium_subscription", "user_id": "user_9", "plan": "yearly"}"#)
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")
        let status = try #require(spool.status("seed_yearly"))
        #expect(status.status == .success)
        #expect(try status.task("register_external_service").output?["plan"] == .string("yearly"))
        #expect(spool.workFile("seed_yearly", "welcome_email.txt")?.contains("your yearly premium") == true)
    }

    @Test(arguments: ["bad id", "user_", "admin", "user_12;rm"])
    func malformedUserIDFailsInValidateUser(userID: String) async throws {
        let spool = try TemporarySpool()
        try spool.installShippedDefinitions()
        let body = String(
            decoding: try JSONSerialization.data(withJSONObject: [
                "process_type": "premium_subscription", "user_id": userID,
            ]), as: UTF8.self)
        try spool.drop("seed_bad", body)
        let result = try await spool.serveOnce()
        #expect(result.status == 0, "\(result.standardError)")

        let status = try #require(spool.status("seed_bad"))
        #expect(status.status == .failed)
        let error = try #require(status.error)
        #expect(error.task == "validate_user")
        #expect(error.code == "exit_status")
        let validate = try status.task("validate_user")
        #expect(validate.status == .failed)
        #expect(validate.exitCode == 2)
        #expect(validate.error?.code == "exit_status")
        #expect(try status.task("send_email").status == .skipped)
        #expect(try status.task("register_external_service").status == .skipped)
        #expect(try status.task("send_email").startedAt == nil)
        #expect(status.endedAt != nil)
        #expect(spool.logText("seed_bad", task: "validate_user", attempt: 1)?.contains("malformed user id") == true)
        #expect(spool.workFile("seed_bad", "welcome_email.txt") == nil)
    }
}
