import Foundation
import Logging
import Testing
import TestSupport

@testable import StorePostgres

/// `mailbridge store compact`'s engine half (issue 21): `VACUUM (FULL)` of the tables whose deleted rows must not
/// linger, as the schema's owner. Each table gets a new file (what removes a deleted row's octets from the heap,
/// PostgresShreddingTests); the gateway's role, which owns nothing, is refused with a problem that says what to
/// configure, and nothing is rewritten.
@Suite struct PostgresCompactionTests {
    let logger = PostgresTesting.logger

    private func fileNodes(_ roles: TwoRoles) throws -> [String] {
        try PostgresStore.compactedTables.map { table in
            try roles.database.server.psql("SELECT pg_relation_filenode('\(table)')", database: roles.database.name)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    @Test func theOwnerRewritesEachTableAndTheGatewaysRoleIsRefused() async throws {
        let roles = try await PostgresTesting.twoRoles()
        let before = try fileNodes(roles)
        await #expect(throws: PostgresProblem.notSchemaOwner(user: roles.gateway.user)) {
            _ = try await PostgresStore.compactSealedTables(owner: roles.gateway, logger: logger)
        }
        #expect(try fileNodes(roles) == before)
        #expect("\(PostgresProblem.notSchemaOwner(user: roles.gateway.user))".contains("store.migration-user"))

        let compacted = try await PostgresStore.compactSealedTables(owner: roles.owner, logger: logger)
        #expect(compacted == ["thread_key", "inbound_spool", "inbound_spool_piece"])
        let after = try fileNodes(roles)
        for (table, (old, new)) in zip(PostgresStore.compactedTables, zip(before, after)) {
            #expect(old != new && !new.isEmpty, "\(table) was not rewritten")
        }
    }
}
