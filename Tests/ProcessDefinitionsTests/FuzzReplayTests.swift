import Foundation
import Testing

@testable import ProcessDefinitions

/// Replays every input in `Fixtures/fuzz/<target>/` through the fuzz target's checks: the
/// crashes and hangs the fuzzers found (`scripts/fuzz.sh`) stay fixed, and the seed inputs
/// keep the checks themselves exercised.
@Suite struct FuzzReplayTests {
    static var cases: [FuzzCase] {
        FuzzChecks.targets.keys.sorted().flatMap { target in
            let directory = "\(Fixtures.directory)/fuzz/\(target)"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return names.sorted().map { FuzzCase(target: target, path: "\(directory)/\($0)") }
        }
    }

    struct FuzzCase: Sendable, CustomTestStringConvertible {
        var target: String
        var path: String
        var testDescription: String { "\(target)/\((path as NSString).lastPathComponent)" }
    }

    @Test func everyTargetHasFixtures() {
        for target in FuzzChecks.targets.keys {
            #expect(Self.cases.contains { $0.target == target }, "no replay fixtures for fuzz target \(target)")
        }
    }

    @Test(arguments: cases)
    func replay(_ fuzzCase: FuzzCase) throws {
        let data = try #require(FileManager.default.contents(atPath: fuzzCase.path))
        let check = try #require(FuzzChecks.targets[fuzzCase.target])
        check(data)
    }
}
