import SpoolClient

/// When the runner first saw each not-yet-acceptable file with its current identity.
struct SettleTracker {
    private struct Entry {
        var identity: FileIdentity
        var firstSeen: Double
    }

    private var entries: [String: Entry] = [:]

    /// When `name` was first seen as it is now; a changed identity starts the wait again.
    mutating func firstSeen(_ name: String, _ identity: FileIdentity, now: Double) -> Double {
        if let entry = entries[name], entry.identity == identity { return entry.firstSeen }
        entries[name] = Entry(identity: identity, firstSeen: now)
        return now
    }

    /// Whether `name` is known with exactly this identity and still within `settle` at `now`:
    /// then it need not be read again yet.
    func isWaiting(_ name: String, _ identity: FileIdentity, settle: Double, now: Double) -> Bool {
        guard let entry = entries[name], entry.identity == identity else { return false }
        return now < entry.firstSeen + settle
    }

    mutating func forget(_ name: String) {
        entries.removeValue(forKey: name)
    }

    /// Drops what is no longer in the directory.
    mutating func keep(only names: Set<String>) {
        if entries.keys.contains(where: { !names.contains($0) }) {
            entries = entries.filter { names.contains($0.key) }
        }
    }
}
