import ProcessDefinitions
import Testing

/// The ordering rule: `needs` when given, else the nearest sync task listed before.
@Suite("Task ordering")
struct TaskOrderingTests {
    /// A definition whose tasks are `name[:async][:needs=a+b]` and sleep 1s.
    static func definition(_ tasks: [String], onFailure: [String] = []) throws -> ProcessDefinition {
        func yaml(_ specs: [String]) -> String {
            specs.map { spec in
                let parts = spec.split(separator: ":")
                var lines = ["  - name: \(parts[0])", "    sleep: 1s"]
                for part in parts.dropFirst() {
                    if part == "async" { lines.append("    mode: async") }
                    if part.hasPrefix("needs=") {
                        let names = part.dropFirst("needs=".count).split(
                            separator: "+", omittingEmptySubsequences: true)
                        lines.append("    needs: [\(names.joined(separator: ", "))]")
                    }
                }
                return lines.joined(separator: "\n")
            }.joined(separator: "\n")
        }
        var text = "tasks:\n" + yaml(tasks) + "\n"
        if !onFailure.isEmpty { text += "on_failure:\n" + yaml(onFailure) + "\n" }
        let result = parseDefinition(text)
        return try #require(result.value, "\(result.error?.description ?? "")")
    }

    static func dependencies(_ definition: ProcessDefinition) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: definition.allTasks.map { ($0.name, $0.dependencies) })
    }

    @Test func syncChain() throws {
        let definition = try Self.definition(["a", "b", "c"])
        #expect(definition.tasks.map(\.dependencies) == [[], ["a"], ["b"]])
    }

    @Test func asyncFanOutAfterASyncTask() throws {
        let definition = try Self.definition(["start", "x:async", "y:async", "z:async", "after"])
        #expect(
            Self.dependencies(definition) == [
                "start": [], "x": ["start"], "y": ["start"], "z": ["start"], "after": ["start"],
            ])
    }

    @Test func asyncAfterAsyncHoldsNothingUp() throws {
        let definition = try Self.definition(["a:async", "b:async", "c"])
        #expect(definition.tasks.map(\.dependencies) == [[], [], []])
    }

    @Test func needsJoinThenSyncRuleResumes() throws {
        let definition = try Self.definition(["x:async", "y:async", "join:needs=x+y", "after"])
        #expect(Self.dependencies(definition) == ["x": [], "y": [], "join": ["x", "y"], "after": ["join"]])
        #expect(definition.tasks[2].needs == ["x", "y"])
        #expect(definition.tasks[3].needs == nil)
    }

    @Test func needsReplacesTheRuleAndMayPointForward() throws {
        // b is async, so c waits for a (the nearest sync task), not for b.
        let definition = try Self.definition(["a", "b:async:needs=c", "c"])
        #expect(Self.dependencies(definition) == ["a": [], "b": ["c"], "c": ["a"]])
    }

    @Test func emptyNeedsStartsAtOnce() throws {
        let definition = try Self.definition(["a", "b:needs="])
        #expect(definition.tasks[1].needs == [])
        #expect(definition.tasks[1].dependencies == [])
    }

    @Test func onFailureIsOrderedOnItsOwn() throws {
        let definition = try Self.definition(["a", "b"], onFailure: ["f1", "f2", "f3:async", "f4:needs=f3"])
        #expect(definition.onFailure.map(\.dependencies) == [[], ["f1"], ["f2"], ["f3"]])
    }

    @Test func repeatedNeedsCountOnce() throws {
        let definition = try Self.definition(["a", "b:needs=a+a"])
        #expect(definition.tasks[1].dependencies == ["a"])
    }

    @Test(arguments: [
        (["a:needs=b", "b:needs=a"], ["a -> b -> a"]),
        (["a:needs=a"], ["a -> a"]),
        // a needs b; b has no needs and waits for a, the sync task before it.
        (["a:needs=b", "b"], ["a -> b -> a"]),
        (["a:needs=c", "b:needs=a", "c:needs=b"], ["a -> c -> b -> a"]),
        (["a:needs=b", "b:needs=a", "c:needs=d", "d:needs=c"], ["a -> b -> a", "c -> d -> c"]),
    ])
    func cyclesAreNamed(tasks: [String], cycles: [String]) throws {
        let text =
            "tasks:\n"
            + tasks.map { spec in
                let parts = spec.split(separator: ":")
                let needs =
                    parts.count > 1
                    ? "\n    needs: [\(parts[1].dropFirst("needs=".count).split(separator: "+").joined(separator: ", "))]"
                    : ""
                return "  - name: \(parts[0])\n    sleep: 1s\(needs)"
            }.joined(separator: "\n")
        let errors = try #require(parseDefinition(text).error).errors
        #expect(errors.allSatisfy { $0.code == .cycle })
        #expect(errors.count == cycles.count)
        for (error, cycle) in zip(errors, cycles) {
            #expect(error.message.contains(cycle), "\(error.message)")
        }
    }
}
