// Security: moves an installation's rows from SQLite into PostgreSQL as they are stored: sealed values, keyed
// HMACs, IDs, codes and times (issue 21). Nothing is opened: the sealing contexts name table, column, thread and
// row, which are the same on both engines, so the same master key opens them there. Nothing is logged but table
// names and counts.

import Crypto
public import Foundation
public import Logging
import PostgresNIO
public import ThreadStore

/// What a move from SQLite to PostgreSQL copied and checked.
public struct StoreMigrationReport: Sendable, CustomStringConvertible {
    /// Rows per table, the same on both engines.
    public var rows: [String: Int]
    /// Threads whose rows (in every table with a `thread_id`) have the same digest on both engines.
    public var threads: Int

    public var description: String {
        "\(rows.values.reduce(0, +)) rows in \(rows.count) tables, \(threads) threads with equal digests"
    }
}

/// Why a move was refused or failed (nothing was committed).
public struct StoreMigrationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// `mailbridge store migrate --to postgresql`: every row of a ThreadStore (SQLite) copied into an empty, migrated
/// PostgreSQL schema in one transaction, in foreign-key order, then read back and compared: row counts per table,
/// the SHA-256 digests of every row per table and per thread (every table with a `thread_id`). Any difference rolls the
/// transaction back. The audit log keeps its sequence numbers (`OVERRIDING SYSTEM VALUE`, then the identity is
/// moved past them).
///
/// Refused: a PostgreSQL database that holds any row in a table the copy fills, a SQLite store whose migrations
/// this binary does not know all of, a SQLite table or column PostgreSQL lacks, a value of another type than its
/// column's.
public enum SQLiteToPostgres {
    public static func migrate(_ store: ThreadStore, into database: PostgresDatabase, logger: Logger,
                               batch: Int = 500) async throws -> StoreMigrationReport {
        // The audit prune gate's one row is the schema's own on both engines (created by their migrations).
        let tables = try await store.storedTables().filter { !schemaOwned.contains($0.name) }
        return try await database.write { connection in
            let columns = try await postgresColumns(connection, logger: logger)
            for table in tables {
                guard let target = columns[table.name] else {
                    throw StoreMigrationError("PostgreSQL has no table \(table.name) (an older schema?)")
                }
                for column in table.columns where target[column] == nil {
                    throw StoreMigrationError("PostgreSQL table \(table.name) has no column \(column)")
                }
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT 1 FROM \(table.name) LIMIT 1"), logger: logger)
                for try await _ in rows { throw StoreMigrationError("PostgreSQL table \(table.name) is not empty") }
            }
            // The webhook subscription last: while it is absent, the audit rows copied fire PostgreSQL's webhook
            // trigger without recording events a second time (the recorded ones are copied as they are). Today the
            // audit rows also come before the threads, which the trigger needs; this does not rest on that order.
            var order = try await foreignKeyOrder(connection, tables: tables.map(\.name), logger: logger)
            if let subscription = order.firstIndex(of: "webhook_subscription") {
                order.append(order.remove(at: subscription))
            }
            let byName = Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0) })
            var expected: [String: TableDigest] = [:]
            for name in order {
                let table = byName[name]!
                expected[name] = try await copy(table, types: columns[name]!, from: store, on: connection,
                                                batch: batch, logger: logger)
                logger.info("table copied", metadata: ["table": "\(name)", "rows": "\(expected[name]!.count)"])
            }
            var threads = Set<String>()
            for table in tables {
                let found = try await readBack(table, types: columns[table.name]!, on: connection, logger: logger)
                let wanted = expected[table.name]!
                guard found.count == wanted.count else {
                    throw StoreMigrationError("table \(table.name): \(wanted.count) rows copied, \(found.count) read")
                }
                let (read, copied) = (found.normalised(), wanted.normalised())
                guard read.rows == copied.rows else {
                    throw StoreMigrationError("table \(table.name): the rows read back differ from the copied ones")
                }
                guard read.perThread == copied.perThread else {
                    throw StoreMigrationError("table \(table.name): a thread's rows differ after the copy")
                }
                threads.formUnion(found.perThread.keys)
            }
            return StoreMigrationReport(rows: expected.mapValues(\.count), threads: threads.count)
        }
    }

    /// Tables whose rows each engine's migrations create: not copied.
    static let schemaOwned: Set<String> = ["audit_prune_gate"]

    /// Table → column → (data type, whether it is an identity column that always generates).
    static func postgresColumns(_ connection: PostgresConnection, logger: Logger) async throws
        -> [String: [String: (type: String, generated: Bool)]]
    {
        let rows = try await connection.query("""
            SELECT table_name::text, column_name::text, data_type::text, coalesce(identity_generation::text, '')
            FROM information_schema.columns WHERE table_schema = current_schema()
            """, logger: logger)
        var columns: [String: [String: (type: String, generated: Bool)]] = [:]
        for try await (table, column, type, identity) in rows.decode((String, String, String, String).self) {
            columns[table, default: [:]][column] = (type, identity == "ALWAYS")
        }
        return columns
    }

    /// `tables` ordered so that every table comes after the tables its foreign keys reference.
    static func foreignKeyOrder(_ connection: PostgresConnection, tables: [String], logger: Logger) async throws
        -> [String]
    {
        let rows = try await connection.query("""
            SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'
            """, logger: logger)
        var references: [String: Set<String>] = [:]
        for try await (table, referenced) in rows.decode((String, String).self) where table != referenced {
            references[table, default: []].insert(referenced)
        }
        var ordered: [String] = []
        var placed = Set<String>()
        var remaining = tables.sorted()
        while !remaining.isEmpty {
            let ready = remaining.first { table in
                (references[table] ?? []).allSatisfy { placed.contains($0) || !tables.contains($0) }
            }
            guard let next = ready else {
                throw StoreMigrationError("the foreign keys of the PostgreSQL schema form a cycle")
            }
            ordered.append(next)
            placed.insert(next)
            remaining.removeAll { $0 == next }
        }
        return ordered
    }

    /// The rows of a table as a multiset of SHA-256 digests (order-free: PostgreSQL may return rows in another
    /// order than SQLite's rowid), in all and per `thread_id` value.
    struct TableDigest {
        var rows: [Data] = []
        var perThread: [String: [Data]] = [:]

        var count: Int { rows.count }

        mutating func add(_ row: [StoredValue], threadColumn: Int?) {
            var encoded = Data()
            for value in row { value.appendCanonical(to: &encoded) }
            let hash = Data(SHA256.hash(data: encoded))
            rows.append(hash)
            if let threadColumn, case .text(let thread) = row[threadColumn] {
                perThread[thread, default: []].append(hash)
            }
        }

        /// Sorted, so that equal multisets compare equal.
        func normalised() -> TableDigest {
            TableDigest(rows: rows.sorted { $0.lexicographicallyPrecedes($1) },
                        perThread: perThread.mapValues { $0.sorted { $0.lexicographicallyPrecedes($1) } })
        }
    }

    static func copy(_ table: StoredTable, types: [String: (type: String, generated: Bool)], from store: ThreadStore,
                     on connection: PostgresConnection, batch: Int, logger: Logger) async throws -> TableDigest {
        let overriding = table.columns.contains { types[$0]!.generated } ? " OVERRIDING SYSTEM VALUE" : ""
        let threadColumn = table.columns.firstIndex(of: "thread_id")
        var digest = TableDigest()
        var after: [StoredValue]?
        while true {
            let rows = try await store.storedRows(table, after: after, limit: batch)
            for stored in rows {
                let row = Array(stored.prefix(table.columns.count))
                var binds = PostgresBindings()
                var normalised: [StoredValue] = []
                for (column, value) in zip(table.columns, row) {
                    normalised.append(try bind(value, as: types[column]!.type, into: &binds, table: table.name,
                                               column: column))
                }
                let placeholders = (1...table.columns.count).map { "$\($0)" }.joined(separator: ", ")
                try await connection.query(PostgresQuery(
                    unsafeSQL: "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", ")))\(overriding) "
                        + "VALUES (\(placeholders))", binds: binds), logger: logger)
                digest.add(normalised, threadColumn: threadColumn)
            }
            guard rows.count == max(1, batch), let last = rows.last else { break }
            after = Array(last.suffix(table.orderedBy.count))
        }
        for (column, type) in types where type.generated && table.columns.contains(column) {
            try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT setval(pg_get_serial_sequence('\(table.name)', '\(column)'), coalesce(max(\(column)), 1),
                              max(\(column)) IS NOT NULL) FROM \(table.name)
                """), logger: logger)
        }
        return digest
    }

    /// Binds `value` for a PostgreSQL column of `type`; returns the value as PostgreSQL will give it back.
    static func bind(_ value: StoredValue, as type: String, into binds: inout PostgresBindings, table: String,
                     column: String) throws -> StoredValue {
        switch (value, type) {
        case (.null, _):
            binds.appendNull()
            return .null
        case (.integer(let number), "boolean"):
            binds.append(number != 0)
            return .integer(number != 0 ? 1 : 0)
        case (.integer(let number), "smallint") where Int16(exactly: number) != nil:
            binds.append(Int16(number))
        case (.integer(let number), "integer") where Int32(exactly: number) != nil:
            binds.append(Int32(number))
        case (.integer(let number), "bigint"):
            binds.append(number)
        case (.text(let text), "text"):
            binds.append(text)
        case (.blob(let data), "bytea"):
            binds.append(ByteBuffer(bytes: data))
        default:
            throw StoreMigrationError("\(table).\(column): a stored value does not fit the PostgreSQL type \(type)")
        }
        return value
    }

    /// The rows PostgreSQL holds now, as ``StoredValue``s.
    static func readBack(_ table: StoredTable, types: [String: (type: String, generated: Bool)],
                         on connection: PostgresConnection, logger: Logger) async throws -> TableDigest {
        let rows = try await connection.query(PostgresQuery(
            unsafeSQL: "SELECT \(table.columns.joined(separator: ", ")) FROM \(table.name)"), logger: logger)
        var found: [[StoredValue]] = []
        for try await row in rows {
            var values: [StoredValue] = []
            for (cell, column) in zip(row, table.columns) {
                switch types[column]!.type {
                case "boolean": values.append(try cell.decode(Bool?.self).map { .integer($0 ? 1 : 0) } ?? .null)
                case "smallint": values.append(try cell.decode(Int16?.self).map { .integer(Int64($0)) } ?? .null)
                case "integer": values.append(try cell.decode(Int32?.self).map { .integer(Int64($0)) } ?? .null)
                case "bigint": values.append(try cell.decode(Int64?.self).map { .integer($0) } ?? .null)
                case "text": values.append(try cell.decode(String?.self).map { .text($0) } ?? .null)
                case "bytea":
                    values.append(try cell.decode(ByteBuffer?.self).map { .blob(Data($0.readableBytesView)) } ?? .null)
                case let other: throw StoreMigrationError("\(table.name).\(column): unexpected type \(other)")
                }
            }
            found.append(values)
        }
        let threadColumn = table.columns.firstIndex(of: "thread_id")
        return found.reduce(into: TableDigest()) { $0.add($1, threadColumn: threadColumn) }
    }
}

extension StoredValue {
    /// A tag, the length and the octets: equal encodings mean equal values.
    func appendCanonical(to data: inout Data) {
        func append(_ tag: UInt8, _ bytes: some Collection<UInt8>) {
            data.append(tag)
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: bytes)
        }
        switch self {
        case .null: append(0, [])
        case .integer(let number): append(1, withUnsafeBytes(of: number.bigEndian) { Array($0) })
        case .real(let number): append(2, withUnsafeBytes(of: number.bitPattern.bigEndian) { Array($0) })
        case .text(let text): append(3, Array(text.utf8))
        case .blob(let blob): append(4, blob)
        }
    }
}
