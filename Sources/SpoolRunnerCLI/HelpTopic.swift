import ArgumentParser

/// The words after `help`, checked against the command tree.
///
/// swift-argument-parser's own `help` command ignores names it does not know and prints the root
/// help with exit 0; this finds the first such name so that `main` can refuse it.
enum HelpTopic {
    struct Unknown {
        var name: String
        var parent: String
        var known: [String]
    }

    static func unknownCommand(in arguments: [String], root: ParsableCommand.Type) -> Unknown? {
        guard arguments.first == "help" else { return nil }
        var current = root
        var path: [String] = []
        for word in arguments.dropFirst() where !word.hasPrefix("-") {
            if word == "help" && path.isEmpty { return nil }
            let children = current.configuration.subcommands
            var names: [String] = []
            var next: ParsableCommand.Type?
            for child in children {
                // A command without an explicit name gets one derived by the parser; it cannot
                // be checked here, so the parser's own behaviour is left alone.
                guard let name = child.configuration.commandName else { return nil }
                names.append(name)
                if name == word || child.configuration.aliases.contains(word) { next = child }
            }
            guard let next else {
                return Unknown(name: word, parent: path.joined(separator: " "), known: names + ["help"])
            }
            path.append(word)
            current = next
        }
        return nil
    }
}
