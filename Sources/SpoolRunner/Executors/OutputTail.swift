import Foundation
import ProcessDefinitions

/// Keeps the end of a task's standard output, enough to find its last line, whatever the size of
/// the whole output (which goes to the log file, not to memory).
struct OutputTail {
    /// The output object may be up to 64 KiB; keep a little more to see where its line starts.
    static let limit = 64 * 1024
    private(set) var bytes: [UInt8] = []

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: chunk)
        if bytes.count > 2 * Self.limit + 2 {
            bytes.removeFirst(bytes.count - (Self.limit + 2))
        }
    }

    /// The last non-empty line, when it is a JSON object of at most 64 KiB.
    var outputObject: [String: JSONValue]? {
        var end = bytes.count
        // Skip trailing blank lines.
        while true {
            while end > 0,
                bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D || bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09
            {
                end -= 1
            }
            guard end > 0 else { return nil }
            var start = end
            while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
            let line = bytes[start..<end]
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                end = start
                continue
            }
            // A line that begins at the cut-off point may be the tail of a longer one.
            if start == 0 && bytes.count > Self.limit { return nil }
            guard line.count <= Self.limit, line.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "{") else {
                return nil
            }
            guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(line)) else {
                return nil
            }
            return object
        }
    }
}
