import Synchronization

/// A one-way boolean shared between an attempt's watchers.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    func clear() { value.store(false, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
