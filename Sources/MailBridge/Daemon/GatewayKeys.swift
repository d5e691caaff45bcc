import Logging
import PGPShim

/// Makes sure every counselling address has a gateway key with its secret part in the keyring.
enum GatewayKeys {
    /// Returns canonical address → fingerprint, generating a key (Ed25519 + Cv25519) where none exists.
    static func ensure(for addresses: [EmailAddress], pgp: PGPService, logger: Logger) async throws
        -> [String: KeyFingerprint]
    {
        var keys: [String: KeyFingerprint] = [:]
        for address in addresses {
            var found: KeyFingerprint?
            for candidate in try await pgp.keys(forEmail: address.canonical) where candidate.isUsableForEncryption {
                if try await pgp.key(candidate.fingerprint, secret: true) != nil {
                    found = candidate.fingerprint
                    break
                }
            }
            if found == nil {
                found = try await pgp.generateKey(userID: "MailBridge <\(address.unredactedDescription)>")
                logger.notice("generated a gateway key for a counselling address")
            }
            keys[address.canonical] = found
        }
        return keys
    }
}
