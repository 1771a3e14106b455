extension Array {
    /// Consecutive slices of at most `size` elements: the store binds at most 500 ids per
    /// statement, well under SQLite's limit on host parameters.
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

extension Collection {
    /// `?, ?, ?`: one SQL placeholder per element.
    var sqlPlaceholders: String { Array(repeating: "?", count: count).joined(separator: ",") }
}
