import CGPGME
import Foundation

// Issue 20: the gateway key's life after generation: its expiry is extended, and it can be revoked with the
// certificate gpg wrote when it generated the key.
extension GPGContext {
    /// Sets the expiry of the primary key and of every subkey of `fingerprint` (a key with its secret part in the
    /// keyring) to `expiresInSeconds` from now; 0 removes the expiry. gpg makes new self-signatures, so a client
    /// that fetches the key again (WKD, Autocrypt) gets the new date.
    public func setExpiry(_ fingerprint: KeyFingerprint, expiresInSeconds: UInt) throws(PGPError) {
        // gpg asks for the key's passphrase (if it has one) without a key hint here.
        try managingOwnKeys { () throws(PGPError) in try moveExpiry(fingerprint, expiresInSeconds: expiresInSeconds) }
    }

    private func moveExpiry(_ fingerprint: KeyFingerprint, expiresInSeconds: UInt) throws(PGPError) {
        let key = try secretKey(fingerprint)
        // gpgme_op_setexpire (SINCE 1.14.1): "subfprs … NULL … the expiration time of the primary key is changed";
        // "*" selects every subkey. `expires` is "the number of seconds since now", 0 for no expiry.
        try GPGME.check(gpgme_op_setexpire(handle, key.handle, expiresInSeconds, nil, 0),
                        "setting the primary key's expiry")
        let again = try secretKey(fingerprint)
        if again.handle.pointee.subkeys?.pointee.next != nil {
            try GPGME.check(gpgme_op_setexpire(handle, again.handle, expiresInSeconds, "*", 0),
                            "setting the subkeys' expiry")
        }
    }

    /// The revocation certificate gpg stored when it generated `fingerprint`
    /// (`<home>/openpgp-revocs.d/<FINGERPRINT>.rev`, reason "no reason specified", which clients treat as a hard
    /// revocation), as an importable armored block: gpg puts a colon before the armor line against accidental
    /// import, which is removed here. Nil if there is no such file.
    public func storedRevocationCertificate(_ fingerprint: KeyFingerprint) throws(PGPError) -> [UInt8]? {
        let url = configuration.homeDirectory.appendingPathComponent("openpgp-revocs.d")
            .appendingPathComponent("\(fingerprint.hex.uppercased()).rev")
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard data.count <= 64 * 1024 else { throw PGPError(.invalidInput, "revocation file is too large") }
        let text = String(decoding: data, as: UTF8.self)
        guard let start = text.range(of: "-----BEGIN PGP PUBLIC KEY BLOCK-----"),
            let end = text.range(of: "-----END PGP PUBLIC KEY BLOCK-----", range: start.upperBound..<text.endIndex)
        else { throw PGPError(.invalidInput, "revocation file holds no armored block") }
        return Array((String(text[start.lowerBound..<end.upperBound]) + "\n").utf8)
    }

    /// Imports a revocation certificate of our own (`certificate`, as returned by
    /// ``storedRevocationCertificate(_:)``) for `fingerprint`, and checks that gpg now lists the key as revoked.
    /// Not for client data: ``importPublicKeys(_:)`` reads untrusted key blocks. gpg applies a certificate to
    /// the key it names, whatever `fingerprint` says; the caller keeps each certificate bound to its key (the
    /// store seals it with the fingerprint as associated data).
    public func importRevocation(_ certificate: [UInt8], for fingerprint: KeyFingerprint) throws(PGPError) {
        guard !certificate.isEmpty, certificate.count <= 64 * 1024 else {
            throw PGPError(.invalidInput, "revocation certificate is empty or too large")
        }
        let data = try GPGData(copying: certificate)
        try GPGME.check(gpgme_op_import(handle, data.handle), "importing a revocation certificate", as: .invalidInput)
        guard let key = try publicKey(fingerprint), key.handle.pointee.revoked != 0 else {
            throw PGPError(.invalidInput, "the revocation certificate does not revoke that key")
        }
    }

    /// Deletes `fingerprint`, its secret part included, from the keyring (issue 29: the gateway keys of a
    /// crypto-shredded organisation, so that captured mail to them never decrypts here again). Returns false when
    /// the keyring holds no such key.
    public func deleteKey(_ fingerprint: KeyFingerprint) throws(PGPError) -> Bool {
        guard let key = try publicKey(fingerprint) else { return false }
        // gpgme_op_delete_ext: ALLOW_SECRET also deletes the secret key, FORCE asks no confirmation.
        let flags = UInt32(GPGME_DELETE_ALLOW_SECRET) | UInt32(GPGME_DELETE_FORCE)
        try managingOwnKeys { () throws(PGPError) in
            try GPGME.check(gpgme_op_delete_ext(handle, key.handle, flags), "deleting a key")
        }
        return try publicKey(fingerprint) == nil
    }

    private func secretKey(_ fingerprint: KeyFingerprint) throws(PGPError) -> GPGKey {
        // gpgme_get_key's listing, on this context (GPGContext+KeyLookup).
        let (error, key) = getKey(fingerprint.hex, secret: true)
        if GPGME.isCode(error, GPG_ERR_EOF) || GPGME.isCode(error, GPG_ERR_NOT_FOUND) || (error == 0 && key == nil) {
            throw PGPError(.keyNotFound, "no secret key with that fingerprint")
        }
        try GPGME.check(error, "looking up a key")
        guard let key else { throw PGPError(.keyNotFound, "no secret key with that fingerprint") }
        return key
    }

    private func publicKey(_ fingerprint: KeyFingerprint) throws(PGPError) -> GPGKey? {
        // gpgme_get_key's listing, on this context (GPGContext+KeyLookup).
        let (error, key) = getKey(fingerprint.hex, secret: false)
        if GPGME.isCode(error, GPG_ERR_EOF) || GPGME.isCode(error, GPG_ERR_NOT_FOUND) { return nil }
        try GPGME.check(error, "looking up a key")
        return key
    }
}
