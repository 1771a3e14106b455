import ArgumentParser
import Foundation
import SpoolRunner

/// `spoolrunner init [DIR]`: a spool and a definitions directory with one example, ready to serve.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create DIR/spool and DIR/definitions (with an example definition when it is empty)."
    )

    @Argument(help: "Project directory.", completion: .directory)
    var directory: String = "."

    static let example = """
        # yaml-language-server: $schema=./definition.schema.json
        # An example process: two tasks, the second one after the first.
        # Try it: spoolrunner submit hello name=world --wait
        description: Say hello, then write it down
        inputs:
          name: {type: string, required: true, max_length: 64}
        tasks:
          - name: greet
            run: ["/bin/echo", "{\\"greeting\\": \\"hello\\"}"]
          - name: write_down
            shell: 'printf "%s %s\\n" "hello" "$SPOOL_INPUT_NAME" > hello.txt && cat hello.txt'
            timeout: 10s

        """

    func run() throws {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        let layout = SpoolLayout(root: root + "/spool")
        do {
            try layout.create()
        } catch {
            throw fail(error.description, ExitStatus.of(error))
        }
        let definitions = root + "/definitions"
        let existing: [String]
        do {
            try FileManager.default.createDirectory(atPath: definitions, withIntermediateDirectories: true)
            // Listed for real: a directory that cannot be read must not get an example written
            // over a definition it already holds.
            existing = try FileManager.default.contentsOfDirectory(atPath: definitions)
        } catch {
            throw fail("cannot prepare \(definitions): \(error.localizedDescription)", ExitStatus.cannotCreate)
        }
        if !existing.contains(where: { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }) {
            guard FileManager.default.createFile(atPath: definitions + "/hello.yaml", contents: Data(Self.example.utf8))
            else {
                throw fail("cannot write \(definitions)/hello.yaml", ExitStatus.cannotCreate)
            }
            print("wrote \(definitions)/hello.yaml")
        }
        // One command per line: `cd DIR && spoolrunner serve &` would put the `cd` in the
        // background too, and the next pasted command would run in the wrong directory.
        // The editor schema the example's first line points at (replaced: it follows the binary).
        let schema = definitions + "/" + JSONSchema.definition.fileName
        guard FileManager.default.createFile(atPath: schema, contents: Data(JSONSchema.definition.text.utf8)) else {
            throw fail("cannot write \(schema)", ExitStatus.cannotCreate)
        }
        print("wrote \(schema) (for editors: see `spoolrunner schema --help`)")
        print(
            """
            spool ready in \(layout.root)
            next, one line at a time:
              cd \(Self.shellQuoted(root))
              spoolrunner serve &
              spoolrunner submit hello name=world --wait
            """)
    }

    /// `path` as one shell word.
    static func shellQuoted(_ path: String) -> String {
        let plain = path.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:@%".contains($0) }
        return plain ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
