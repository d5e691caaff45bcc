public import PGPShim

extension GnuPGClient {
    /// Generates an Ed25519 + Cv25519 key (no passphrase) for each of `addresses` in one `gpg --gen-key` run, much
    /// faster than one ``makeKey(_:extra:expiry:)`` per address; returns address → primary fingerprint.
    public func makeKeys(_ addresses: [String]) throws -> [String: KeyFingerprint] {
        var parameters = ""
        for address in addresses {
            parameters += "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nSubkey-Type: ecdh\n"
                + "Subkey-Curve: cv25519\nSubkey-Usage: encrypt\nName-Real: Klient\nName-Email: \(address)\n"
                + "Expire-Date: 0\n%no-protection\n%commit\n"
        }
        try gpg(["--gen-key"], stdin: Array(parameters.utf8))
        let wanted = Set(addresses)
        var fingerprints: [String: KeyFingerprint] = [:]
        var current: String?
        // --with-colons: a "pub" record, its "fpr" record, then "uid" records (field 10 holds the user ID).
        for line in try gpg(["--with-colons", "--list-keys"]).stdout.text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.first == "pub" { current = nil }
            if fields.first == "fpr", current == nil, fields.count > 9 { current = String(fields[9]) }
            if fields.first == "uid", fields.count > 9, let fingerprint = current,
                let open = fields[9].lastIndex(of: "<"), let close = fields[9].lastIndex(of: ">")
            {
                let address = String(fields[9][fields[9].index(after: open)..<close])
                if wanted.contains(address) { fingerprints[address] = try KeyFingerprint(fingerprint) }
            }
        }
        return fingerprints
    }
}
