import Foundation
import Testing
import TestSupport

@testable import MailBridge

/// `check-config`'s warning when the gateway's service user could read the schema owner's password file (issue 21,
/// docs/postgresql.md "Two roles"). The tests run as root, so root stands in for the service user where a file it
/// owns must be flagged; `nobody` for a user that owns nothing here.
@Suite struct MigrationPasswordFileTests {
    func configuration(_ file: String) throws -> BridgeConfiguration.PostgreSQL {
        var postgresql = BridgeConfiguration.PostgreSQL(host: "127.0.0.1",
                                                        passwordFile: try AbsolutePath("/etc/mailbridge/pw"))
        postgresql.migrationUser = "owner"
        postgresql.migrationPasswordFile = try AbsolutePath(file)
        return postgresql
    }

    @Test func aFileTheServiceUserCanReadIsFlaggedAndOneItCannotIsNot() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try folder.write("owner-password", "secret\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let postgresql = try configuration(file)
        // Owned by the service user: flagged, naming the user, never the password.
        let owned = try #require(ConfigurationCheck.migrationPasswordWarning(postgresql, serviceUser: "root"))
        #expect(owned.contains("root") && owned.contains("migration-password-file") && !owned.contains("secret"))
        // Owner-only and owned by someone else: fine.
        #expect(ConfigurationCheck.migrationPasswordWarning(postgresql, serviceUser: "nobody") == nil)
        // Readable by others: flagged for any service user.
        try FileManager.default.setAttributes([.posixPermissions: 0o604], ofItemAtPath: file)
        #expect(ConfigurationCheck.migrationPasswordWarning(postgresql, serviceUser: "nobody") != nil)
        // No such user on this machine (a check on an administrator's laptop): nothing to say.
        #expect(ConfigurationCheck.migrationPasswordWarning(postgresql, serviceUser: "no-such-user-mb") == nil)
    }
}
