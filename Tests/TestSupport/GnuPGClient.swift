public import Foundation
public import PGPShim

/// A mail client's OpenPGP side, driven through the real `gpg` command line in its own isolated home
/// (batch mode, loopback pinentry, empty passphrase, no network). Independent of PGPShim by construction.
public final class GnuPGClient: @unchecked Sendable {
    public let home: URL

    public init(home: URL) throws {
        self.home = home
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try Data("disable-dirmngr\nauto-key-locate local\nno-auto-key-retrieve\n".utf8)
            .write(to: home.appendingPathComponent("gpg.conf"))
    }

    /// Stops this home's gpg-agent.
    public func kill() {
        _ = try? Shell.run("gpgconf", ["--homedir", home.path, "--kill", "all"], allowFailure: true)
    }

    @discardableResult
    public func gpg(_ arguments: [String], stdin: [UInt8] = [], allowFailure: Bool = false) throws -> Shell.Result {
        try Shell.run("gpg", ["--homedir", home.path, "--batch", "--yes", "--pinentry-mode", "loopback",
                              "--passphrase", "", "--trust-model", "always"] + arguments,
                      stdin: stdin, allowFailure: allowFailure)
    }

    /// Generates an Ed25519 + Cv25519 key for `address` and returns its fingerprint.
    public func makeKey(_ address: String, extra: [String] = [], expiry: String = "never") throws -> KeyFingerprint {
        try gpg(extra + ["--quick-gen-key", "Klient <\(address)>", "ed25519", "sign,cert", expiry])
        let fingerprint = try self.fingerprint(address)
        try gpg(extra + ["--quick-add-key", fingerprint.hex, "cv25519", "encr", expiry])
        return fingerprint
    }

    public func fingerprint(_ address: String) throws -> KeyFingerprint {
        let listing = try gpg(["--with-colons", "--list-keys", "<\(address)>"]).stdout.text
        guard let line = listing.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") }) else {
            throw Shell.Failure(command: "gpg --list-keys", result: .init(status: 2, stdout: [], stderr: "no key"))
        }
        return try KeyFingerprint(String(line.split(separator: ":", omittingEmptySubsequences: false)[9]))
    }
}

extension Array where Element == UInt8 {
    public init(_ string: String) { self = Array(string.utf8) }
    public var text: String { String(decoding: self, as: UTF8.self) }
}
