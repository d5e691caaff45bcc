/// A suite that runs one store seam's scenarios on every engine (issue 21): the engines its tests take as
/// arguments.
protocol SeamConformanceSuite {
    static var engines: [String] { get }
}

/// Which conformance suites cover each seam of `GatewayStores` (MailBridge), by the seam's property name.
/// ``SeamCoverageTests`` fails when a seam has no suite here, or a suite does not run on both engines: a seam added
/// to `GatewayStores` needs its suite named here.
enum SeamConformanceRegistry {
    static var suites: [String: [any SeamConformanceSuite.Type]] { [
        "inbound": [InboundConformanceTests.self, ImportConformanceTests.self],
        "inbox": [InboxConformanceTests.self, AccountSettingsConformanceTests.self,
                  ThreadDeletionConformanceTests.self, InboxExportConformanceTests.self],
        "replies": [ReplyConformanceTests.self],
        "webState": [WebStateConformanceTests.self],
        "gauges": [GaugeConformanceTests.self, OrganisationConformanceTests.self],
        "maintenance": [RetentionConformanceTests.self, OrganisationKeyConformanceTests.self],
        "digests": [NoticeDigestConformanceTests.self],
        "gatewayKeys": [GatewayKeyConformanceTests.self],
        "accounts": [AccountAdminConformanceTests.self, OrganisationConformanceTests.self],
        "audit": [AuditConformanceTests.self, OrganisationConformanceTests.self],
        "rejected": [RejectedConformanceTests.self],
        "webhooks": [WebhookEventConformanceTests.self],
    ] }

    /// The protocol of each seam (its file is `Sources/ThreadStore/Engine/<name>.swift`), for
    /// ``SeamMethodCoverageTests``.
    static let protocols: [String: String] = [
        "inbound": "InboundStore", "inbox": "InboxStore", "replies": "ReplyStore", "webState": "WebStateStore",
        "gauges": "GaugeStore", "maintenance": "MaintenanceStore", "digests": "NoticeDigestStore",
        "gatewayKeys": "GatewayKeyStore", "accounts": "AccountAdminStore", "audit": "AuditLogStore",
        "rejected": "RejectedMessageStore", "webhooks": "WebhookEventStore",
    ]

    /// Requirements no conformance suite calls, each with the reason. ``SeamMethodCoverageTests`` fails for a
    /// requirement that is neither called nor listed here, and for an entry here that is called by now or gone.
    static let uncalled: [String: String] = [
        "receiptMayBeDue": "a prediction with a safe default (true), which PostgreSQL keeps: engines may differ; "
            + "the receipts it guards are compared in InboundConformanceTests",
    ]
}

extension InboundConformanceTests: SeamConformanceSuite {}
extension ImportConformanceTests: SeamConformanceSuite {}
extension InboxConformanceTests: SeamConformanceSuite {}
extension AccountSettingsConformanceTests: SeamConformanceSuite {}
extension ThreadDeletionConformanceTests: SeamConformanceSuite {}
extension ReplyConformanceTests: SeamConformanceSuite {}
extension WebStateConformanceTests: SeamConformanceSuite {}
extension GaugeConformanceTests: SeamConformanceSuite {}
extension RetentionConformanceTests: SeamConformanceSuite {}
extension NoticeDigestConformanceTests: SeamConformanceSuite {}
extension GatewayKeyConformanceTests: SeamConformanceSuite {}
extension AccountAdminConformanceTests: SeamConformanceSuite {}
extension AuditConformanceTests: SeamConformanceSuite {}
extension RejectedConformanceTests: SeamConformanceSuite {}
extension InboxExportConformanceTests: SeamConformanceSuite {}
extension WebhookEventConformanceTests: SeamConformanceSuite {}
extension OrganisationConformanceTests: SeamConformanceSuite {}
extension OrganisationKeyConformanceTests: SeamConformanceSuite {}
