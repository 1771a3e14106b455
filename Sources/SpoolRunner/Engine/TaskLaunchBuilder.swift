import Foundation
import ProcessDefinitions

/// Turns a task of a process into a `TaskLaunch`: renders templates, builds the environment and
/// standard input, resolves the program (SPEC §5 "What a task sees").
struct TaskLaunchBuilder: Sendable {
    let layout: SpoolLayout
    /// PATH, HOME, LANG, TZ as the runner got them (or defaults): the only values a task inherits.
    let baseEnvironment: [String: String]

    init(layout: SpoolLayout, runnerEnvironment: [String: String] = ProcessInfo.processInfo.environment) {
        self.layout = layout
        baseEnvironment = [
            "PATH": runnerEnvironment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": runnerEnvironment["HOME"] ?? "/",
            "LANG": runnerEnvironment["LANG"] ?? "C.UTF-8",
            "TZ": runnerEnvironment["TZ"] ?? "UTC",
        ]
    }

    /// - Throws: `FailureInfo` (`template` or `spawn_failed`) when the task cannot be launched.
    func build(_ run: ProcessRun, index: Int) throws(LaunchFailure) -> TaskLaunch {
        let task = run.taskDefinition(index)
        let record = run.tasks[index]
        let processID = run.processID
        let workDirectory = layout.workDirectory(processID)
        var outputs: [String: [String: JSONValue]] = [:]
        var succeeded: [String: JSONValue] = [:]
        for other in run.tasks where other.status == .success {
            if let output = other.output { outputs[other.taskName] = output }
            succeeded[other.taskName] = .object(["output": other.output.map(JSONValue.object) ?? .null])
        }
        let context = TemplateContext(
            processID: processID, workDir: workDirectory, inputs: run.record.inputs, taskOutputs: outputs)

        let action: TaskLaunch.Action
        switch task.action {
        case .sleep(let duration):
            // A sleep resumed after a crash waits only for what it had left.
            var wait = duration
            if let until = record.sleepUntil {
                wait = .seconds(min(max(0, until.timeIntervalSinceNow), duration.seconds))
            }
            action = .sleep(wait)
        case .shell(let script):
            action = .command(executable: "/bin/sh", arguments: ["-c", script])
        case .run(let argv):
            let program = argv[0].source
            guard let executable = resolve(program, base: run.definition.baseDirectory) else {
                throw LaunchFailure(
                    FailureInfo(
                        code: .spawnFailed,
                        message:
                            "program '\(program)' not found (a bare name is looked up in PATH=\(baseEnvironment["PATH"] ?? ""))",
                        task: task.name))
            }
            do {
                action = .command(
                    executable: executable, arguments: try argv.dropFirst().map { try $0.render(context) })
            } catch {
                throw LaunchFailure(FailureInfo(code: .template, message: "\(error)", task: task.name))
            }
        }

        var environment = baseEnvironment
        environment["SPOOL_PROCESS_ID"] = processID
        environment["SPOOL_PROCESS_TYPE"] = run.record.processType
        environment["SPOOL_TASK_NAME"] = task.name
        environment["SPOOL_ATTEMPT"] = String(record.attempts)
        environment["SPOOL_WORK_DIR"] = workDirectory
        // Linux refuses a single environment string over 128 KiB (MAX_ARG_STRLEN) and the
        // whole environment past ARG_MAX: a value too large for a variable is left out and
        // named in SPOOL_INPUTS_OMITTED; standard input always carries every input.
        var omitted: [String] = []
        let inputsJSON = JSONValue.object(run.record.inputs).compactJSON
        if inputsJSON.utf8.count <= Self.maxVariableBytes {
            environment["SPOOL_INPUTS"] = inputsJSON
        } else {
            omitted.append("SPOOL_INPUTS")
        }
        for (name, value) in run.record.inputs.sorted(by: { $0.key < $1.key }) {
            let variable = "SPOOL_INPUT_" + Self.variableName(name)
            let text = value.templateText
            if text.utf8.count <= Self.maxVariableBytes {
                environment[variable] = text
            } else {
                omitted.append(variable)
            }
        }
        if !omitted.isEmpty {
            environment["SPOOL_INPUTS_OMITTED"] = omitted.joined(separator: ",")
        }
        for entry in task.env {
            do {
                environment[entry.name] = try entry.value.render(context)
            } catch {
                throw LaunchFailure(
                    FailureInfo(code: .template, message: "env \(entry.name): \(error)", task: task.name))
            }
        }

        let input: JSONValue = .object([
            "process_id": .string(processID),
            "process_type": .string(run.record.processType),
            "inputs": .object(run.record.inputs),
            "tasks": .object(succeeded),
        ])
        return TaskLaunch(
            processID: processID, taskName: task.name, attempt: record.attempts, action: action,
            environment: environment.keys.sorted().map { "\($0)=\(environment[$0]!)" },
            standardInput: Data((input.compactJSON + "\n").utf8),
            workDirectory: workDirectory,
            logFile: layout.logFile(processID, task: task.name, attempt: record.attempts),
            timeout: task.timeout,
            layout: layout)
    }

    /// Largest value put in one variable: well under the kernel's 128 KiB per string, so that a
    /// 1 MiB request's inputs cannot push the environment past ARG_MAX either.
    static let maxVariableBytes = 64 * 1024

    /// `SPOOL_INPUT_<NAME>`: upper-cased, anything but letters and digits as `_`.
    static func variableName(_ name: String) -> String {
        String(name.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// A path with a slash is relative to the definitions directory (or absolute); a bare name is
    /// looked up in the task's PATH.
    func resolve(_ program: String, base: String) -> String? {
        if program.hasPrefix("/") { return program }
        if program.contains("/") {
            return URL(fileURLWithPath: base).appendingPathComponent(program).standardizedFileURL.path
        }
        for directory in (baseEnvironment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Why a task's launch could not be built: its program is not found (`spawn_failed`) or a
/// template cannot be filled (`template`). Nothing is spawned; the engine records the failure as
/// the outcome of the attempt it had already marked started.
struct LaunchFailure: Error {
    var failure: FailureInfo
    init(_ failure: FailureInfo) { self.failure = failure }
}
