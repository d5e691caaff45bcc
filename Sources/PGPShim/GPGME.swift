// Security: PGPShim is the only module that touches gpgme. It feeds attacker-controlled OpenPGP data (mail
// bodies, attached keys) to gpg through gpgme, always with an explicit home folder, loopback pinentry, no TTY and
// no network (`disable-dirmngr`, offline mode). Plaintext is read through a capped sink, and is dropped (and the
// buffer zeroed) whenever the engine reports anything other than an integrity-protected success.

import CGPGME

/// Process-wide gpgme initialisation. `gpgme_check_version` must run once before any other call
/// ("The function gpgme_check_version must be called before any other function in the library",
/// GPGME manual §2.4 Library Version Check). Every ``GPGContext`` init touches ``GPGME/version``.
enum GPGME {
    /// The minimum gpgme we rely on: `gpgme_op_createkey` (1.7), `keylist_from_data` (1.14).
    static let minimumVersion = "1.14.0"

    /// The library version, or nil if the installed gpgme is too old. Swift runs this initialiser exactly
    /// once, thread-safely (global `static let` are lazily initialised with `swift_once`).
    static let version: String? = {
        guard let version = gpgme_check_version(minimumVersion) else { return nil }
        // https://gnupg.org/documentation/manuals/gpgme/Engine-Version-Check.html
        guard gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) == 0 else { return nil }
        return String(cString: version)
    }()

    static func ensureInitialized() throws(PGPError) {
        guard version != nil else {
            throw PGPError(.engineUnavailable, "gpgme >= \(minimumVersion) with a working gpg engine is required")
        }
    }

    /// gpg-error codes are the low 16 bits of a `gpgme_error_t` (gpg-error.h `GPG_ERR_CODE_MASK`).
    static func code(_ error: gpgme_error_t) -> UInt32 { error & 0xFFFF }

    /// The engine's error text, via the reentrant `gpgme_strerror_r` (never `gpgme_strerror`).
    static func message(_ error: gpgme_error_t) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = gpgme_strerror_r(error, &buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isCode(_ error: gpgme_error_t, _ code: gpg_err_code_t) -> Bool {
        GPGME.code(error) == code.rawValue
    }

    /// Throws ``PGPError`` with `code` for a failed gpgme call; `what` names the operation, never data.
    static func check(_ error: gpgme_error_t, _ what: String, as code: PGPError.Code = .operationFailed,
                      fileID: String = #fileID, line: Int = #line) throws(PGPError) {
        guard error != 0 else { return }
        if isCode(error, GPG_ERR_BAD_PASSPHRASE) {
            throw PGPError(.badPassphrase, "\(what): \(message(error))", gpgError: error, fileID: fileID, line: line)
        }
        throw PGPError(code, "\(what): \(message(error))", gpgError: error, fileID: fileID, line: line)
    }
}
