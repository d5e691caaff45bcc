import Foundation
import MailValues
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// Keys per organisation (issue 29) on SQLite and on PostgreSQL: a thread of an organisation's field is sealed
/// under that organisation's own master key as well as the installation's. The same store opened with only
/// organisation A's key opens A's threads and nothing of B's (B's answer: the key is missing, never content); B's
/// queued mail waits while A's goes out; a wrong key for B is refused by B's key check; a rotation of the
/// installation's key needs no organisation key and keeps both layers; shredding B deletes its threads and key
/// check, audited, and A's stay.
@Suite struct OrganisationKeyConformanceTests {
    static let engines = InboundEngines.engines
    static let (a, b) = (try! OrganisationID("org-a"), try! OrganisationID("org-b"))
    static let (fieldA, fieldB) = (try! CounsellingField("sucht"), try! CounsellingField("familie"))

    /// One store, reopened with other organisation keys each time.
    final class Store: @unchecked Sendable {
        let name: String
        let masterKey: MasterKey
        var folder: URL?
        var sqlite: ThreadStore?
        var postgres: (database: TestDatabase, endpoint: PostgresEndpoint, pool: RunningDatabase?)?
        var claims = 0

        init(_ name: String, masterKey: MasterKey) async throws {
            self.name = name
            self.masterKey = masterKey
            if name == "sqlite" {
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("orgkeys-\(UUID())")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                self.folder = folder
            } else {
                // The gateway's role: the rights a running gateway and the commands have (schema migrated by the
                // owner).
                if name == "postgresql-gateway-role" {
                    let roles = try await PostgresTesting.twoRoles()
                    postgres = (roles.database, roles.gateway, nil)
                } else {
                    let (endpoint, database) = try await PostgresTesting.freshEndpoint()
                    _ = try await PostgresStore.open(endpoint, logger: PostgresTesting.logger)
                    postgres = (database, endpoint, nil)
                }
            }
        }

        deinit { if let folder { try? FileManager.default.removeItem(at: folder) } }

        /// The engine's seams opened with `keys` (the previous opening closed).
        func open(_ keys: OrganisationKeys, masterKey: MasterKey? = nil) async throws
            -> (inbound: any InboundStore, inbox: any InboxStore, maintenance: any MaintenanceStore,
                organisationKeys: OrganisationKeys, dueThreads: @Sendable () async throws -> Set<ThreadID?>,
                enqueue: @Sendable (NewOutboxItem) async throws -> Void)
        {
            var configuration = ImportEngines.configuration
            configuration.clock = { ImportEngines.start }
            configuration.organisationKeys = keys
            let key = masterKey ?? self.masterKey
            if let folder {
                try sqlite?.close()
                let store = try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"), masterKey: key,
                                            configuration: configuration)
                sqlite = store
                return (ThreadStoreImport(store), ThreadStoreInbox(store), ThreadStoreMaintenance(store),
                        store.organisationKeys,
                        { Set(try await store.read { tx in try tx.dueOutboxItems(now: .distantFuture) }.map(\.thread)) },
                        { item in _ = try await store.write { tx in try tx.enqueueOutbox(item) } })
            }
            let pool = try RunningDatabase(postgres!.endpoint)
            postgres!.pool = pool
            let threads = try await PostgresThreads.open(pool.database, masterKey: key, configuration: configuration,
                                                         logger: PostgresTesting.logger)
            let outbox = try await PostgresOutboxQueue.open(pool.database, masterKey: key, node: "n1",
                                                            lease: .seconds(1), configuration: configuration,
                                                            logger: PostgresTesting.logger)
            // Each look a day later than the last: a claim leases the items it returns (1 s here).
            claims += 1
            let now = ImportEngines.start.addingTimeInterval(Double(claims) * 86_400)
            return (threads, threads, threads, threads.organisationKeys,
                    { Set(try await outbox.claimDue(now: now, limit: 50).map(\.item.thread)) },
                    { item in _ = try await outbox.enqueue(item) })
        }

        func psql(_ sql: String) throws -> String {
            try postgres!.database.server.psql(sql, database: postgres!.database.name)
        }
    }

    static func keys(a keyA: MasterKey?, b keyB: MasterKey?) throws -> OrganisationKeys {
        var keys = OrganisationKeys(owners: [a: [fieldA], b: [fieldB]])
        if let keyA { try keys.add(keyA, for: a) }
        if let keyB { try keys.add(keyB, for: b) }
        return keys
    }

    static func identity(_ number: Int, _ field: CounsellingField) -> ClientIdentity {
        ClientIdentity(field: field, key: try! ClientKeyFingerprint(String(format: "%040X", number)),
                       address: try! ClientAddress("client\(number)@example.org"))
    }

    @Test(arguments: engines)
    func anOrganisationsThreadsOpenOnlyWithItsOwnKey(engine name: String) async throws {
        let (keyA, keyB) = (MasterKey.generate(), MasterKey.generate())
        let store = try await Store(name, masterKey: .generate())
        var opened = try await store.open(try Self.keys(a: keyA, b: keyB))
        #expect(opened.organisationKeys.missing.isEmpty, "\(name)")
        let canaryA = "CANARY-A-\(UUID())", canaryB = "CANARY-B-\(UUID())"
        let threadA = try #require(try await opened.inbound.importMessage(
            ImportEngines.message("a1", body: canaryA), into: .client(Self.identity(1, Self.fieldA))).storedThread)
        let threadB = try #require(try await opened.inbound.importMessage(
            ImportEngines.message("b1", body: canaryB), into: .client(Self.identity(2, Self.fieldB))).storedThread)
        for thread in [threadA, threadB] {
            try await opened.enqueue(NewOutboxItem(
                thread: thread, kind: .counsellorReply, recipient: try ClientAddress("client@example.org"),
                payload: Array("sealed reply".utf8), notBefore: ImportEngines.start))
        }
        #expect(try await opened.dueThreads() == [threadA, threadB], "\(name)")

        // Only A's key: A's thread opens, B's answers "key missing", B's outbox item waits and A's goes on.
        opened = try await store.open(try Self.keys(a: keyA, b: nil))
        #expect(opened.organisationKeys.missing == [Self.b], "\(name)")
        let readA = try await opened.inbox.exportThread(threadA, via: .commandLine)
        #expect(readA.messages.map { String(decoding: $0.body, as: UTF8.self) } == [canaryA], "\(name)")
        await #expect(throws: ThreadStoreError.organisationKeyMissing) {
            _ = try await opened.inbox.exportThread(threadB, via: .commandLine)
        }
        #expect(try await opened.dueThreads() == [threadA], "\(name): B's queued mail waits for its key")
        // A new message for B cannot start or join a thread without B's key (the pipeline keeps it spooled).
        await #expect(throws: ThreadStoreError.organisationKeyMissing) {
            _ = try await opened.inbound.importMessage(ImportEngines.message("b2"),
                                                       into: .client(Self.identity(3, Self.fieldB)))
        }

        // A's key given as B's, and a wrong key for B: refused by B's key check, nothing of B opens.
        #expect(throws: ThreadStoreError.invalidValue) { _ = try Self.keys(a: keyA, b: keyA) }
        opened = try await store.open(try Self.keys(a: keyA, b: .generate()))
        #expect(opened.organisationKeys.refused == [Self.b], "\(name)")
        #expect(opened.organisationKeys.missing == [Self.b], "\(name)")
        await #expect(throws: ThreadStoreError.organisationKeyMissing) {
            _ = try await opened.inbox.exportThread(threadB, via: .commandLine)
        }

        // B's key back: everything opens and goes out again.
        opened = try await store.open(try Self.keys(a: keyA, b: keyB))
        let readB = try await opened.inbox.exportThread(threadB, via: .commandLine)
        #expect(readB.messages.map { String(decoding: $0.body, as: UTF8.self) } == [canaryB], "\(name)")
        #expect(try await opened.dueThreads() == [threadA, threadB], "\(name)")

        // The installation's key alone (no organisation keys configured) opens neither.
        opened = try await store.open(OrganisationKeys())
        for thread in [threadA, threadB] {
            await #expect(throws: ThreadStoreError.organisationKeyMissing) {
                _ = try await opened.inbox.exportThread(thread, via: .commandLine)
            }
        }
    }

    @Test(arguments: engines)
    func shreddingAnOrganisationDeletesItsThreadsAndKeyCheckAudited(engine name: String) async throws {
        let (keyA, keyB) = (MasterKey.generate(), MasterKey.generate())
        let store = try await Store(name, masterKey: .generate())
        var opened = try await store.open(try Self.keys(a: keyA, b: keyB))
        let threadA = try #require(try await opened.inbound.importMessage(
            ImportEngines.message("a1"), into: .client(Self.identity(1, Self.fieldA))).storedThread)
        var threadsB: [ThreadID] = []
        for number in 2...4 {
            threadsB.append(try #require(try await opened.inbound.importMessage(
                ImportEngines.message("b\(number)"), into: .client(Self.identity(number, Self.fieldB))).storedThread))
        }
        #expect(try await opened.maintenance.shredOrganisation(Self.b, fields: [Self.fieldB], retiredGatewayKeys: 2)
                == 3, "\(name)")
        for thread in threadsB {
            await #expect(throws: ThreadStoreError.threadNotFound) {
                _ = try await opened.inbox.exportThread(thread, via: .commandLine)
            }
        }
        #expect(try await opened.inbox.exportThread(threadA, via: .commandLine).messages.count == 1, "\(name)")
        // Run again (a run stopped half-way): nothing left to delete, audited again.
        #expect(try await opened.maintenance.shredOrganisation(Self.b, fields: [Self.fieldB], retiredGatewayKeys: 0)
                == 0, "\(name)")
        // B's key check is gone: a new key for a new organisation B is accepted.
        opened = try await store.open(try Self.keys(a: keyA, b: .generate()))
        #expect(opened.organisationKeys.missing.isEmpty, "\(name)")
        let audit: [String]
        if let sqlite = store.sqlite {
            audit = try await sqlite.read { tx in try tx.auditEntries(limit: 1000) }
                .filter { $0.event == .organisationShredded || $0.event == .organisationGatewayKeysRetired }
                .map { "\($0.event.rawValue)/\($0.itemID ?? "-")/\($0.count.map(String.init) ?? "-")" }
        } else {
            audit = InboundEngines.lines(try store.psql(
                "SELECT event || '/' || item_id || '/' || count FROM audit WHERE event IN (67, 68) ORDER BY id"))
        }
        #expect(audit == ["68/org-b/2", "67/org-b/3", "68/org-b/0", "67/org-b/0"], "\(name)")
    }

    @Test(arguments: engines)
    func aRotationOfTheInstallationKeyNeedsNoOrganisationKeyAndKeepsBothLayers(engine name: String) async throws {
        let (keyA, keyB) = (MasterKey.generate(), MasterKey.generate())
        let (old, new) = (MasterKey.generate(), MasterKey.generate())
        let store = try await Store(name, masterKey: old)
        var opened = try await store.open(try Self.keys(a: keyA, b: keyB))
        let thread = try #require(try await opened.inbound.importMessage(
            ImportEngines.message("a1", body: "kept"), into: .client(Self.identity(1, Self.fieldA))).storedThread)
        // Each engine's rotation, with no organisation key at hand.
        if let sqlite = store.sqlite {
            try sqlite.close()
            store.sqlite = nil
            _ = try await ThreadStore.rotateMasterKey(at: store.folder!.appendingPathComponent("threads.sqlite"),
                                                      from: old, to: new)
        } else {
            _ = try await PostgresMasterKeyRotation.rotate(store.postgres!.pool!.database, from: old, to: new,
                                                           logger: PostgresTesting.logger)
        }
        opened = try await store.open(try Self.keys(a: keyA, b: keyB), masterKey: new)
        let read = try await opened.inbox.exportThread(thread, via: .commandLine)
        #expect(read.messages.map { String(decoding: $0.body, as: UTF8.self) } == ["kept"], "\(name)")
        opened = try await store.open(try Self.keys(a: nil, b: keyB), masterKey: new)
        await #expect(throws: ThreadStoreError.organisationKeyMissing) {
            _ = try await opened.inbox.exportThread(thread, via: .commandLine)
        }
    }

    /// An upgraded store: threads written before their organisation had a key open with the installation's key
    /// alone, until the start's pass gives them the organisation's layer (audited); from then on they need it.
    @Test(arguments: engines)
    func threadsFromBeforeAnOrganisationsKeyAreSealedUnderItAtStart(engine name: String) async throws {
        let keyB = MasterKey.generate()
        let store = try await Store(name, masterKey: .generate())
        var opened = try await store.open(OrganisationKeys())
        var threads: [ThreadID] = []
        for number in 1...3 {
            threads.append(try #require(try await opened.inbound.importMessage(
                ImportEngines.message("old\(number)"), into: .client(Self.identity(number, Self.fieldB))).storedThread))
        }
        let other = try #require(try await opened.inbound.importMessage(
            ImportEngines.message("other"), into: .client(Self.identity(9, try CounsellingField("andere"))))
            .storedThread)
        opened = try await store.open(try Self.keys(a: nil, b: nil))
        #expect(try await opened.inbox.exportThread(threads[0], via: .commandLine).messages.count == 1,
                "\(name): before the pass, the installation's layer alone opens an old thread")
        #expect(try await opened.maintenance.sealThreadsUnderOrganisationKeys() == [:], "\(name): no key, no pass")

        opened = try await store.open(try Self.keys(a: nil, b: keyB))
        #expect(try await opened.maintenance.sealThreadsUnderOrganisationKeys() == [Self.b: 3], "\(name)")
        #expect(try await opened.maintenance.sealThreadsUnderOrganisationKeys() == [:], "\(name): once only")
        for thread in threads {
            #expect(try await opened.inbox.exportThread(thread, via: .commandLine).messages.count == 1, "\(name)")
        }
        opened = try await store.open(try Self.keys(a: nil, b: nil))
        for thread in threads {
            await #expect(throws: ThreadStoreError.organisationKeyMissing) {
                _ = try await opened.inbox.exportThread(thread, via: .commandLine)
            }
        }
        #expect(try await opened.inbox.exportThread(other, via: .commandLine).messages.count == 1,
                "\(name): a field no organisation owns keeps the installation's layer")
    }

    /// A field handed from B to A (configuration), B's key gone: B's old thread still needs B's key, its queued mail
    /// is skipped without holding up A's, and shredding B finds it by its key's layer although B owns no field.
    @Test(arguments: engines)
    func aThreadOfAFieldHandedOverNeedsItsOldOrganisationsKeyAndBlocksNothing(engine name: String) async throws {
        let (keyA, keyB) = (MasterKey.generate(), MasterKey.generate())
        let store = try await Store(name, masterKey: .generate())
        var opened = try await store.open(try Self.keys(a: keyA, b: keyB))
        let threadA = try #require(try await opened.inbound.importMessage(
            ImportEngines.message("a1"), into: .client(Self.identity(1, Self.fieldA))).storedThread)
        let threadB = try #require(try await opened.inbound.importMessage(
            ImportEngines.message("b1"), into: .client(Self.identity(2, Self.fieldB))).storedThread)
        for thread in [threadA, threadB] {
            try await opened.enqueue(NewOutboxItem(
                thread: thread, kind: .counsellorReply, recipient: try ClientAddress("client@example.org"),
                payload: Array("sealed reply".utf8), notBefore: ImportEngines.start))
        }
        var handedOver = OrganisationKeys(owners: [Self.a: [Self.fieldA, Self.fieldB]])
        try handedOver.add(keyA, for: Self.a)
        opened = try await store.open(handedOver)
        #expect(opened.organisationKeys.closedFields.isEmpty, "\(name)")
        #expect(try await opened.dueThreads() == [threadA], "\(name): B's item is skipped, A's goes out")
        await #expect(throws: ThreadStoreError.organisationKeyMissing) {
            _ = try await opened.inbox.exportThread(threadB, via: .commandLine)
        }
        #expect(try await opened.maintenance.shredOrganisation(Self.b, fields: [], retiredGatewayKeys: 0) == 1,
                "\(name)")
        await #expect(throws: ThreadStoreError.threadNotFound) {
            _ = try await opened.inbox.exportThread(threadB, via: .commandLine)
        }
        #expect(try await opened.inbox.exportThread(threadA, via: .commandLine).messages.count == 1, "\(name)")
    }
}
