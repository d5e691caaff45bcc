import Foundation
import TestSupport

/// Real gpg (through TestSupport's `GnuPGClient`) in a throwaway home: encrypts to a fresh key, then stops the
/// agent and removes the home.
enum GPGFixture {
    /// Encrypts `plaintext` to a fresh throwaway key and returns the armored message.
    static func encryptArmored(_ plaintext: [UInt8]) throws -> [UInt8] {
        let client = try GnuPGClient(home: FileManager.default.temporaryDirectory.appendingPathComponent(
            "mb-gpg-\(UUID().uuidString.prefix(8))"))
        defer {
            client.kill()
            try? FileManager.default.removeItem(at: client.home)
        }
        _ = try client.makeKey("fixture@example.org")
        return try client.gpg(["--armor", "--encrypt", "--recipient", "fixture@example.org"], stdin: plaintext).stdout
    }

    /// One armored message per test process (key generation is the slow part).
    static let shared: Result<[UInt8], any Error> = Result { try encryptArmored(Array("inner canary text\n".utf8)) }
}
