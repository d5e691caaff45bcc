public import struct Foundation.URL

/// How PGPShim runs GnuPG.
public struct PGPConfiguration: Sendable {
    /// The keyring folder (GnuPG home). Never the user's `~/.gnupg`: it must be given explicitly.
    public var homeDirectory: URL
    /// The gateway key's passphrase, if it has one.
    public var passphrase: PassphraseSource
    /// Largest plaintext a decryption may produce before it fails (compression-bomb defence).
    public var maximumPlaintextBytes: Int
    /// Largest ciphertext, key block or signature accepted as input.
    public var maximumInputBytes: Int
    /// How many gpgme contexts (and so gpg processes) may run at once.
    public var maximumConcurrentOperations: Int
    /// The gpg program every context runs (`gpgme_ctx_set_engine_info`'s file name); nil: gpgme's default
    /// (Debian's `/usr/bin/gpg`). Tests put a wrapper here that kills chosen runs.
    public var engineExecutable: String?

    public init(
        homeDirectory: URL,
        passphrase: PassphraseSource = .none,
        maximumPlaintextBytes: Int = 64 * 1024 * 1024,
        maximumInputBytes: Int = 64 * 1024 * 1024,
        maximumConcurrentOperations: Int = 2,
        engineExecutable: String? = nil
    ) {
        self.engineExecutable = engineExecutable
        self.homeDirectory = homeDirectory
        self.passphrase = passphrase
        self.maximumPlaintextBytes = maximumPlaintextBytes
        self.maximumInputBytes = maximumInputBytes
        self.maximumConcurrentOperations = max(1, maximumConcurrentOperations)
    }
}
