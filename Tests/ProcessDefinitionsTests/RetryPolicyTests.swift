import ProcessDefinitions
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    static let policy = RetryPolicy(maxAttempts: 5, backoff: .seconds(1), maxBackoff: .seconds(10))

    /// attempt -> the capped exponential wait before jitter.
    @Test(arguments: [
        (1, Duration.seconds(1)), (2, .seconds(2)), (3, .seconds(4)), (4, .seconds(8)), (5, .seconds(10)),
        (60, .seconds(10)), (10_000, .seconds(10)),
    ])
    func delayStaysWithinHalfAndAllOfTheCappedBackoff(attempt: Int, capped: Duration) {
        for random in [0.0, 0.25, 0.5, 0.999_999] {
            let delay = Self.policy.delay(afterAttempt: attempt, random: random)
            #expect(delay >= capped / 2)
            #expect(delay <= capped)
        }
        #expect(Self.policy.delay(afterAttempt: attempt, random: 0) == capped / 2)
    }

    @Test func randomJitterStaysInBounds() {
        for attempt in 1...8 {
            let delay = Self.policy.delay(afterAttempt: attempt)
            #expect(delay >= .milliseconds(500) && delay <= .seconds(10))
        }
    }

    @Test func attemptZeroOrNegativeIsTreatedAsTheFirst() {
        #expect(Self.policy.delay(afterAttempt: 0, random: 0) == .milliseconds(500))
        #expect(Self.policy.delay(afterAttempt: -3, random: 0) == .milliseconds(500))
    }

    @Test func zeroBackoffMeansNoWait() {
        let policy = RetryPolicy(maxAttempts: 3, backoff: .zero, maxBackoff: .zero)
        #expect(policy.delay(afterAttempt: 2, random: 0.7) == .zero)
    }

    @Test func defaultsMeanOneAttempt() {
        let policy = RetryPolicy()
        #expect(policy.maxAttempts == 1)
        #expect(policy.backoff == .seconds(1) && policy.maxBackoff == .seconds(60))
    }

    @Test func retryKeysDefaultIndividually() throws {
        let definition = try #require(
            parseDefinition(
                """
                tasks:
                  - name: a
                    run: [scripts/flaky.sh]
                    retry: {max_attempts: 4}
                """
            ).value)
        #expect(
            definition.tasks[0].retry == RetryPolicy(maxAttempts: 4, backoff: .seconds(1), maxBackoff: .seconds(60)))
    }
}
