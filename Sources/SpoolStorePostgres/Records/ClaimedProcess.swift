import Foundation

/// A process this runner now owns, as the claim returned it.
public struct ClaimedProcess: Sendable, Equatable {
    public var processID: String
    public var processType: String
    public var status: String
    /// The fencing token every commit for it must carry.
    public var leaseEpoch: Int64
    public var requestJSON: String
    public var definitionSHA256: Data
    public var crashCount: Int
    public var takeovers: Int
    public var createdAt: Date
}
