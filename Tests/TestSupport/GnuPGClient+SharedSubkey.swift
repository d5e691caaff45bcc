public import PGPShim

extension GnuPGClient {
    /// A new certificate for `address` whose encryption subkey is the public encryption subkey of `owner` (a key
    /// whose secret is in this home), bound by the new key's own signature: an encryption subkey needs no
    /// back-signature (RFC 9580 §5.2.3.24 asks one only of signing subkeys), so anyone holding `owner`'s public
    /// key can make such a certificate. gpg's "existing key" menu (`addkey`, 13) wants the keygrip's secret in the
    /// agent, which is why it is made in a home holding `owner`'s secret; the result carries only public material
    /// and the new key's signatures. The new primary key is made 100 s before the subkey and the subkey is bound
    /// at its own creation time, so the subkey packet, its fingerprint and key ID are `owner`'s. `ownSubkey` adds
    /// a newer encryption subkey of the new key's own (gpg encrypts to the newest).
    public func certificateSharingEncryptionSubkey(of owner: KeyFingerprint, for address: String,
                                                   ownSubkey: Bool = false) throws -> KeyFingerprint {
        let listing = try gpg(["--with-colons", "--with-keygrip", "--list-keys", owner.hex]).stdout.text
        let lines = listing.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false) }
        guard let sub = lines.firstIndex(where: { $0.first == "sub" && $0.count > 11 && $0[11].contains("e") }),
            let created = Int(lines[sub][5]),
            let grip = lines[(sub + 1)...].first(where: { $0.first == "grp" && $0.count > 9 })?[9],
            let subkey = lines[(sub + 1)...].first(where: { $0.first == "fpr" && $0.count > 9 })?[9]
        else { throw Shell.Failure(command: "gpg --list-keys", result: .init(status: 2, stdout: [], stderr: listing)) }
        // gpg binds the existing key material at the frozen time of its creation, so the subkey keeps its
        // fingerprint. Seen once in CI under load: the bound subkey got another fingerprint (a time one second on);
        // the crafting (not what the tests check) is then done again with a new certificate, at most three times.
        var attempt = 0
        while true {
            attempt += 1
            try gpg(["--faked-system-time", "\(created - 100)!", "--quick-gen-key", "Mallory <\(address)>", "ed25519",
                     "sign,cert", "never"])
            let key = try fingerprint(address)
            try gpg(["--expert", "--faked-system-time", "\(created)!", "--command-fd", "0", "--edit-key", key.hex],
                    stdin: Array("addkey\n13\n\(grip)\nQ\n0\ny\nsave\n".utf8))
            let shared = try gpg(["--with-colons", "--list-keys", key.hex]).stdout.text
            guard shared.contains(":\(subkey):") else {
                guard attempt < 3 else {
                    throw Shell.Failure(command: "gpg addkey 13", result: .init(status: 2, stdout: [], stderr: shared))
                }
                try gpg(["--delete-secret-and-public-key", key.hex])
                continue
            }
            if ownSubkey { try gpg(["--quick-add-key", key.hex, "cv25519", "encr", "never"]) }
            return key
        }
    }
}
