import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The textfile node_exporter's textfile collector reads (`serve --metrics-file`).
///
/// Each write goes to a temp file in the same directory (a dot name that does not end in
/// `.prom`, so the collector never reads it half-written), is `fchmod`ed to 0644 (the units'
/// `UMask=0027` would hide it from user `prometheus`), then `rename(2)`d over the file.
package struct MetricsFile: Sendable {
    package let path: String

    package init(path: String) {
        self.path = path
    }

    /// Renders `metrics` and replaces the file with it.
    /// - Throws: `SpoolError.cannotWrite` naming the file.
    package func write(_ metrics: RunnerMetrics) throws(SpoolError) {
        try AtomicFile.write(Data(metrics.render()), to: path, mode: 0o644)
    }
}
