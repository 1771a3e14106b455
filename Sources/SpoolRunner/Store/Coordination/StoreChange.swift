/// Something another runner did that this runner acts on (`StoreCoordination.changes()`).
public enum StoreChange: Sendable, Equatable {
    /// Unowned work appeared (accepted elsewhere, released, taken over from a dead runner): claim.
    case work
    /// Someone asked to cancel processes this runner holds.
    case cancelRequested([String])
    /// Processes this runner's spool subscribes to changed under another runner: rewrite their
    /// status files.
    case statusChanged([String])
    /// The notification channel was (re)established: anything may have been missed, so look
    /// again (claim, reconcile status files).
    case resynchronize
}
