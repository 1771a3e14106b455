import FlyingFox
import ProcessDefinitions
import SpoolClient

extension Gateway {
    /// `GET /api/definitions`: each definition's inputs, tasks (in order, with mode and needs) and
    /// schedules, plus the load errors of the broken ones.
    func definitions() -> HTTPResponse {
        let catalog = catalogs.catalog
        let list = catalog.definitions.keys.sorted().map { catalog.definitions[$0]!.json }
        return .json(["definitions": .array(list), "errors": .array(catalog.errors.map { .string($0.description) })])
    }

    /// `GET /healthz`: 200 while the runner's heartbeat is fresh, 503 with the reason otherwise.
    func health() -> HTTPResponse {
        let health = RunnerHealth.check(layout, staleAfter: configuration.heartbeatStaleAfter)
        let runner: JSONValue = health.heartbeat.map(JSONValue.object) ?? .null
        if health.healthy {
            return .json(["status": "ok", "runner": runner])
        }
        return .json(
            ["status": "unavailable", "reason": .string(health.reason ?? "unknown"), "runner": runner],
            status: .serviceUnavailable)
    }
}

extension ProcessDefinition {
    var json: JSONValue {
        .object([
            "process_type": .string(processType),
            "description": description.map(JSONValue.string) ?? .null,
            "inputs": .array(inputs.map(\.json)),
            "tasks": .array(tasks.map(\.json)),
            "on_failure": .array(onFailure.map(\.json)),
            "schedules": .array(schedule.map(\.json)),
        ])
    }
}

extension InputDefinition {
    var json: JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(name), "type": .string(type.rawValue), "required": .bool(required),
        ]
        if let defaultValue { fields["default"] = defaultValue }
        if let enumValues { fields["enum"] = .array(enumValues) }
        if let pattern { fields["pattern"] = .string(pattern) }
        if let min { fields["min"] = .number(min) }
        if let max { fields["max"] = .number(max) }
        if let maxLength { fields["max_length"] = .integer(Int64(maxLength)) }
        return .object(fields)
    }
}

extension TaskDefinition {
    var json: JSONValue {
        .object([
            "name": .string(name),
            "mode": .string(mode.rawValue),
            "action": .string(actionKind),
            "needs": needs.map { .array($0.map(JSONValue.string)) } ?? .null,
            "dependencies": .array(dependencies.map(JSONValue.string)),
            "max_attempts": .integer(Int64(retry.maxAttempts)),
        ])
    }

    var actionKind: String {
        switch action {
        case .run: "run"
        case .shell: "shell"
        case .sleep: "sleep"
        }
    }
}

extension ScheduleDefinition {
    var json: JSONValue {
        .object([
            "name": name.map(JSONValue.string) ?? .null, "cron": .string(cron.source),
            "timezone": .string(timeZoneName),
            "inputs": .object(inputs), "catch_up": .string(catchUp.rawValue), "overlap": .string(overlap.rawValue),
        ])
    }
}
