import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 20: gateway keys rotate, are revoked, and have their expiry extended, with real GnuPG, a real store
/// file, the pipeline and the reply composer as the daemon wires them, and gpg, sq and rnp as clients.
@Suite(.serialized) struct GatewayKeyLifecycleTests {
    static let day: TimeInterval = 86_400

    /// Rotation end to end: the old key decrypts during the (configured) overlap, then is retired (audited) and
    /// mail to it is `notForUs`; replies are signed with the new key and carry it in Autocrypt; WKD serves the
    /// new key, and gpg, sq and rnp clients that refresh from the WKD file encrypt to it.
    @Test func rotationEndToEnd() async throws {
        let bench = try await GatewayKeyTestBench(configure: {
            $0.replacingOccurrences(of: "# gateway-key-overlap-days = 90", with: "gateway-key-overlap-days = 30")
        })
        defer { Task { await bench.close() } }
        #expect(bench.installation.configuration.keys.gatewayKeyOverlapDays == 30)
        let old = bench.current.gatewayKey
        // Created with an expiry of two years (the default) and recorded as current with its revocation certificate.
        let info = try #require(try await bench.installation.pgp.key(old))
        let expires = TimeInterval(try #require(info.expiresAt))
        #expect(abs(expires - Date().timeIntervalSince1970 - 730 * Self.day) < 3600)
        let first = try await bench.installation.store.read { try $0.gatewayKeys() }
        #expect(first.map(\.state) == [.current])
        #expect(first.first?.hasRevocationCertificate == true)

        let clientKey = try await bench.makeClientKey()
        let oldWKD = try Array(Data(contentsOf: try await bench.wkdFile()))
        #expect(try bench.keysIn(oldWKD).map(\.fingerprint) == [old.hex])
        try bench.client.gpg(["--import"], stdin: oldWKD)
        let oldCopy = bench.folder.url.appendingPathComponent("old-key.pgp")
        try Data(oldWKD).write(to: oldCopy)

        // `mailbridge keys rotate` (another opened installation, as another process); the daemon takes it over.
        let rotated = await bench.admin { try await GatewayKeysAdmin.rotate($0, mailbox: GatewayKeyTestBench.mailbox) }
        #expect(rotated.status == .success, "\(rotated.errorOutput)")
        #expect(bench.current.gatewayKey == old, "nothing changes before the service's refresh")
        // The old key's published copy expires one second after the rotation (gpg takes no time in the past).
        let oldExpiry = try #require(try await bench.installation.pgp.key(old)?.expiresAt)
        #expect(abs(TimeInterval(oldExpiry) - Date().timeIntervalSince1970) < 5)
        try await Task.sleep(for: .seconds(2))
        await bench.service.runOnce(forceCheck: true)
        let new = bench.current.gatewayKey
        try #require(new != old)
        #expect(rotated.output.contains(new.hex))
        #expect(bench.current.overlapKeys == [old])
        #expect(bench.current.decryptionKeys == [old, new])

        // During the overlap, mail encrypted to the old key (the client's old copy) is imported.
        let outcome = try await bench.deliver(to: old.hex, text: "Hallo alt", signer: clientKey)
        guard case .imported(let thread, _) = outcome else {
            Issue.record("mail to the overlap key: \(outcome)")
            return
        }
        // The reply is signed with the new key and carries it in its Autocrypt header.
        let reply = try await bench.composer.queueReply(thread: thread, text: "Antwort", counsellor: nil)
        guard case .queued = reply else {
            Issue.record("reply: \(reply)")
            return
        }
        let signed = try await bench.lastReply()
        #expect(signed.signer == new.hex)
        #expect(signed.autocrypt == new.hex)

        // WKD (files and the help server's routes) serves the new key first, then the old key expired now.
        let wkd = try await bench.wkdFile()
        let newWKD = try Array(Data(contentsOf: wkd))
        #expect(try bench.keysIn(newWKD).map(\.fingerprint) == [new.hex, old.hex])
        let validity = try bench.validity(newWKD)
        #expect(validity.count == 2 && validity.last == "e" && validity.first != "e", "\(validity)")
        let served = try #require(bench.help.entries.first)
        #expect(served.fingerprint == new)
        #expect(try bench.keysIn(served.binaryKey).map(\.fingerprint) == [new.hex, old.hex])
        #expect(try bench.validity(served.binaryKey) == validity)

        // What a client that never refreshes will send after the overlap (its copy of the old key is unexpired).
        let lateCiphertext = try bench.client.gpg(["--armor", "--sign", "--local-user", clientKey.hex, "--encrypt",
                                                   "--recipient", old.hex], stdin: Array("zu spät".utf8)).stdout
        // Clients that refresh from the WKD file encrypt to the new key: gpg (holding the old key too) ...
        try bench.client.gpg(["--import"], stdin: newWKD)
        let fromGPG = try bench.client.gpg(["--armor", "--encrypt", "--recipient", GatewayKeyTestBench.mailbox],
                                           stdin: Array("gpg".utf8)).stdout
        #expect(try await bench.decryptionKey(of: fromGPG) == new, "gpg chose the old key")
        // ... Sequoia: `sq encrypt` refuses a ring holding an expired (or revoked) certificate as a whole, so the
        // client tries each certificate of the WKD response; only the new key is usable ...
        let certs = bench.folder.url.appendingPathComponent("sq-certs")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        try Shell.run("sq", ["keyring", "split", "--prefix", certs.path + "/cert-", wkd.path])
        let plaintext = try bench.folder.write("sq-plain.txt", "sq")
        var usable: [KeyFingerprint?] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: certs.path).sorted() {
            // The text from a file: sq stops before reading its input when it refuses a certificate.
            let result = try Shell.run("sq", ["encrypt", "--recipient-cert", certs.path + "/" + file, plaintext],
                                       allowFailure: true)
            if result.status == 0 { usable.append(try await bench.decryptionKey(of: result.stdout)) }
        }
        #expect(usable == [new], "sq could encrypt to \(usable)")
        // ... and RNP: a client that fetches the key from WKD encrypts to the new key. One that held the old key
        // before refreshing never encrypts to it again: the rnp command line takes the first key it holds for the
        // address and, that one being expired now, refuses ("No suitable key") instead of trying the next; its
        // user names the new key or removes the old one. (Served without the old key, rnp went on encrypting to
        // the old key in silence, and after the overlap that mail is rejected.)
        let plain = try bench.folder.write("rnp-plain.txt", "rnp")
        func rnp(_ home: String, _ arguments: [String]) throws -> Shell.Result {
            try Shell.run("rnp", ["--homedir", home, "--encrypt", "--armor", "--output", "-"] + arguments + [plain],
                          allowFailure: true)
        }
        let freshHome = bench.folder.path + "/rnp-fresh"
        try FileManager.default.createDirectory(atPath: freshHome, withIntermediateDirectories: true)
        try Shell.run("rnpkeys", ["--homedir", freshHome, "--import", wkd.path])
        let fromFreshRNP = try rnp(freshHome, ["-r", GatewayKeyTestBench.mailbox])
        #expect(fromFreshRNP.status == 0, "\(fromFreshRNP.stderr)")
        #expect(try await bench.decryptionKey(of: fromFreshRNP.stdout) == new, "rnp chose the old key")
        let rnpHome = bench.folder.path + "/rnp-old"
        try FileManager.default.createDirectory(atPath: rnpHome, withIntermediateDirectories: true)
        try Shell.run("rnpkeys", ["--homedir", rnpHome, "--import", oldCopy.path])
        try Shell.run("rnpkeys", ["--homedir", rnpHome, "--import", wkd.path])
        let fromOldRNP = try rnp(rnpHome, ["-r", GatewayKeyTestBench.mailbox])
        if fromOldRNP.status == 0 {
            #expect(try await bench.decryptionKey(of: fromOldRNP.stdout) == new, "rnp chose the old key")
        } else {
            #expect(fromOldRNP.stderr.contains("No suitable key"), "\(fromOldRNP.stderr)")
        }
        let byFingerprint = try rnp(rnpHome, ["-r", new.hex])
        #expect(try await bench.decryptionKey(of: byFingerprint.stdout) == new)

        // After the overlap the old key is retired (audited); mail to it is not for us; the new key works.
        bench.clock.now = Date().addingTimeInterval(29 * Self.day)
        await bench.service.runOnce(forceCheck: true)
        #expect(bench.current.overlapKeys == [old], "still in its overlap after 29 days")
        bench.clock.now = Date().addingTimeInterval(31 * Self.day)
        await bench.service.runOnce(forceCheck: true)
        #expect(bench.current.overlapKeys.isEmpty)
        #expect(bench.current.formerKeys == [old])
        let states = try await bench.installation.store.read { try $0.gatewayKeys() }
        #expect(states.map(\.fingerprint.hex).sorted() == [old.hex, new.hex].sorted())
        #expect(states.first { $0.fingerprint == old }?.state == .retired)
        #expect(states.first { $0.fingerprint == new }?.state == .current)
        let audit = try await bench.installation.store.read { try $0.latestAuditEntries(AuditFilter(), limit: 200) }
        #expect(audit.contains { $0.event == .gatewayKeyRotated && $0.itemID == new.hex })
        #expect(audit.contains { $0.event == .gatewayKeyRetired && $0.itemID == old.hex })
        #expect(AuditEvent.gatewayKeyRotated.rawValue == 60 && AuditEvent.gatewayKeyExpiryExtended.rawValue == 63)
        let late = try await bench.deliver(ciphertext: lateCiphertext)
        #expect(late == .rejectedEncrypted(.notForUs))
        let fresh = try await bench.deliver(to: new.hex, text: "Hallo neu", signer: clientKey)
        #expect(fresh == .imported(thread, createdThread: false))

        // `keys status` lists both keys with their states.
        let status = await bench.admin { try await GatewayKeysAdmin.status($0, json: false) }
        #expect(status.status == .success, "\(status.errorOutput)")
        let lines = status.output.split(separator: "\n")
        #expect(lines.contains { $0.contains(old.hex) && $0.hasSuffix("\tretired") })
        #expect(lines.contains { $0.contains(new.hex) && $0.hasSuffix("\tcurrent") })
    }

    /// Revocation: the kept certificate revokes the key, a new key takes over at once, WKD serves the new key and
    /// the revoked one with its revocation, and nothing is signed with the revoked key afterwards.
    @Test func revocationPublishesAndNeverSignsAgain() async throws {
        let bench = try await GatewayKeyTestBench()
        defer { Task { await bench.close() } }
        let revokedKey = bench.current.gatewayKey
        let clientKey = try await bench.makeClientKey()
        try bench.client.gpg(["--import"], stdin: Array(try Data(contentsOf: try await bench.wkdFile())))
        guard case .imported(let thread, _) = try await bench.deliver(to: revokedKey.hex, text: "Hallo",
                                                                      signer: clientKey)
        else {
            Issue.record("first message not imported")
            return
        }

        // The certificate is exportable for offline keeping, and kept sealed: not in the database file in clear.
        let exported = await bench.admin {
            try await GatewayKeysAdmin.revocation($0, mailbox: GatewayKeyTestBench.mailbox, key: nil)
        }
        #expect(exported.output.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
        var database: [UInt8] = []
        for suffix in ["", "-wal"] {
            if let data = FileManager.default.contents(atPath: bench.folder.path + "/data/threads.sqlite" + suffix) {
                database += Array(data)
            }
        }
        let body = exported.output.split(separator: "\n").dropFirst(2).first.map(String.init) ?? "missing"
        #expect(body.count > 20)
        #expect(database.firstRange(of: Array(body.utf8)) == nil, "revocation certificate in clear in the store")

        let revoked = await bench.admin {
            try await GatewayKeysAdmin.revoke($0, mailbox: GatewayKeyTestBench.mailbox, key: nil,
                                              reason: "Server kompromittiert")
        }
        #expect(revoked.status == .success, "\(revoked.errorOutput)")
        // A client that has not refreshed still encrypts to the revoked key.
        let staleCiphertext = try bench.client.gpg(["--armor", "--sign", "--local-user", clientKey.hex, "--encrypt",
                                                    "--recipient", revokedKey.hex], stdin: Array("alt".utf8)).stdout
        // The keyring holds the revocation at once; the signing guard refuses the revoked key whatever a caller
        // still believes.
        #expect(try await bench.installation.pgp.key(revokedKey)?.isRevoked == true)
        await #expect(throws: PGPError.keyUnusable) {
            _ = try await bench.installation.pgp.encrypt(Array("x".utf8), to: [clientKey], signer: revokedKey)
        }
        await bench.service.runOnce()
        let replacement = bench.current.gatewayKey
        #expect(replacement != revokedKey)
        #expect(bench.current.decryptionKeys == [replacement])
        #expect(bench.current.revokedKeys == [revokedKey])
        #expect(try await bench.installation.store.read { try $0.gatewayKeyRevocationReason(revokedKey) }
            == "Server kompromittiert")

        // WKD: the new key, then the revoked key with its revocation; the help server's routes serve the same.
        let wkd = try Array(Data(contentsOf: try await bench.wkdFile()))
        let listed = try bench.keysIn(wkd)
        #expect(listed.map(\.fingerprint) == [replacement.hex, revokedKey.hex])
        #expect(listed.map(\.revoked) == [false, true])
        #expect(try bench.keysIn(try #require(bench.help.entries.first).binaryKey).map(\.revoked) == [false, true])
        // A gpg client refreshing from WKD sees the old key revoked and encrypts to the new one.
        try bench.client.gpg(["--import"], stdin: wkd)
        let colons = try bench.client.gpg(["--with-colons", "--list-keys", revokedKey.hex]).stdout.text
        #expect(colons.hasPrefix("pub:r:") || colons.contains("\npub:r:"))
        let fromGPG = try bench.client.gpg(["--armor", "--encrypt", "--recipient", GatewayKeyTestBench.mailbox],
                                           stdin: Array("gpg".utf8)).stdout
        #expect(try await bench.decryptionKey(of: fromGPG) == replacement)

        // Mail still encrypted to the revoked key is not for us; replies are signed with the new key only.
        let stale = try await bench.deliver(ciphertext: staleCiphertext)
        #expect(stale == .rejectedEncrypted(.notForUs))
        _ = try await bench.composer.queueReply(thread: thread, text: "Antwort", counsellor: nil)
        let signed = try await bench.lastReply()
        #expect(signed.signer == replacement.hex)
        #expect(signed.autocrypt == replacement.hex)

        let audit = try await bench.installation.store.read { try $0.latestAuditEntries(AuditFilter(), limit: 200) }
        #expect(audit.contains { $0.event == .gatewayKeyRevoked && $0.itemID == revokedKey.hex })
        #expect(audit.contains { $0.event == .gatewayKeyRotated && $0.itemID == replacement.hex })
        // Revoking it again is refused; the status lists it as revoked.
        let again = await bench.admin {
            try await GatewayKeysAdmin.revoke($0, mailbox: GatewayKeyTestBench.mailbox, key: revokedKey.hex,
                                              reason: "noch einmal")
        }
        #expect(again.status == .failure)
        let status = await bench.admin { try await GatewayKeysAdmin.status($0, json: true) }
        #expect(status.output.contains("\"state\" : \"revoked\""))
        #expect(!bench.logs.all.contains { $0.contains("Server kompromittiert") })
    }

    /// Expiry extension with the lifecycle's clock: a key from before issue 20 (no expiry) gets one at the first
    /// check; a key within `gateway-key-renew-days` of its expiry is extended to a lifetime from then (audited, a
    /// new self-signature that WKD and Autocrypt serve); `keys status`, the metrics and `check-config` warn from
    /// 30 days before an expiry.
    @Test func expiryIsExtendedAndWarnedAbout() async throws {
        var legacy: KeyFingerprint?
        let bench = try await GatewayKeyTestBench(beforeOpen: { home in
            // The gateway key as earlier versions made it: no expiry, not in the store.
            let pgp = try PGPService(configuration: PGPConfiguration(homeDirectory: home))
            legacy = try await pgp.generateKey(userID: "MailBridge <\(GatewayKeyTestBench.mailbox)>")
            try await pgp.shutdown()
        })
        defer { Task { await bench.close() } }
        let key = try #require(legacy)
        #expect(bench.current.gatewayKey == key, "the existing key stays current")
        #expect(try await bench.installation.pgp.key(key)?.expiresAt == nil)
        let recorded = try await bench.installation.store.read { try $0.gatewayKeys() }
        #expect(recorded.first?.hasRevocationCertificate == true, "gpg's certificate of the old key is kept")

        // First check: the key gets an expiry of a lifetime from now; WKD and Autocrypt carry it.
        await bench.service.runOnce(forceCheck: true)
        let firstExpiry = TimeInterval(try #require(try await bench.installation.pgp.key(key)?.expiresAt))
        #expect(abs(firstExpiry - Date().timeIntervalSince1970 - 730 * Self.day) < 3600)
        let wkd = try Array(Data(contentsOf: try await bench.wkdFile()))
        let shown = try bench.client.gpg(["--with-colons", "--import-options", "show-only", "--import"], stdin: wkd)
        let expiryField = shown.stdout.text.split(separator: "\n").first { $0.hasPrefix("pub:") }
            .map { $0.split(separator: ":", omittingEmptySubsequences: false)[6] }
        #expect(expiryField.map { !$0.isEmpty } == true, "the WKD copy has an expiry")
        let autocrypt = try #require(bench.current.autocrypt)
        #expect(bench.help.entries.first?.binaryKey == wkd)
        _ = autocrypt

        // 100 days before the expiry: nothing to do. 59 days before: extended to a lifetime from then.
        bench.clock.now = Date(timeIntervalSince1970: firstExpiry - 100 * Self.day)
        await bench.service.runOnce(forceCheck: true)
        #expect(TimeInterval(try #require(try await bench.installation.pgp.key(key)?.expiresAt)) == firstExpiry)
        let renewAt = Date(timeIntervalSince1970: firstExpiry - 59 * Self.day)
        bench.clock.now = renewAt
        await bench.service.runOnce(forceCheck: true)
        let secondExpiry = TimeInterval(try #require(try await bench.installation.pgp.key(key)?.expiresAt))
        #expect(abs(secondExpiry - renewAt.timeIntervalSince1970 - 730 * Self.day) < 3600)
        // Every subkey got the new date too (a client encrypts to the subkey).
        let colons = try await bench.installation.pgp.exportPublicKey(key, armored: false)
        let subkeys = try bench.client.gpg(["--with-colons", "--import-options", "show-only", "--import"],
                                           stdin: colons).stdout.text.split(separator: "\n")
            .filter { $0.hasPrefix("sub:") }.map { $0.split(separator: ":", omittingEmptySubsequences: false)[6] }
        #expect(!subkeys.isEmpty && subkeys.allSatisfy { abs((TimeInterval($0) ?? 0) - secondExpiry) <= 5 })
        let audit = try await bench.installation.store.read { try $0.latestAuditEntries(AuditFilter(), limit: 200) }
        #expect(audit.filter { $0.event == .gatewayKeyExpiryExtended && $0.itemID == key.hex }.count == 2)

        // Within 30 days of the expiry and not extended (renewal set to less than the warning): status, metrics
        // and check-config warn.
        let policy = GatewayKeyPolicy(lifetime: 730 * Self.day, renewBefore: 10 * Self.day, overlap: 90 * Self.day)
        let nearExpiry = Date(timeIntervalSince1970: secondExpiry - 20 * Self.day)
        let lifecycle = try GatewayKeyLifecycle(store: bench.installation.store, pgp: bench.installation.pgp,
                                            policy: policy, logger: bench.logger, now: { nearExpiry })
        let report = await lifecycle.check()
        #expect(report.expiringSoon == 1 && report.extended == 0)
        #expect(bench.logs.all.contains { $0.contains("expire within 30 days") })
        let service = GatewayKeyService(lifecycle: lifecycle, directory: bench.directory, help: nil,
                                        metrics: bench.metrics, logger: bench.logger)
        await service.runOnce(forceCheck: true)
        let exposition = bench.metrics.exposition().text
        #expect(exposition.contains("mailbridge_gateway_keys_expiring 1"))
        #expect(exposition.contains("mailbridge_gateway_key_expiry_seconds"))
        let statuses = try await lifecycle.status()
        #expect(statuses.first?.expiringSoon == true)
        let configuration = try BridgeConfiguration.load(file: bench.config)
        let warnings = await GatewayKeyExpiryCheck.warnings(configuration, now: nearExpiry)
        #expect(warnings.count == 1 && warnings.first?.contains("expires in 20 day") == true, "\(warnings)")
        #expect(await GatewayKeyExpiryCheck.warnings(configuration, now: Date()).isEmpty)
    }

    /// The pure decisions of the policy.
    @Test func policyDecisions() {
        let policy = GatewayKeyPolicy()
        let now = Date()
        #expect(policy.needsExtension(expiresAt: nil, now: now))
        #expect(!policy.needsExtension(expiresAt: now.addingTimeInterval(61 * Self.day), now: now))
        #expect(policy.needsExtension(expiresAt: now.addingTimeInterval(60 * Self.day), now: now))
        #expect(!policy.warns(expiresAt: nil, now: now))
        #expect(!policy.warns(expiresAt: now.addingTimeInterval(31 * Self.day), now: now))
        #expect(policy.warns(expiresAt: now.addingTimeInterval(30 * Self.day), now: now))
        #expect(policy.warns(expiresAt: now.addingTimeInterval(-Self.day), now: now))
    }
}
