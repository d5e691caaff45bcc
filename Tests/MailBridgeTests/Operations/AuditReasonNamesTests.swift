import Foundation
import Logging
import Testing
import ThreadStore
@testable import MailBridge

/// `mailbridge audit` prints the names of stored reason codes, not their numbers (issue 22), on a real data
/// folder and store; unknown codes (from a newer binary) stay numbers.
@Suite struct AuditReasonNamesTests {
    @Test func everyStoredRejectionReasonAndKeyProblemHasItsName() {
        for reason in AcceptOutcome.RejectionReason.allCases {
            #expect(AuditReasonNames.name(event: .inboundEncryptedRejected, code: reason.storedCode) == reason.rawValue)
        }
        for problem in ReplyOutcome.KeyProblem.allCases {
            #expect(AuditReasonNames.name(event: .replyKeyUnusable, code: problem.storedCode) == problem.rawValue)
        }
        #expect(AuditReasonNames.name(event: .inboundEncryptedRejected, code: 999) == nil)
        #expect(AuditReasonNames.name(event: .retentionApplied, code: 1) == nil)
    }

    @Test func theAuditCommandPrintsReasonNames() async throws {
        let folder = try TemporaryFolder()
        defer {
            _ = try? runProcess("/usr/bin/gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"])
            folder.remove()
        }
        let config = folder.path + "/etc/mailbridge.toml"
        _ = try DataFolderInitializer.run(dataFolder: try AbsolutePath(folder.path + "/data"),
                                          configFile: try AbsolutePath(config))
        let logger = Logger(label: "audit-reasons")
        let written = await AdminSession.run(configFile: config, logger: logger) { installation in
            try await installation.store.write { tx in
                let notForUs = AcceptOutcome.RejectionReason.notForUs.storedCode
                try tx.recordInbound(.inboundEncryptedRejected, reason: notForUs)
                try tx.recordInbound(.inboundRedirectSuppressed, reason: 2)
                try tx.recordInbound(.inboundEncryptedRejected, reason: 999)
            }
            return AdminResult(output: "")
        }
        #expect(written.status == .success, "\(written.errorOutput)")
        let listed = await AdminSession.run(configFile: config, logger: logger) {
            try await AuditAdmin.list($0, thread: nil, account: nil, since: nil, limit: 10, json: false)
        }
        let lines = listed.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("inboundEncryptedRejected  reason: notForUs") }, "\(lines)")
        #expect(lines.contains { $0.contains("inboundRedirectSuppressed  reason: rateLimited") }, "\(lines)")
        #expect(lines.contains { $0.contains("inboundEncryptedRejected  count: 999") }, "\(lines)")
    }
}
