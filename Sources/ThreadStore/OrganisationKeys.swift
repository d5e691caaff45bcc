// Security: issue 29's keys per organisation. A thread of a field an organisation owns has its data key sealed
// twice: first under the organisation's own wrapping key (derived from the organisation's master key, bound to the
// thread and the organisation), then, like every thread's, under the installation's wrapping key. Opening it needs
// both keys: with organisation A's key nothing of B opens, and destroying B's key (crypto-shredding) leaves B's
// threads, backups included, sealed for good. A rotation of the installation key only reseals the outer layer, so
// it needs no organisation key. Nothing here is logged; `description` shows no key.

public import Crypto
public import Foundation

/// The organisations' own master keys and the fields each organisation owns, for wrapping thread data keys.
///
/// ```swift
/// var keys = OrganisationKeys(owners: ["caritas": [sucht, schulden], "diakonie": [familie]])
/// try keys.add(caritasKey, for: "caritas")        // diakonie's key is missing: its threads wait
/// configuration.organisationKeys = keys
/// ```
public struct OrganisationKeys: Sendable, CustomStringConvertible {
    /// Field → the organisation that owns it.
    private(set) var owners: [CounsellingField: OrganisationID] = [:]
    /// The wrapping keys of the organisations whose master key is loaded.
    private(set) var wrapping: [OrganisationID: SymmetricKey] = [:]
    /// The raw keys' fingerprints, so two organisations never share a key (``add(_:for:)``).
    private var fingerprints: [Data: OrganisationID] = [:]

    /// No organisations: every data key is wrapped under the installation's key alone (as before issue 29).
    public init() {}

    /// Organisations owning these fields; no key is loaded yet.
    public init(owners fields: [OrganisationID: Set<CounsellingField>]) {
        for (organisation, set) in fields { for field in set { owners[field] = organisation } }
    }

    /// Loads `key` as `organisation`'s master key.
    /// - Throws: ``ThreadStoreError/invalidValue`` when another organisation's key is the same key.
    public mutating func add(_ key: MasterKey, for organisation: OrganisationID) throws(ThreadStoreError) {
        let fingerprint = Data(SHA256.hash(data: key.key.withUnsafeBytes { Data($0) }))
        if let other = fingerprints[fingerprint], other != organisation { throw .invalidValue }
        fingerprints[fingerprint] = organisation
        wrapping[organisation] = Self.wrappingKey(key, organisation)
    }

    /// Forgets `organisation`'s key because it is not the key the store knows for it: its threads wait as if
    /// the key were missing, and ``refused`` names it.
    public mutating func refuse(_ organisation: OrganisationID) {
        wrapping[organisation] = nil
        refused.insert(organisation)
    }

    /// The organisations whose loaded key was not the one the store knows (``refuse(_:)``).
    public private(set) var refused: Set<OrganisationID> = []

    /// The organisations that own fields (every one of them, with or without key).
    public var organisations: Set<OrganisationID> { Set(owners.values) }

    /// The organisations that own fields and whose key is not loaded: their threads neither open nor start.
    public var missing: [OrganisationID] { organisations.filter { wrapping[$0] == nil }.sorted() }

    /// Whether `organisation`'s key is loaded.
    public func hasKey(for organisation: OrganisationID) -> Bool { wrapping[organisation] != nil }

    /// The fields of the organisations whose key is not loaded, as the store writes them (sorted): their
    /// threads' outbox items wait, skipped by the queue, until the key is back.
    public var closedFields: [String] {
        owners.keys.filter(isClosed).map(\.rawValue).sorted()
    }

    /// Whether `field` belongs to an organisation whose key is not loaded (its mail and threads wait).
    public func isClosed(_ field: CounsellingField) -> Bool { owners[field].map { wrapping[$0] == nil } ?? false }

    /// ``closedFields`` as a JSON array for SQLite's `json_each`.
    var closedFieldsJSON: String {
        let data = (try? JSONEncoder().encode(closedFields)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The fields `organisation` owns.
    public func fields(of organisation: OrganisationID) -> Set<CounsellingField> {
        Set(owners.filter { $0.value == organisation }.keys)
    }

    /// The organisation owning `field`, if any.
    public func owner(of field: CounsellingField) -> OrganisationID? { owners[field] }

    public var description: String { "OrganisationKeys(\(wrapping.count) of \(organisations.count) loaded)" }

    // MARK: The key check (`organisation_key.key_check`)

    private static let keyCheckPlaintext = Data("MailBridge organisation key check".utf8)

    private static func keyCheckContext(_ organisation: OrganisationID) -> SealContext {
        SealContext(table: "organisation_key", column: "key_check", threadID: "", rowID: organisation.rawValue)
    }

    /// A new key check for `organisation`'s loaded key; nil when its key is not loaded.
    public func makeKeyCheck(for organisation: OrganisationID) throws(ThreadStoreError) -> Data? {
        guard let key = wrapping[organisation] else { return nil }
        return try Sealing.seal(Self.keyCheckPlaintext, key: key, context: Self.keyCheckContext(organisation))
    }

    /// Whether `sealed` was made with `organisation`'s loaded key (false when it is not loaded).
    public func verifiesKeyCheck(_ sealed: Data, for organisation: OrganisationID) -> Bool {
        guard let key = wrapping[organisation] else { return false }
        return (try? Sealing.open(sealed, key: key, context: Self.keyCheckContext(organisation)))
            == Self.keyCheckPlaintext
    }

    // MARK: The inner layer of a thread's wrapped data key

    /// Marks an inner layer; a plain data key is exactly 32 bytes, an inner layer always longer.
    private static let marker: UInt8 = 0x4F

    private static func wrappingKey(_ master: MasterKey, _ organisation: OrganisationID) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: master.key, salt: Data("MailBridge organisation".utf8),
                               info: Data("data key wrapping \(organisation.rawValue) v1".utf8),
                               outputByteCount: 32)
    }

    private static func context(_ thread: ThreadID, _ organisation: OrganisationID) -> SealContext {
        SealContext(table: "thread_key", column: "wrapped_key.organisation", threadID: thread.unredactedDescription,
                    rowID: organisation.rawValue)
    }

    /// What the installation's key seals for a new thread of `field`: the raw data key when no organisation owns
    /// the field, otherwise the data key sealed under the owner's key, tagged with the owner.
    /// - Throws: ``ThreadStoreError/organisationKeyMissing`` when the owner's key is not loaded.
    func innerLayer(_ raw: Data, for thread: ThreadID, field: CounsellingField?) throws(ThreadStoreError) -> Data {
        guard let field, let owner = owners[field] else { return raw }
        guard let key = wrapping[owner] else { throw .organisationKeyMissing }
        let name = Array(owner.rawValue.utf8)
        var layer = Data([Self.marker, UInt8(name.count)])
        layer.append(contentsOf: name)
        layer.append(try Sealing.seal(raw, key: key, context: Self.context(thread, owner)))
        return layer
    }

    /// The raw data key inside `layer` (as ``innerLayer(_:for:field:)`` made it); the caller wipes it.
    /// - Throws: ``ThreadStoreError/organisationKeyMissing`` when the layer's organisation has no key loaded,
    ///   ``ThreadStoreError/unsealingFailed`` when it was altered or belongs to another thread.
    func openInnerLayer(_ layer: Data, for thread: ThreadID) throws(ThreadStoreError) -> Data {
        if layer.count == 32 { return layer }
        guard let (organisation, sealed) = Self.parse(layer) else { throw .unsealingFailed }
        guard let key = wrapping[organisation] else { throw .organisationKeyMissing }
        return try Sealing.open(sealed, key: key, context: Self.context(thread, organisation))
    }

    /// The organisation `layer` is sealed for; nil for a data key under the installation's key alone.
    static func organisation(ofInnerLayer layer: Data) -> OrganisationID? {
        layer.count == 32 ? nil : parse(layer)?.organisation
    }

    /// An inner layer's organisation (an exact ID) and sealed data key.
    private static func parse(_ layer: Data) -> (organisation: OrganisationID, sealed: Data)? {
        let bytes = [UInt8](layer.prefix(2 + OrganisationID.maximumLength))
        guard bytes.count >= 2, bytes[0] == marker, Int(bytes[1]) + 2 <= bytes.count,
              let text = String(bytes: bytes[2..<(2 + Int(bytes[1]))], encoding: .utf8),
              let organisation = try? OrganisationID(text), organisation.rawValue == text
        else { return nil }
        return (organisation, Data(layer.dropFirst(2 + Int(bytes[1]))))
    }
}
