// Security: decides whether unsigned mail may be bound to a client key because it was encrypted to that key.
// Inputs are engine output only (the key IDs of the message's key packets, key listings of the keyring).

import PGPShim

extension Pipeline {
    /// Whether `decrypted` was encrypted to key material that `clientKey` holds and no other key in the keyring
    /// holds too.
    ///
    /// A key ID in a key packet names key material, not a certificate. Anyone can bind someone else's public
    /// encryption subkey into a certificate of their own (an encryption subkey needs no back-signature, RFC 9580
    /// §5.2.3.24 asks one only of signing subkeys): a key packet for the victim's subkey then "proves" that an
    /// attacker's key could read the message too. Material that two certificates hold proves nothing about
    /// either, so such unsigned mail is bound to no client key.
    func encryptedToMaterialOnlyItHolds(_ clientKey: KeyFingerprint, _ decrypted: DecryptedMessage) async throws
        -> Bool
    {
        guard let info = try await pgp.key(clientKey) else { return false }
        let own = Set(info.keyIDs)
        for keyID in Set(decrypted.recipientKeyIDs.map { $0.uppercased() }) where own.contains(keyID) {
            let holders = try await pgp.keys(withKeyID: keyID)
            if !holders.isEmpty, holders.allSatisfy({ $0.fingerprint == clientKey }) { return true }
        }
        return false
    }
}
