import GRDB
import SpoolClient

// The store's queries as GRDB requests (RecordRecommendedPractices: requests are derived
// from the record type, named after what they select).

extension DerivableRequest<ProcessRecord> {
    /// Pending or running processes.
    func unfinished() -> Self {
        filter([ProcessStatus.pending.rawValue, ProcessStatus.running.rawValue].contains(ProcessRecord.Columns.status))
    }

    /// Processes that ended (or were never started: rejected rows are not stored).
    func finished() -> Self {
        filter(
            ![ProcessStatus.pending.rawValue, ProcessStatus.running.rawValue].contains(ProcessRecord.Columns.status))
    }
}

extension QueryInterfaceRequest<ProcessRecord> {
    /// The `history` filters, newest first, one page.
    func matching(_ query: ProcessQuery) -> Self {
        var request = self
        if let type = query.type { request = request.filter(ProcessRecord.Columns.processType == type) }
        if let status = query.status { request = request.filter(ProcessRecord.Columns.status == status.rawValue) }
        // Stored as fixed-width text: text order is time order.
        if let since = query.since {
            request = request.filter(ProcessRecord.Columns.createdAt >= Timestamp.string(since))
        }
        if let until = query.until {
            request = request.filter(ProcessRecord.Columns.createdAt < Timestamp.string(until))
        }
        return request.order(ProcessRecord.Columns.createdAt.desc, ProcessRecord.Columns.processID.desc)
            .limit(query.limit, offset: query.offset)
    }
}

extension DerivableRequest<TaskRecord> {
    /// The tasks of one process, in status-file order.
    func of(_ processID: String) -> Self {
        filter(TaskRecord.Columns.processID == processID).order(TaskRecord.Columns.position)
    }
}

extension DerivableRequest<EventRecord> {
    /// The events of one process after an id, oldest first.
    func of(_ processID: String, after afterID: Int64) -> Self {
        filter(EventRecord.Columns.processID == processID && EventRecord.Columns.id > afterID)
            .order(EventRecord.Columns.id)
    }
}

extension QueryInterfaceRequest<RejectionRecord> {
    /// The `rejections` filters, newest first.
    func matching(_ query: RejectionQuery) -> Self {
        var request = self
        if let code = query.code { request = request.filter(Column("code") == code) }
        if let since = query.since { request = request.filter(Column("received_at") >= Timestamp.string(since)) }
        return request.order(Column("id").desc).limit(query.limit)
    }
}
