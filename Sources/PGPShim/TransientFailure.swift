// Security: decides whether a failed gpg operation says something about the message (a verdict, final) or about
// the engine (retry). Getting this wrong one way drops a client's mail for good (issue 28: a keyring rewrite
// made gpg say "No secret key"); the other way keeps an undecryptable message in the spool, retried with
// backoff, which costs a gpg run now and then and loses nothing. So doubt goes to "transient".

import CGPGME

extension PGPError {
    /// Whether the failure lies with the engine or the file system and may pass: the caller retries (with
    /// backoff) and, while it persists, keeps the message, instead of deciding anything about it.
    ///
    /// True for ``Code/transient`` (raised by PGPShim for contradictions, e.g. "no secret key" for a message
    /// encrypted to a mailbox key the keyring lists) and for any error carrying a transient gpg-error code
    /// (``isTransient(gpgErrorCode:)``).
    public var isTransient: Bool {
        if code == .transient { return true }
        return gpgError.map { Self.isTransient(gpgErrorCode: GPGME.code($0)) } ?? false
    }

    /// gpg-error codes that name an engine, agent, lock or file-system failure, never a property of the data:
    /// - every system error: "System errors are mapped to GPG_ERR_FOO where FOO is the symbol for the system
    ///   error" (GPGME manual §5.3 Error Codes), encoded as `GPG_ERR_SYSTEM_ERROR | index` (libgpg-error
    ///   `code-from-errno.c`): ENOENT while `pubring.kbx` is renamed, EACCES, EIO, ENOSPC, EPIPE, ENOMEM …;
    /// - `GPG_ERR_KEYRING_OPEN` (13), `GPG_ERR_TIMEOUT` (62), `GPG_ERR_NO_AGENT` (77), `GPG_ERR_AGENT` (78),
    ///   `GPG_ERR_LOCKED` (173);
    /// - the Assuan transport errors of the agent connection: `GPG_ERR_ASS_CONNECT_FAILED` (259),
    ///   `GPG_ERR_ASS_READ_ERROR` (270), `GPG_ERR_ASS_WRITE_ERROR` (271).
    /// Values from gpg-error.h (libgpg-error 1.46).
    public static func isTransient(gpgErrorCode code: UInt32) -> Bool {
        let code = code & 0xFFFF
        if code & systemErrorBit != 0 { return true }
        return transientCodes.contains(code)
    }

    /// `#define GPG_ERR_SYSTEM_ERROR (1 << 15)` (gpg-error.h).
    private static let systemErrorBit: UInt32 = 1 << 15

    private static let transientCodes: Set<UInt32> = [
        GPG_ERR_KEYRING_OPEN.rawValue, GPG_ERR_TIMEOUT.rawValue, GPG_ERR_NO_AGENT.rawValue, GPG_ERR_AGENT.rawValue,
        GPG_ERR_LOCKED.rawValue, GPG_ERR_ASS_CONNECT_FAILED.rawValue, GPG_ERR_ASS_READ_ERROR.rawValue,
        GPG_ERR_ASS_WRITE_ERROR.rawValue,
    ]
}
