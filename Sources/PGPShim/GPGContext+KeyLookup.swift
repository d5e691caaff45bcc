import CGPGME

/// One key by fingerprint or key ID on this context's own engine (issue 23).
///
/// `gpgme_get_key` makes a context of its own for every lookup and binds it to our GnuPG home (gpgme keylist.c:
/// "We use our own context because we have to avoid the user's I/O callback handlers"); binding a context to a
/// home folder with `gpgme_ctx_set_engine_info` makes gpgme run `gpg --version` first. So every lookup started two
/// gpg processes, and an encrypted message needs three to four lookups (the signer's key, the receipt's recipient
/// and signer): `strace -f -e trace=execve` counted 11 gpg starts for one signed message with an Autocrypt header,
/// 4 of them `gpg --version`. PGPShim sets no I/O callbacks, so the same listing runs here, on this context: one
/// gpg start per lookup. Results are those of `gpgme_get_key` (the same pattern, keylist mode and home folder):
/// the key, `GPG_ERR_EOF` when there is none, `GPG_ERR_AMBIGUOUS_NAME` when two different keys match.
extension GPGContext {
    /// `gpgme_get_key(ctx, pattern, &key, secret)` without the second context. Callers copy any earlier result
    /// of this context first: a listing is an operation, and gpgme frees the previous operation's results.
    func getKey(_ pattern: String, secret: Bool) -> (error: gpgme_error_t, key: GPGKey?) {
        // gpgme_get_key: "We have at least a key ID."
        guard pattern.utf8.count >= 8 else { return (gpgme_error_t(GPG_ERR_INV_VALUE.rawValue), nil) }
        // gpgme_op_keylist_start / _next / _end (GPGME manual §7.5.2 Listing Keys).
        let started = gpgme_op_keylist_start(handle, pattern, secret ? 1 : 0)
        guard started == 0 else { return (started, nil) }
        defer { gpgme_op_keylist_end(handle) }
        var first: gpgme_key_t?
        let error = gpgme_op_keylist_next(handle, &first)
        guard error == 0, let first else { return (error == 0 ? gpgme_error_t(GPG_ERR_EOF.rawValue) : error, nil) }
        let found = GPGKey(adopting: first)
        // The listing is read to its end (gpg exits), as gpgme_get_key does; a second listing of the same
        // fingerprint is the same key (gpgme: "may occur with corrupted keyrings"), any other key is ambiguous.
        while true {
            var next: gpgme_key_t?
            let more = gpgme_op_keylist_next(handle, &next)
            if GPGME.isCode(more, GPG_ERR_EOF) { return (0, found) }
            guard more == 0 else { return (more, nil) }
            guard let next else { return (0, found) }
            let other = GPGKey(adopting: next)
            if let mine = found.primaryFingerprint, mine == other.primaryFingerprint { continue }
            return (gpgme_error_t(GPG_ERR_AMBIGUOUS_NAME.rawValue), nil)
        }
    }
}

extension GPGKey {
    /// The first subkey's (the primary key's) fingerprint as gpgme reports it, for the duplicate check above.
    fileprivate var primaryFingerprint: String? {
        handle.pointee.subkeys?.pointee.fpr.map { String(cString: $0) }
    }
}
