import Foundation
import Logging
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The web inbox's shared state on each engine, for the conformance and concurrency suites (issue 21).
enum WebStateEngines {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    /// A bcrypt-shaped hash (the store checks the shape only; no password is ever checked here).
    static let passwordHash = "$2b$10$" + String(repeating: "a", count: 53)

    /// ThreadStore on a temporary SQLite file, through ``ThreadStoreWebState``.
    static func sqlite(masterKey: MasterKey = .generate()) throws -> SQLiteWebState {
        try SQLiteWebState(masterKey: masterKey)
    }

    /// A fresh database on the private server, migrated, with `nodes` gateway nodes (each its own pool and
    /// ``PostgresWebState``) on it.
    /// `gatewayRole`: the nodes connect as a role with only the gateway's rights (the schema owned by another).
    static func postgres(nodes: Int = 1, masterKey: MasterKey = .generate(), gatewayRole: Bool = false) async throws
        -> PostgresNodes
    {
        let endpoint: PostgresEndpoint
        let database: TestDatabase
        if gatewayRole {
            let roles = try await PostgresTesting.twoRoles()
            (endpoint, database) = (roles.gateway, roles.database)
        } else {
            (endpoint, database) = try await PostgresTesting.freshEndpoint()
        }
        _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
        var running: [RunningDatabase] = []
        var states: [PostgresWebState] = []
        for _ in 0..<nodes {
            let pool = try RunningDatabase(endpoint)
            running.append(pool)
            states.append(try await PostgresWebState.open(pool.database, masterKey: masterKey, clock: { start },
                                                          logger: PostgresTesting.logger))
        }
        return PostgresNodes(database: database, endpoint: endpoint, pools: running, states: states)
    }

    /// The state of engine `name` ("sqlite", "postgresql", or "postgresql-gateway-role": PostgreSQL under a role
    /// with only the gateway's rights) with what keeps it alive.
    static func engine(_ name: String) async throws -> EngineUnderTest {
        if name == "sqlite" {
            let sqlite = try sqlite()
            return EngineUnderTest(state: sqlite.state, keepAlive: sqlite)
        }
        let nodes = try await postgres(gatewayRole: name == "postgresql-gateway-role")
        return EngineUnderTest(state: nodes.states[0], keepAlive: nodes)
    }

    static func newAccount(_ username: String, fields: Set<CounsellingField> = []) -> NewAccount {
        NewAccount(username: username, displayName: "Counsellor \(username)", role: .counsellor,
                   fields: fields, passwordHash: passwordHash)
    }
}

/// One engine's state; `keepAlive` holds its file or its running pool.
struct EngineUnderTest: Sendable {
    let state: any WebStateStore
    let keepAlive: any Sendable
}

/// Keeps a SQLite store (and its folder) alive as long as its state.
final class SQLiteWebState: Sendable {
    let folder: URL
    let state: ThreadStoreWebState

    init(masterKey: MasterKey) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("webstate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var configuration = ThreadStore.Configuration()
        configuration.clock = { WebStateEngines.start }
        state = ThreadStoreWebState(try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"),
                                                    masterKey: masterKey, configuration: configuration))
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}

/// A pool whose `run()` task ends when the value goes.
final class RunningDatabase: Sendable {
    let database: PostgresDatabase
    let task: Task<Void, Never>

    init(_ endpoint: PostgresEndpoint) throws {
        let database = try PostgresDatabase(endpoint, maximumConnections: 6, logger: PostgresTesting.logger)
        self.database = database
        task = Task { await database.run() }
    }

    deinit { task.cancel() }
}

/// Several nodes' states on one database; the pools run as long as this value lives.
struct PostgresNodes: Sendable {
    let database: TestDatabase
    let endpoint: PostgresEndpoint
    let pools: [RunningDatabase]
    let states: [PostgresWebState]

    /// Every row of `table` as text (psql as the database's owner), for the at-rest checks.
    func dump(_ table: String) throws -> String {
        try database.server.psql("SELECT t::text FROM \(table) t", database: database.name)
    }
}
