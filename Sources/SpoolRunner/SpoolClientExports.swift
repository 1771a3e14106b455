// The spool's client side (layout, ids, safe reads, atomic drops) lives in SpoolClient so that the
// HTTP gateway can use it without linking the engine; everything that imports SpoolRunner sees it.
@_exported import SpoolClient
// The store protocol and its SQLite conformer, for the same reason.
@_exported import SpoolStore
