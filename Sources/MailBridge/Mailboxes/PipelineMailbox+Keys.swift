public import PGPShim

// Issue 20: which of a mailbox's gateway keys may do what.
extension PipelineMailbox {
    /// The keys that may decrypt mail addressed to this mailbox: the current key and the keys in their overlap.
    /// A message decrypted by any other key (a retired or revoked one, another mailbox's) is `notForUs`.
    public var decryptionKeys: Set<KeyFingerprint> { overlapKeys.union([gatewayKey]) }

    /// Every key this mailbox has had that the store still records: recognised as ours, never as a client's.
    public var ownKeys: Set<KeyFingerprint> { decryptionKeys.union(formerKeys) }
}

extension PipelineMailbox {
    /// What WKD serves for this address (binary, minimal exports): the current key first, then every earlier key
    /// as the keyring has it now: replaced keys expired (from their rotation on), revoked keys with their
    /// revocation (issue 20), so that a client that refreshes stops encrypting to them. The WKD draft allows
    /// several keys in one response ("a server may return revoked keys in addition to a new key").
    public func webKeyDirectoryKeys(pgp: PGPService) async throws -> [UInt8] {
        var bytes = try await pgp.exportPublicKey(gatewayKey, armored: false, minimal: true)
        for key in overlapKeys.union(formerKeys).sorted(by: { $0.hex < $1.hex }) {
            bytes += try await pgp.exportPublicKey(key, armored: false, minimal: true)
        }
        return bytes
    }
}
