// Security: decides what the gateway's PostgreSQL role may do when it does not own the schema (docs/postgresql.md,
// "Two roles"): rows only (no DDL), and on `audit` only INSERT and SELECT, so that neither a bug nor a taken-over
// gateway can drop the append-only trigger or rewrite the trail. The role's name comes from the configuration and
// is quoted as an identifier (doubled quotes), never interpolated bare.

import Logging
import PostgresNIO

/// The table rights of the gateway's role, and the statements that grant exactly those (run by the schema's owner,
/// ``PostgresMigrator/migrate(_:logger:migrations:grantingTo:)``).
///
/// Every table of ``PostgresSchema`` is listed here; a new table without an entry has no rights for the gateway
/// (`PostgresLeastPrivilegeTests` fails on it).
enum PostgresPrivileges {
    /// The rights a table needs: `SELECT`, `INSERT`, `UPDATE`, `DELETE` in PostgreSQL's words.
    static let rowRights = ["SELECT", "INSERT", "UPDATE", "DELETE"]

    /// Table → the rights the gateway's role gets on it.
    ///
    /// - `audit`: `SELECT, INSERT`. Retention deletes only through `audit_prune(cutoff)` (schema version 4),
    ///   which runs as the owner and opens the gate inside the caller's transaction.
    /// - `audit_prune_gate`: nothing. Only `audit_prune` (as the owner) opens and closes it.
    /// - `store_meta`: no `DELETE` (the key check is written once and changed by master key rotation).
    /// - `mailbridge_schema`: `SELECT` (the gateway checks the version at start; the owner migrates).
    static let tables: [String: [String]] = {
        var tables: [String: [String]] = [:]
        for table in [
            "account", "account_field", "web_session", "api_token", "thread", "thread_key", "message", "attachment",
            "seen_ciphertext", "outbox", "sender_rate_limit", "held_reply", "notice_pending", "rejected_message",
            "gateway_key", "login_lock", "reply_delivery", "public_key", "gateway_secret_key", "inbound_spool",
            "inbound_spool_piece", "gateway_node", "webhook_subscription", "webhook_event", "organisation_key",
        ] { tables[table] = rowRights }
        tables["store_meta"] = ["SELECT", "INSERT", "UPDATE"]
        tables["audit"] = ["SELECT", "INSERT"]
        tables["audit_prune_gate"] = []
        tables["mailbridge_schema"] = ["SELECT"]
        return tables
    }()

    /// Functions the gateway's role may call (with their argument types, as `GRANT EXECUTE` names them).
    static let functions = ["audit_prune(BIGINT)"]

    /// `role` as an SQL identifier: in double quotes, quotes inside doubled (PostgreSQL §4.1.1).
    static func quoted(_ role: String) -> String {
        "\"" + role.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    /// Takes every right on `schema`'s tables, sequences and functions from `role`, then grants the rights above
    /// and `USAGE` on the schema: after an upgrade the role holds exactly this list, whatever it held before.
    ///
    /// `present`: the tables and functions the schema has (an older schema lacks some); nil grants the whole list.
    static func grantStatements(to role: String, schema: String, present: Set<String>? = nil) -> [String] {
        let role = quoted(role)
        let schema = quoted(schema)
        var statements = [
            "GRANT USAGE ON SCHEMA \(schema) TO \(role)",
            "REVOKE ALL ON ALL TABLES IN SCHEMA \(schema) FROM \(role)",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA \(schema) FROM \(role)",
            "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA \(schema) FROM \(role)",
        ]
        for (table, rights) in tables.sorted(by: { $0.key < $1.key })
        where !rights.isEmpty && present?.contains(table) != false {
            statements.append("GRANT \(rights.joined(separator: ", ")) ON \(table) TO \(role)")
        }
        for function in functions where present?.contains(function) != false {
            statements.append("GRANT EXECUTE ON FUNCTION \(function) TO \(role)")
        }
        return statements
    }

    /// What the connected role may do that it should not, or lacks (for `check-config`). Read-only.
    static func findings(_ connection: PostgresConnection, logger: Logger) async throws -> [PostgresPrivilegeFinding] {
        var findings: [PostgresPrivilegeFinding] = []
        // Owner, or a member of the owner's role (who may SET ROLE to it): both could drop the audit trigger.
        let owner = try await connection.query("""
            SELECT pg_has_role(relowner, 'MEMBER') FROM pg_class
            WHERE oid IN (to_regclass('mailbridge_schema'), to_regclass('audit'))
            """, logger: logger)
        var owns = false
        for try await member in owner.decode(Bool.self) where member { owns = true }
        if owns { findings.append(.ownsSchema) }
        let create = try await connection.query(
            "SELECT has_schema_privilege(current_schema(), 'CREATE')", logger: logger)
        for try await may in create.decode(Bool.self) where may { findings.append(.mayCreateTables) }
        if findings.contains(.ownsSchema) { return findings }
        for (table, rights) in tables.sorted(by: { $0.key < $1.key }) {
            for right in rowRights + (table == "audit" ? ["TRUNCATE"] : []) {
                let rows = try await connection.query(
                    "SELECT has_table_privilege(\(table), \(right))", logger: logger)
                for try await has in rows.decode(Bool.self) {
                    if rights.contains(right), !has { findings.append(.missingRight(table: table, right: right)) }
                    if !rights.contains(right), has, table == "audit" || table == "audit_prune_gate" {
                        findings.append(.excessRight(table: table, right: right))
                    }
                }
            }
        }
        for function in functions {
            let rows = try await connection.query(
                "SELECT has_function_privilege(\(function), 'EXECUTE')", logger: logger)
            for try await has in rows.decode(Bool.self) where !has {
                findings.append(.missingRight(table: function, right: "EXECUTE"))
            }
        }
        return findings
    }
}

/// Something about the gateway role's rights that `check-config` reports.
public enum PostgresPrivilegeFinding: Sendable, Hashable, CustomStringConvertible {
    /// The role owns the schema's tables: it could drop or disable the audit log's trigger. A warning: the one-role
    /// set-up works, but without the database's protection of the trail against the gateway itself.
    case ownsSchema
    /// The role may create tables (and functions) in the schema. A warning.
    case mayCreateTables
    /// The role lacks a right it needs (the gateway fails when it uses it). A problem.
    case missingRight(table: String, right: String)
    /// The role may change or delete audit rows, or open the prune gate, itself. A warning.
    case excessRight(table: String, right: String)

    /// Whether the gateway cannot work this way (rather than working with less protection).
    public var isProblem: Bool {
        if case .missingRight = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .ownsSchema:
            return "the gateway's role owns the schema (or may act as its owner), so it could drop or disable the "
                + "audit log's trigger; run the gateway under a role with row rights only (store.migration-user "
                + "owns the schema, see docs/postgresql.md)"
        case .mayCreateTables:
            return "the gateway's role may create tables in the schema (REVOKE CREATE ON SCHEMA … FROM it and "
                + "from PUBLIC)"
        case .missingRight(let table, let right):
            return "the gateway's role lacks \(right) on \(table) (run `mailbridge store migrate-schema`, which "
                + "grants it)"
        case .excessRight(let table, let right):
            return "the gateway's role has \(right) on \(table), which only the schema's owner should have"
        }
    }
}
