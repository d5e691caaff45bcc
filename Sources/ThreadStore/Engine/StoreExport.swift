// Security: reads the store's rows as stored (sealed values, keyed HMACs, IDs, codes, times) for moving an
// installation to another engine (`mailbridge store migrate`, issue 21). Nothing is opened or logged here.

public import Foundation
import GRDB

/// One stored value as SQLite holds it.
public enum StoredValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// A table of the store: its name, its columns in order, and the columns rows are ordered by.
public struct StoredTable: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var columns: [String]
    /// The primary key's columns, or `["rowid"]` for a table without one.
    public var orderedBy: [String]

    public var description: String { "StoredTable(\(name), \(columns.count) columns)" }
}

extension ThreadStore {
    /// The store's own tables (not SQLite's or GRDB's bookkeeping), by name.
    public func storedTables() async throws -> [StoredTable] {
        try await read { tx in
            let names = try String.fetchAll(tx.db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                AND name != 'grdb_migrations' ORDER BY name
                """)
            return try names.map { name in
                let columns = try tx.db.columns(in: name)
                let key = columns.filter { $0.primaryKeyIndex > 0 }.sorted { $0.primaryKeyIndex < $1.primaryKeyIndex }
                return StoredTable(name: name, columns: columns.map(\.name),
                                   orderedBy: key.isEmpty ? ["rowid"] : key.map(\.name))
            }
        }
    }

    /// The names of the migrations applied to this store, in order.
    public func appliedMigrations() async throws -> [String] {
        try await read { tx in try String.fetchAll(tx.db, sql: "SELECT identifier FROM grdb_migrations") }
    }

    /// Up to `limit` rows of `table` (its columns in order) after the row whose ordering values are `after` (nil:
    /// from the first), in the order of ``StoredTable/orderedBy``. The ordering values of the last row returned
    /// are its last `orderedBy.count` values.
    public func storedRows(_ table: StoredTable, after: [StoredValue]?, limit: Int) async throws
        -> [[StoredValue]]
    {
        let (columns, order) = (table.columns, table.orderedBy)
        for name in [table.name] + columns + order {
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ThreadStoreError.invalidValue
            }
        }
        return try await read { tx in
            let selected = (columns + order).joined(separator: ", ")
            var sql = "SELECT \(selected) FROM \(table.name)"
            var arguments: [DatabaseValue] = []
            if let after {
                // Row values compare lexicographically (SQLite ≥ 3.15): (a, b) > (?, ?).
                sql += " WHERE (\(order.joined(separator: ", "))) > (\(order.map { _ in "?" }.joined(separator: ", ")))"
                arguments = after.map(\.databaseValue)
            }
            sql += " ORDER BY \(order.joined(separator: ", ")) LIMIT \(max(1, limit))"
            let rows = try Row.fetchAll(tx.db, sql: sql, arguments: StatementArguments(arguments))
            return rows.map { row in (0..<row.count).map { StoredValue(row[$0] as DatabaseValue) } }
        }
    }
}

extension StoredValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let number): self = .integer(number)
        case .double(let number): self = .real(number)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob(data)
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .real(let number): number.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let data): data.databaseValue
        }
    }
}
