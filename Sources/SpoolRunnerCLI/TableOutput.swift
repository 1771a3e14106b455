import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Rows printed for a person or for a pipe.
///
/// On a terminal the columns are aligned; when standard output is a pipe or a file the rows are
/// tab-separated (with tabs and newlines inside a value replaced by spaces), so `cut -f` and `awk -F'\t'`
/// see one field per column.
struct TableOutput {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) {
        self.header = header
    }

    mutating func append(_ row: [String]) {
        rows.append(row.map(Self.oneLine))
    }

    /// The value with its tabs and newlines made spaces. Most values have neither, and are kept as
    /// they are without two Foundation searches each (`history` prints 50 rows of 6 by default, and
    /// P6 in BENCHMARKS.md times the whole command).
    static func oneLine(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") }) else { return value }
        return value.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    func render(aligned: Bool = isatty(STDOUT_FILENO) == 1) -> String {
        let all = [header] + rows
        guard aligned else {
            return all.map { $0.joined(separator: "\t") }.joined(separator: "\n")
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                // The last column is not padded: no trailing blanks.
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            .joined(separator: "  ")
            .trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
