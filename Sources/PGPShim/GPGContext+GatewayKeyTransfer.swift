import CGPGME
import Foundation

// Issue 21: a gateway key made on one node reaches the others. Its secret part leaves the GnuPG home only as gpg
// exports it (still under the configured passphrase, if any) and only to be sealed under the master key by the
// caller; it enters another node's home only through ``GPGContext/importGatewaySecretKey(_:accepting:)``, never
// through ``GPGContext/importPublicKeys(_:)``, which refuses secret key material from client mail.
extension GPGContext {
    /// The secret key `fingerprint` with its public part (binary; gpg's `--export-secret-keys`): every subkey,
    /// user ID, self-signature and revocation this home holds for it.
    public func exportGatewaySecretKey(_ fingerprint: KeyFingerprint) throws(PGPError) -> [UInt8] {
        _ = try requireKey(fingerprint, secret: true)
        let output = try GPGData()
        passphrase.resetObservations()
        // GPGME_EXPORT_MODE_SECRET (SINCE 1.6.0): "the secret part of the key is exported" (the passphrase comes
        // from the loopback callback when the key has one).
        let error = try managingOwnKeys {
            gpgme_op_export(handle, fingerprint.hex, UInt32(GPGME_EXPORT_MODE_SECRET), output.handle)
        }
        try requireClosingLine(\.exportResults, else: Self.unfinishedExport, gpgError: error)
        try GPGME.check(error, "exporting a gateway secret key")
        let bytes = try output.readAll(limit: 1 << 20)
        guard !bytes.isEmpty else { throw PGPError(.keyNotFound, "export produced no data") }
        return bytes
    }

    /// Imports a gateway secret key exported by ``exportGatewaySecretKey(_:)`` on another node: `keyData` must hold
    /// exactly one key, with its secret part, whose primary fingerprint `accepting` admits (the caller's binding of
    /// the data to where it was filed); anything else is refused before gpg imports it. A key this home holds
    /// already gains what the data adds (a newer self-signature, a revocation). Returns the key's fingerprint.
    /// - Throws: ``PGPError/Code/invalidInput`` for data that is not one such key; ``PGPError/Code/transient``
    ///   when gpg did not finish or the key is not in the home afterwards.
    public func importGatewaySecretKey(_ keyData: [UInt8], accepting: (KeyFingerprint) -> Bool)
        throws(PGPError) -> KeyFingerprint
    {
        guard !keyData.isEmpty, keyData.count <= 1 << 20 else {
            throw PGPError(.invalidInput, "gateway key data is empty or too large")
        }
        let listed = try listKeys(inKeyData: keyData)
        guard listed.count == 1, let only = listed.first, only.secret, let fingerprint = only.fingerprint,
            accepting(fingerprint)
        else { throw PGPError(.invalidInput, "key data is not the one gateway secret key expected") }
        let data = try GPGData(copying: keyData)
        passphrase.resetObservations()
        let error = try managingOwnKeys { gpgme_op_import(handle, data.handle) }
        try requireClosingLine(\.importResults, else: Self.unfinishedImport, gpgError: error)
        try GPGME.check(error, "importing a gateway secret key", as: .invalidInput)
        guard let result = gpgme_op_import_result(handle) else {
            throw PGPError(.operationFailed, "import returned no result")
        }
        var status = result.pointee.imports
        while let current = status {
            if current.pointee.result != 0 {
                throw PGPError(PGPError.isTransient(gpgErrorCode: GPGME.code(current.pointee.result))
                                   ? .transient : .invalidInput,
                               "importing a gateway secret key: \(GPGME.message(current.pointee.result))",
                               gpgError: current.pointee.result)
            }
            status = current.pointee.next
        }
        // gpg reports a secret key it could not hand to the agent as "not imported" without an error entry.
        guard try key(fingerprint, secret: true) != nil else {
            throw PGPError(.transient, "the imported gateway secret key is not in the GnuPG home")
        }
        return fingerprint
    }
}
