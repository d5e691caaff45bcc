// Security: the lookup HMAC keys survive a master key rotation, sealed under the new master key's wrapping key
// (ChaChaPoly, bound to `store_meta.lookup_keys_sealed`). Their bytes are zeroed after sealing and opening.

import Crypto
import Foundation

extension DerivedKeys {
    private static let lookupContext = SealContext(
        table: "store_meta", column: "lookup_keys_sealed", threadID: "", rowID: "1")

    /// The index and sender keys, sealed under this value's wrapping key.
    func sealLookupKeys(index: SymmetricKey, sender: SymmetricKey) throws(ThreadStoreError) -> Data {
        var raw = index.withUnsafeBytes { Data($0) }
        raw.append(sender.withUnsafeBytes { Data($0) })
        defer { raw.withUnsafeMutableBytes { memset_s_portable($0) } }
        return try Sealing.seal(raw, key: wrapping, context: Self.lookupContext)
    }

    /// These keys with the index and sender keys opened from `sealed` (written by ``sealLookupKeys(index:sender:)``
    /// under the same master key).
    func withLookupKeys(sealed: Data) throws(ThreadStoreError) -> DerivedKeys {
        var raw = try Sealing.open(sealed, key: wrapping, context: Self.lookupContext)
        defer { raw.withUnsafeMutableBytes { memset_s_portable($0) } }
        guard raw.count == 64 else { throw .unsealingFailed }
        var keys = self
        keys.index = SymmetricKey(data: raw.prefix(32))
        keys.sender = SymmetricKey(data: raw.suffix(32))
        return keys
    }
}
