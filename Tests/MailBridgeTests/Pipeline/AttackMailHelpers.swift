import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Mail-building helpers shared by the attack and red-team suites: other clients with chosen user IDs, Autocrypt
/// header lines, and raw PGP/MIME mails whose From line is written exactly as given.
extension PipelineHarness {
    /// Another mail client (own GnuPG home, knowing the gateway's public keys) with one key whose user IDs are
    /// exactly `userIDs` (the first is the primary one).
    func makeOtherClient(_ name: String, userIDs: [String]) async throws -> (GnuPGClient, KeyFingerprint) {
        let client = try GnuPGClient(home: root.appendingPathComponent(name))
        try client.gpg(["--import"], stdin: try await pgp.exportPublicKey(gateway))
        if let second = secondMailbox {
            try client.gpg(["--import"], stdin: try await pgp.exportPublicKey(second.gatewayKey))
        }
        try client.gpg(["--quick-gen-key", userIDs[0], "ed25519", "sign,cert", "never"])
        let listing = try client.gpg(["--with-colons", "--list-secret-keys"]).stdout.text
        let line = try #require(listing.split(separator: "\n").first(where: { $0.hasPrefix("fpr:") }))
        let key = try KeyFingerprint(String(line.split(separator: ":", omittingEmptySubsequences: false)[9]))
        try client.gpg(["--quick-add-key", key.hex, "cv25519", "encr", "never"])
        for userID in userIDs.dropFirst() { try client.gpg(["--quick-add-uid", key.hex, userID]) }
        return (client, key)
    }

    /// Sequoia's and RNP's side of a corpus, in `root/folder`: the gateway's certificate as a file, a new sqop key
    /// for `sqopUserID` (its public part imported into the gateway), and an RNP home holding `rnpKey` (secret,
    /// from the harness's client) and the gateway's public key.
    func makeThirdPartySigners(folder name: String, sqopUserID: String,
                               rnpKey: KeyFingerprint) async throws -> (gatewayCert: URL, sqopKey: URL, rnpHome: URL) {
        let folder = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let gatewayCert = folder.appendingPathComponent("gateway.cert")
        try Data(try await pgp.exportPublicKey(gateway)).write(to: gatewayCert)
        let secret = try Shell.run("sqop", ["generate-key", sqopUserID]).stdout
        let sqopKey = folder.appendingPathComponent("sqop.key")
        try Data(secret).write(to: sqopKey)
        _ = try await pgp.importPublicKeys(try Shell.run("sqop", ["extract-cert"], stdin: secret).stdout)

        let rnpHome = folder.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: rnpHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let rnpPublic = folder.appendingPathComponent("rnp-public.gpg")
        let rnpSecret = folder.appendingPathComponent("rnp-secret.gpg")
        try Data(try client.gpg(["--export", rnpKey.hex, gateway.hex]).stdout).write(to: rnpPublic)
        try Data(try client.gpg(["--export-secret-keys", rnpKey.hex]).stdout).write(to: rnpSecret)
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", rnpPublic.path])
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", rnpSecret.path])
        return (gatewayCert, sqopKey, rnpHome)
    }

    /// An Autocrypt header line (folded) offering `key` for `address`.
    static func autocryptLine(_ key: KeyFingerprint, _ address: String, in client: GnuPGClient) throws -> String {
        let keydata = Data(try client.gpg(["--export", "--export-options", "export-minimal", key.hex]).stdout)
            .base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
            .replacingOccurrences(of: "\n", with: "\n ")
        return "Autocrypt: addr=\(address); prefer-encrypt=mutual; keydata=\n \(keydata)\n"
    }

    /// A PGP/MIME mail with `from` as the From field written as is (raw UTF-8 allowed), sent with envelope sender
    /// `envelope` (default: the From address) to `recipient`, through the pipeline.
    func sendRawPGPMIME(from: String, ciphertext: [UInt8], headers: String = "", envelope: String? = nil,
                        to recipient: String = PipelineHarness.counselling) async throws -> AcceptOutcome {
        let armor = String(decoding: ciphertext, as: UTF8.self)
        let raw = "From: \(from)\nTo: \(recipient)\nSubject: ...\nMessage-ID: <\(UUID().uuidString)@example.net>\n"
            + headers + "MIME-Version: 1.0\n"
            + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\n\n"
            + "--b0\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
            + "--b0\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n\(armor)\n--b0--\n"
        return try await pipeline.accept(try spool(raw, from: envelope ?? from, to: recipient))
    }
}

/// The helpers of the red-team suites (``RedTeamTests``, ``RedTeam2Tests``): attack tools, mail builders and the
/// canary checks, shared so that every suite builds its attacks the same way.
protocol RedTeamHelpers {}

extension RedTeamHelpers {
    static var pgpcraftPath: String { packageRoot.appendingPathComponent("Tests/Tools/pgpcraft.py").path }
    static var redteamcraftPath: String { packageRoot.appendingPathComponent("Tests/Tools/redteamcraft.py").path }


    func craft(_ arguments: [String]) throws -> [UInt8] {
        try Shell.run("python3", [Self.pgpcraftPath] + arguments).stdout
    }

    func redteam(_ arguments: [String]) throws -> [UInt8] {
        try Shell.run("python3", [Self.redteamcraftPath] + arguments).stdout
    }

    func file(_ harness: PipelineHarness, _ name: String, _ bytes: [UInt8]) throws -> String {
        let url = harness.root.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// `packets` (any OpenPGP packet stream) encrypted to the gateway as SEIPD v1 plaintext.
    func wrap(_ harness: PipelineHarness, _ packets: [UInt8], to recipient: KeyFingerprint? = nil) throws
        -> [UInt8]
    {
        try craft(["wrap", "--recipient-home", harness.client.home.path, "--recipient",
                   (recipient ?? harness.gateway).hex, try file(harness, "wrap-\(UUID().uuidString).gpg", packets)])
    }

    func inner(_ canary: String, headers: String = "") -> [UInt8] {
        Array("Content-Type: text/plain; charset=utf-8\r\n\(headers)\r\nHallo, hier ist \(canary).\r\n".utf8)
    }

    func encrypt(_ harness: PipelineHarness, _ plaintext: [UInt8], signer: KeyFingerprint?,
                         to recipients: [KeyFingerprint]? = nil, in client: GnuPGClient? = nil,
                         extra: [String] = []) throws -> [UInt8] {
        var arguments = ["--armor", "--encrypt"] + extra
        for recipient in recipients ?? [harness.gateway] { arguments += ["--recipient", recipient.hex] }
        if let signer { arguments += ["--sign", "--local-user", signer.hex] }
        return try (client ?? harness.client).gpg(arguments, stdin: plaintext).stdout
    }

    func otherClient(_ harness: PipelineHarness, _ name: String,
                             userID: String) async throws -> (GnuPGClient, KeyFingerprint) {
        try await harness.makeOtherClient(name, userIDs: [userID])
    }

    func otherClient(_ harness: PipelineHarness, _ name: String,
                     userIDs: [String]) async throws -> (GnuPGClient, KeyFingerprint) {
        try await harness.makeOtherClient(name, userIDs: userIDs)
    }

    func autocrypt(_ key: KeyFingerprint, _ address: String, in client: GnuPGClient) throws -> String {
        try PipelineHarness.autocryptLine(key, address, in: client)
    }

    func send(_ harness: PipelineHarness, from: String, ciphertext: [UInt8], headers: String = "",
                      envelope: String? = nil, to recipient: String = PipelineHarness.counselling) async throws
        -> AcceptOutcome
    {
        try await harness.sendRawPGPMIME(from: from, ciphertext: ciphertext, headers: headers, envelope: envelope,
                                         to: recipient)
    }

    /// An inline PGP mail: the armored block is the whole text/plain body.
    func sendInline(_ harness: PipelineHarness, from: String, ciphertext: [UInt8],
                            headers: String = "") async throws -> AcceptOutcome {
        let raw = "From: \(from)\nTo: \(PipelineHarness.counselling)\nSubject: hi\n"
            + "Message-ID: <\(UUID().uuidString)@example.net>\n\(headers)Content-Type: text/plain\n\n"
            + String(decoding: ciphertext, as: UTF8.self)
        return try await harness.pipeline.accept(try harness.spool(raw, from: from))
    }

    func opened(_ harness: PipelineHarness, _ thread: ThreadID) async throws -> OpenedThread {
        try await harness.store.read { try $0.openThread(thread) }
    }

    func threads(_ harness: PipelineHarness) async throws -> [OpenedThread] {
        var result: [OpenedThread] = []
        var fields = [harness.mailbox.field]
        if let second = harness.secondMailbox { fields.append(second.field) }
        for field in fields {
            for summary in try await harness.store.read({ try $0.listThreads(field: field) }) {
                result.append(try await opened(harness, summary.id))
            }
        }
        return result
    }

    /// The canary is in no outbound mail, log line, raw database or spool file.
    func assertContained(_ harness: PipelineHarness, _ canary: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for item in try await harness.outbox() {
            #expect(!item.payload.text.contains(canary), "canary in outbound mail", sourceLocation: sourceLocation)
        }
        for line in harness.logs.all {
            #expect(!line.contains(canary), "canary in a log line", sourceLocation: sourceLocation)
        }
        #expect(try harness.rawDatabaseBytes().firstRange(of: Array(canary.utf8)) == nil,
                "canary in the raw database", sourceLocation: sourceLocation)
    }

    func imported(_ outcome: AcceptOutcome) -> ThreadID? {
        if case .imported(let thread, _) = outcome { return thread }
        return nil
    }
}
