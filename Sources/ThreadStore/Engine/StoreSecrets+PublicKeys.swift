// Security: the clients' public keys that several gateway nodes share through PostgreSQL (issue 21). A public key
// names its owner (user IDs with names and addresses), so the database sees only a keyed HMAC of the fingerprint
// and the key sealed under a key derived from the master key, bound to that HMAC: a row moved to another key's
// HMAC does not open.

public import Foundation
public import MailValues

extension StoreSecrets {
    /// The row key of a shared public key: a keyed HMAC of its primary fingerprint (upper-case hex).
    public func publicKeyHMAC(_ fingerprint: KeyFingerprint) -> Data {
        keys.indexHMAC("shared-public-key", Data(fingerprint.hex.utf8))
    }

    /// `keyData` (an exported public key) sealed for the row of `fingerprint`.
    public func sealPublicKey(_ keyData: [UInt8], for fingerprint: KeyFingerprint) throws(ThreadStoreError) -> Data {
        guard !keyData.isEmpty, keyData.count <= 1 << 20 else { throw .invalidValue }
        return try Sealing.seal(keyData, key: keys.publicKeys, context: Self.publicKeyContext(publicKeyHMAC(fingerprint)))
    }

    /// Opens a sealed shared public key stored under `rowKey` (``publicKeyHMAC(_:)``).
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when it was altered or moved to another row.
    public func openPublicKey(_ sealed: Data, rowKey: Data) throws(ThreadStoreError) -> [UInt8] {
        Array(try Sealing.open(sealed, key: keys.publicKeys, context: Self.publicKeyContext(rowKey)))
    }

    static func publicKeyContext(_ rowKey: Data) -> SealContext {
        SealContext(table: "public_key", column: "sealed", threadID: "",
                    rowID: rowKey.map { String(format: "%02x", $0) }.joined())
    }
}

// Issue 21: the gateway's own secret keys, shared by the nodes of one database in the same shape as the clients'
// public keys: the row key a keyed HMAC of the fingerprint, the exported key sealed under a key of its own derived
// from the master key and bound to its row. gpg exports it under the configured passphrase, if there is one.
extension StoreSecrets {
    /// The row key of a gateway secret key on the shelf: a keyed HMAC of its primary fingerprint.
    public func gatewaySecretKeyHMAC(_ fingerprint: KeyFingerprint) -> Data {
        keys.indexHMAC("gateway-secret-key", Data(fingerprint.hex.utf8))
    }

    /// `keyData` (an exported secret key) sealed for the row of `fingerprint`.
    public func sealGatewaySecretKey(_ keyData: [UInt8], for fingerprint: KeyFingerprint)
        throws(ThreadStoreError) -> Data
    {
        guard !keyData.isEmpty, keyData.count <= 1 << 20 else { throw .invalidValue }
        return try Sealing.seal(keyData, key: keys.gatewaySecretKeys,
                                context: Self.gatewaySecretKeyContext(gatewaySecretKeyHMAC(fingerprint)))
    }

    /// Opens a sealed gateway secret key stored under `rowKey` (``gatewaySecretKeyHMAC(_:)``).
    /// - Throws: ``ThreadStoreError/unsealingFailed`` when it was altered or moved to another row.
    public func openGatewaySecretKey(_ sealed: Data, rowKey: Data) throws(ThreadStoreError) -> [UInt8] {
        Array(try Sealing.open(sealed, key: keys.gatewaySecretKeys, context: Self.gatewaySecretKeyContext(rowKey)))
    }

    static func gatewaySecretKeyContext(_ rowKey: Data) -> SealContext {
        SealContext(table: "gateway_secret_key", column: "sealed", threadID: "",
                    rowID: rowKey.map { String(format: "%02x", $0) }.joined())
    }
}
