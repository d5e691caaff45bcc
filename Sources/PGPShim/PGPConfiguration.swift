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

    public init(
        homeDirectory: URL,
        passphrase: PassphraseSource = .none,
        maximumPlaintextBytes: Int = 64 * 1024 * 1024,
        maximumInputBytes: Int = 64 * 1024 * 1024,
        maximumConcurrentOperations: Int = 2
    ) {
        self.homeDirectory = homeDirectory
        self.passphrase = passphrase
        self.maximumPlaintextBytes = maximumPlaintextBytes
        self.maximumInputBytes = maximumInputBytes
        self.maximumConcurrentOperations = max(1, maximumConcurrentOperations)
    }
}
