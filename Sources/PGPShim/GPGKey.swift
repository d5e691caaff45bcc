import CGPGME
import Foundation

/// Owns one reference to a `gpgme_key_t` (`gpgme_key_ref` on copy-in, `gpgme_key_unref` in `deinit`).
final class GPGKey {
    let handle: gpgme_key_t

    /// Takes over a reference returned by gpgme (e.g. from `gpgme_op_keylist_next` or `gpgme_get_key`).
    init(adopting handle: gpgme_key_t) { self.handle = handle }

    deinit { gpgme_key_unref(handle) }

    /// Whether the secret part of the *primary* key is in the keyring. gpgme's `key->secret` is set as soon as
    /// any subkey's secret is there: "Note that the secret flag of the entire key will be true even then"
    /// (gpgme keylist.c, `parse_sec_field15`, for a `#` stub). Anyone can bind a public subkey of ours into a
    /// certificate of their own (an encryption subkey needs no back-signature); once imported, gpg lists that
    /// certificate as a secret key (`sec#`, our subkey `ssb`). Only the primary's `subkey->secret` (`+` in the
    /// listing) says the key is ours.
    var hasPrimarySecret: Bool {
        handle.pointee.secret != 0 && (handle.pointee.subkeys.map { $0.pointee.secret != 0 } ?? false)
    }

    /// Copies the key into a Swift value (GPGME manual §7.5.1 Key objects).
    func snapshot() throws(PGPError) -> KeyInfo {
        let key = handle.pointee
        guard let fpr = key.fpr else { throw PGPError(.operationFailed, "key without fingerprint") }
        let fingerprint = try KeyFingerprint(reportedByEngine: String(cString: fpr))

        var emails: [String] = []
        var userIDs: [String] = []
        var uid = key.uids
        while let current = uid {
            let valid = current.pointee.revoked == 0 && current.pointee.invalid == 0
            if let email = current.pointee.email, valid {
                let text = String(cString: email).lowercased()
                if !text.isEmpty { emails.append(text) }
            }
            if let whole = current.pointee.uid, valid, userIDs.count < 32 {
                userIDs.append(String(decoding: UnsafeRawBufferPointer(start: whole, count: min(strlen(whole), 512))
                    .bindMemory(to: UInt8.self), as: UTF8.self))
            }
            uid = current.pointee.next
        }

        // A key can encrypt now only if some encryption-capable subkey is itself current.
        var canEncrypt = false
        var canSign = false
        var primaryExpires: Int?
        var primaryCreated: Int?
        var keyIDs: [String] = []
        var subkey = key.subkeys
        var isPrimary = true
        while let current = subkey {
            let sub = current.pointee
            if let keyid = sub.keyid, keyIDs.count < 64 { keyIDs.append(String(cString: keyid).uppercased()) }
            if isPrimary {
                primaryExpires = sub.expires > 0 ? Int(sub.expires) : nil
                primaryCreated = sub.timestamp > 0 ? Int(sub.timestamp) : nil
                isPrimary = false
            }
            let current = sub.revoked == 0 && sub.expired == 0 && sub.disabled == 0 && sub.invalid == 0
            if current && sub.can_encrypt != 0 { canEncrypt = true }
            if current && sub.can_sign != 0 { canSign = true }
            subkey = sub.next
        }

        return KeyInfo(
            fingerprint: fingerprint,
            emails: emails,
            userIDs: userIDs,
            keyIDs: keyIDs,
            canEncrypt: canEncrypt,
            canSign: canSign,
            isRevoked: key.revoked != 0,
            isExpired: key.expired != 0,
            isDisabled: key.disabled != 0,
            isInvalid: key.invalid != 0,
            hasSecretKey: hasPrimarySecret,
            expiresAt: primaryExpires,
            createdAt: primaryCreated
        )
    }
}

@available(*, unavailable)
extension GPGKey: Sendable {}
