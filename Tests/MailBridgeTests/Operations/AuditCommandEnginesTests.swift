import Foundation
import Logging
import MailBridge
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: `mailbridge audit` reads the audit log on PostgreSQL as on SQLite. The same administrator commands on
/// each engine (an account and an API token made, the gateway key rotated) leave the same entries, and the command
/// prints them alike, with every filter: limit, `--before`, `--since`, `--thread`, `--account`.
@Suite(.serialized) struct AuditCommandEnginesTests {
    /// What `mailbridge audit` printed on one engine, sequence numbers and times left out.
    struct Printed: Equatable {
        var all: [String]
        var newestTwo: [String]
        var beforeNewest: [String]
        var sinceTomorrow: String
        var otherThread: String
        var byAccount: String
    }

    static func run(postgreSQL: TestDatabase?) async throws -> Printed {
        let temporary = try await TemporaryInstallation(postgreSQL: postgreSQL, label: "test.audit")
        defer { Task { await temporary.remove() } }
        let installation = temporary.installation
        func succeeded(_ result: AdminResult) throws -> String {
            try #require(result.status == .success, "\(result.errorOutput)")
            return result.output
        }
        _ = try succeeded(try await UsersAdmin.add(
            installation, username: "anna", displayName: "Anna", role: "counsellor", fields: ["allgemein"],
            language: nil, password: "ein langes Passwort 123", bcryptCost: 4))
        _ = try succeeded(try await TokensAdmin.add(installation, username: "anna", label: "Plattform"))
        let rotated = try succeeded(try await GatewayKeysAdmin.rotate(installation, mailbox: "beratung@localhost"))
        #expect(rotated.hasPrefix("new current key "))

        func list(before: Int64? = nil, since: String? = nil, thread: String? = nil, account: String? = nil,
                  limit: Int = 1000) async throws -> String {
            try succeeded(try await AuditAdmin.list(installation, thread: thread, account: account, since: since,
                                                    before: before, limit: limit, json: false))
        }
        /// A line without its time and sequence number, random IDs (32 hex) and fingerprints (40 hex) named.
        func shape(_ text: String) -> [String] {
            text.split(separator: "\n").map { line in
                line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).map { word in
                    if word.count == 32, word.allSatisfy(\.isHexDigit) { return "<id>" }
                    if word.count == 40, word.allSatisfy(\.isHexDigit) { return "<key>" }
                    return String(word)
                }.joined(separator: " ")
            }
        }
        let all = try await list()
        let newest = try #require(all.split(separator: "\n").last)
        let newestSequence = try #require(Int64(newest.split(separator: " ")[1].dropFirst()))
        let tomorrow = ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400))
        return Printed(
            all: shape(all), newestTwo: shape(try await list(limit: 2)),
            beforeNewest: shape(try await list(before: newestSequence, limit: 1)),
            sinceTomorrow: try await list(since: tomorrow),
            otherThread: try await list(thread: String(repeating: "a", count: 32)),
            byAccount: try await list(account: "anna"))
    }

    @Test(.timeLimit(.minutes(3))) func theSameCommandsPrintTheSameLogOnBothEngines() async throws {
        let server = try await PostgresServer.shared()
        let onSQLite = try await Self.run(postgreSQL: nil)
        let onPostgreSQL = try await Self.run(postgreSQL: try await server.makeDatabase())
        #expect(onPostgreSQL == onSQLite)
        // What the log holds after these commands, in order (the key rotation names the new key).
        #expect(onPostgreSQL.all == ["accountCreated via: command-line item: <id>",
                                     "apiTokenCreated via: command-line item: <id>",
                                     "gatewayKeyRotated via: command-line item: <key>"], "\(onPostgreSQL.all)")
        #expect(onPostgreSQL.newestTwo == Array(onPostgreSQL.all.suffix(2)))
        #expect(onPostgreSQL.beforeNewest == [onPostgreSQL.all[onPostgreSQL.all.count - 2]])
        #expect(onPostgreSQL.sinceTomorrow == "no audit entries")
        #expect(onPostgreSQL.otherThread == "no audit entries")
    }
}
