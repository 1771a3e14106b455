import Foundation
import Testing

@testable import ProcessDefinitions

#if canImport(Glibc)
import Glibc
#endif

/// Definitions cannot hang or exhaust the loader: aliases, size, special files, long task
/// lists, and input patterns that backtrack.
@Suite struct DefinitionLimitTests {
    /// Ten levels of ten aliases: 10^10 values from a 600-byte file.
    static var aliasBomb: String {
        var text =
            "inputs:\n  x:\n    type: array\n    default:\n      - &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
        for level in 1..<10 {
            let previous = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ",")
            text += "      - &a\(level) [\(previous)]\n"
        }
        return text + "tasks:\n  - name: t\n    sleep: 1ms\n"
    }

    @Test func aliasBombIsRefusedWithItsLocation() throws {
        let errors = try #require(parseDefinition(Self.aliasBomb).error?.errors)
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.code == .tooLarge)
        #expect(error.line == 1 && error.column == 1 && error.key == "inputs")
        #expect(error.message.contains("more than 100000 values through YAML aliases"), "\(error.message)")
    }

    @Test func aliasesWithinTheBudgetStillWork() throws {
        let text = "inputs:\n  x: &rule {type: string, default: a}\n  y: *rule\ntasks:\n  - name: t\n    sleep: 1ms\n"
        let definition = try #require(parseDefinition(text).value)
        #expect(definition.inputs.map(\.name).sorted() == ["x", "y"])
    }

    @Test func deepNestingIsAYAMLErrorNotACrash() throws {
        let text =
            "tasks:\n  - name: t\n    sleep: 1ms\ndescription: " + String(repeating: "[", count: 100_000)
            + String(repeating: "]", count: 100_000) + "\n"
        let error = try #require(parseDefinition(text).error?.errors.first)
        #expect(error.code == .malformedYAML)
        #expect(error.line == 4)
    }

    @Test func oversizedDefinitionIsRefused() throws {
        let text =
            "description: \"" + String(repeating: "x", count: DefinitionFile.maxBytes)
            + "\"\ntasks:\n  - name: t\n    sleep: 1ms\n"
        let error = try #require(parseDefinition(text).error?.errors.first)
        #expect(error.code == .tooLarge)
        try withTemporaryDirectory { directory in
            try text.write(toFile: "\(directory)/big.yaml", atomically: true, encoding: .utf8)
            let error = try #require(
                DefinitionLoader.load(file: "\(directory)/big.yaml", baseDirectory: directory).error?.errors.first)
            #expect(error.code == .tooLarge)
            #expect(error.message.contains("a definition is at most \(DefinitionFile.maxBytes) bytes"))
        }
    }

    @Test func fifoAndDeviceDefinitionsAreRefusedSayingWhy() throws {
        try withTemporaryDirectory { directory in
            #expect(mkfifo("\(directory)/pipe.yaml", 0o644) == 0)
            #expect(symlink("/dev/zero", "\(directory)/zero.yaml") == 0)
            try "tasks:\n  - name: t\n    sleep: 1ms\n".write(
                toFile: "\(directory)/real.yaml", atomically: true, encoding: .utf8)
            #expect(symlink("\(directory)/real.yaml", "\(directory)/linked.yaml") == 0)
            let catalog = DefinitionCatalog.load(directory: directory)
            #expect(catalog.definitions.keys.sorted() == ["linked", "real"])
            let messages = Dictionary(
                uniqueKeysWithValues: catalog.errors.map { (($0.file as NSString).lastPathComponent, $0.message) })
            #expect(messages["pipe.yaml"]?.contains("a FIFO (named pipe), not a regular file") == true, "\(messages)")
            #expect(messages["zero.yaml"]?.contains("a device, not a regular file") == true, "\(messages)")
        }
    }

    /// 3,000 tasks on one implicit sync chain, each using the output of the one before, with a
    /// cycle at the end: every check still runs, and the cycle is named.
    @Test func longTaskChainsLoadAndCyclesAreStillFound() throws {
        var text = "tasks:\n  - name: t0\n    run: [\"/bin/echo\"]\n"
        for index in 1..<3_000 {
            text +=
                "  - name: t\(index)\n    run: [\"/bin/echo\", \"{{tasks.t\(index - 1).output.x}}\", \"{{tasks.t0.output.y}}\"]\n"
        }
        let definition = try #require(parseDefinition(text).value)
        #expect(definition.tasks.count == 3_000)
        #expect(definition.tasks[2_999].dependencies == ["t2998"])

        let cyclic = text + "  - name: a\n    needs: [b]\n    sleep: 1ms\n  - name: b\n    needs: [a]\n    sleep: 1ms\n"
        let errors = try #require(parseDefinition(cyclic).error?.errors)
        #expect(errors.map(\.code) == [.cycle])
        #expect(errors.first?.message.contains("a -> b -> a") == true, "\(errors)")

        let late = text + "  - name: z\n    run: [\"/bin/echo\", \"{{tasks.nope.output.x}}\"]\n    mode: async\n"
        #expect(parseDefinition(late).error?.errors.map(\.code) == [.invalidTemplate])
    }

    @Test func aPatternThatBacktracksTooMuchIsReportedAsSuch() throws {
        let text = "inputs:\n  s: {type: string, pattern: \"(.*a){20}\"}\ntasks:\n  - name: t\n    sleep: 1ms\n"
        let definition = try #require(parseDefinition(text).value)
        let slow = definition.validateInputs(["s": .string(String(repeating: "a", count: 30) + "b")])
        let message = try #require(slow.error?.message)
        #expect(message.contains("could not be checked against the pattern (.*a){20}"), "\(message)")
        #expect(message.contains("work limit"))
        #expect(!message.contains("does not match"))
        // A value too short to match is refused at once as not matching.
        #expect(
            definition.validateInputs(["s": .string("b")]).error?.message.contains("does not match the pattern") == true
        )
        // A sane pattern on a long value stays well within the limit.
        let sane = try #require(
            parseDefinition(
                "inputs:\n  s: {type: string, pattern: \"^[a-z]+(-[a-z]+)*$\"}\ntasks:\n  - name: t\n    sleep: 1ms\n"
            ).value)
        #expect(sane.validateInputs(["s": .string(String(repeating: "abc-", count: 10_000) + "z")]).value != nil)
    }

    @Test func nulInAStringInputIsInvalid() throws {
        let text = "additional_inputs: true\ninputs:\n  s: {type: string}\ntasks:\n  - name: t\n    sleep: 1ms\n"
        let definition = try #require(parseDefinition(text).value)
        let error = try #require(definition.validateInputs(["s": .string("a\u{0}b"), "extra": .string("\u{0}")]).error)
        #expect(error.problems.count == 2)
        #expect(error.message.contains("input 's' contains a NUL character"))
        #expect(error.message.contains("input 'extra' contains a NUL character"))
        // Inside arrays and objects a NUL is JSON-escaped wherever it goes: allowed.
        #expect(definition.validateInputs(["extra": .array([.string("\u{0}")])]).value != nil)
    }
}

extension DefinitionLimitTests {
    /// Found by the template fuzzer: a NUL written in the definition itself (YAML's "\0") would
    /// make every spawn of the task fail; it is a load-time error instead.
    @Test func nulWrittenInADefinitionIsALoadError() throws {
        let error = try #require(
            parseDefinition("tasks:\n  - name: t\n    run: [\"/bin/echo\", \"a\\0b\"]\n").error?.errors.first)
        #expect(error.code == .invalidValue)
        #expect(error.key == "tasks[0].run[1]")
        #expect(error.message.contains("NUL"))
    }

    @Test func theBoundedMatcherMatchesWholeValuesIncludingEmptyOnes() throws {
        let definition = try #require(
            parseDefinition(
                "inputs:\n  a: {type: string, pattern: \"a*\"}\n  b: {type: string, pattern: \"b+\"}\ntasks:\n  - name: t\n    sleep: 1ms\n"
            ).value)
        #expect(definition.validateInputs(["a": .string(""), "b": .string("bbb")]).value != nil)
        #expect(
            definition.validateInputs(["a": .string("aab")]).error?.message.contains("does not match the pattern a*")
                == true)
        #expect(
            definition.validateInputs(["b": .string("")]).error?.message.contains("does not match the pattern b+")
                == true)
        #expect(
            definition.validateInputs(["b": .string("xbbbx")]).error != nil,
            "a pattern must match the whole value, not a part")
    }
}

extension DefinitionLimitTests {
    /// Found by the definition fuzzer: aliases expanding a 380-byte file to half a million values
    /// (within the first budget of 1,000,000) took over 10 s under ASan. Now refused at once.
    @Test func aSmallFileCannotExpandToHalfAMillionValues() throws {
        let path = "\(Fixtures.directory)/fuzz/definition/timeout-alias-expansion-under-old-budget.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let error = try #require(parseDefinition(text).error?.errors.first)
        #expect(error.code == .tooLarge)
    }
}
