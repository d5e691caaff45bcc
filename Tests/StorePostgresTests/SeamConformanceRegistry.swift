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
                  ThreadDeletionConformanceTests.self],
        "replies": [ReplyConformanceTests.self],
        "webState": [WebStateConformanceTests.self],
        "gauges": [GaugeConformanceTests.self],
        "maintenance": [RetentionConformanceTests.self],
        "digests": [NoticeDigestConformanceTests.self],
        "gatewayKeys": [GatewayKeyConformanceTests.self],
        "accounts": [AccountAdminConformanceTests.self],
        "audit": [AuditConformanceTests.self],
        "rejected": [RejectedConformanceTests.self],
    ] }
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
