import Foundation
import MailBridge
import PGPShim
import TestSupport

/// Generates the canary corpus for ``CanaryCorpusTests``: fresh ciphertexts from three OpenPGP implementations
/// (gpg, Sequoia's `sqop`, RNP), each delivered once to be imported and then re-wrapped many ways (replays,
/// corruptions, partly-encrypted shapes), plus plain, 8-bit, quoted-printable, auto-reply and malformed mail.
/// Every mail carries unique canaries (``CanaryMint``) in subject, display name, headers, body and file names.
///
/// Process spawning is bounded: one encryption per fresh payload (about 80), everything else is built in Swift.
final class CanaryCorpusBuilder {
    struct Fresh {
        var armored: String
        var bodyCanary: String
        var kind: CorpusMail.Kind
    }

    let harness: PipelineHarness
    let mint = CanaryMint()
    private(set) var fresh: [Fresh] = []
    /// Delivered first: every fresh ciphertext exactly once.
    private(set) var first: [CorpusMail] = []
    /// Delivered afterwards (shuffled): everything else.
    private(set) var rest: [CorpusMail] = []

    private var gpgKeys: [KeyFingerprint] = []
    private var wrongKey: KeyFingerprint!
    private var sqopKey: URL!
    private var gatewayCert: URL!
    private var rnpHome: URL!
    private var rnpKey: KeyFingerprint!
    static let knownSender = "bekannt@example.net"
    /// The known sender's Autocrypt header line: unsigned mail is bound only to a key its sender offers for
    /// itself (or one registered in the store), never to a key found in the keyring by address.
    private var knownSenderAutocrypt = ""

    init(harness: PipelineHarness) { self.harness = harness }

    // MARK: Keys

    /// Client keys for gpg (two signing clients, one known-by-address client, one key that is not the gateway's),
    /// Sequoia and RNP; their public keys are known to the gateway (as after a first contact).
    func makeKeys() async throws {
        let client = harness.client
        gpgKeys = [try client.makeKey("klient1@example.net"), try client.makeKey("klient2@example.net"),
                   try client.makeKey(Self.knownSender)]
        wrongKey = try client.makeKey("fremd@example.net")
        rnpKey = try client.makeKey("rnp@example.net")
        let publics = try client.gpg(["--export"] + (gpgKeys + [rnpKey]).map(\.hex)).stdout
        _ = try await harness.pgp.importPublicKeys(publics)
        let known = try client.gpg(["--export", "--export-options", "export-minimal", gpgKeys[2].hex]).stdout
        knownSenderAutocrypt = "Autocrypt: addr=\(Self.knownSender); keydata=\(Data(known).base64EncodedString())\r\n"

        (gatewayCert, sqopKey, rnpHome) = try await harness.makeThirdPartySigners(
            folder: "corpus-keys", sqopUserID: "Klient <sq@example.net>", rnpKey: rnpKey)
    }

    // MARK: Encryption with three implementations

    private func gpg(_ plaintext: [UInt8], signer: KeyFingerprint?, to recipient: KeyFingerprint,
                     alsoTo other: KeyFingerprint? = nil, extra: [String] = []) throws -> String {
        let sign = signer.map { ["--sign", "--local-user", $0.hex] } ?? []
        let also = other.map { ["--recipient", $0.hex] } ?? []
        return try harness.client.gpg(extra + ["--armor"] + sign + ["--encrypt", "--recipient", recipient.hex] + also,
                                      stdin: plaintext).stdout.text
    }

    private func sqop(_ plaintext: [UInt8]) throws -> String {
        try Shell.run("sqop", ["encrypt", "--sign-with=\(sqopKey.path)", gatewayCert.path], stdin: plaintext).stdout.text
    }

    private func rnp(_ plaintext: [UInt8]) throws -> String {
        try Shell.run("rnp", ["--homedir", rnpHome.path, "--password", "", "--encrypt", "--sign", "-u", rnpKey.hex,
                              "-r", harness.gateway.hex, "--armor"], stdin: plaintext).stdout.text
    }

    /// The inner entity a client encrypts, in four shapes (multipart with attachment, 8-bit, QP, Latin-1).
    private func inner(_ variant: Int, body: String) -> [UInt8] {
        let subject = mint.content("innersubj"), file = mint.content("innerfile")
        switch variant % 4 {
        case 0:
            return Array(PipelineHarness.innerEntity(subject: "Betreff \(subject)", body: "Hallo \(body) Grüße",
                                                     fileName: "\(file).pdf").utf8)
        case 1:
            return Array(("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n"
                          + "Content-Transfer-Encoding: 8bit\r\nSubject: Ärger \(subject)\r\n\r\n"
                          + "Grüße aus Köln \(body) – Öl, Übel, ß\r\n").utf8)
        case 2:
            return Array(("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                          + "Subject: =?utf-8?q?=C3=9Cbel_\(subject)?=\r\n\r\n"
                          + "Gr=C3=BC=C3=9Fe \(body) =C3=84rger und eine sehr lange Zeile, die weich =\r\n"
                          + "umbrochen wird.\r\n").utf8)
        default:
            return Array(("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n"
                          + "Subject: \(subject)\r\n\r\nGr").utf8) + [0xFC, 0xDF] + Array("e \(body) ".utf8)
                + [0xC4, 0x72, 0x67, 0x65, 0x72, 0x0D, 0x0A]
        }
    }

    /// Outer header lines with canaries in display name, subject, Message-ID and custom headers.
    func headers(from address: String, subject: String? = nil) -> String {
        "From: Klient \(mint.content("name")) <\(address)>\r\nTo: \(PipelineHarness.counselling)\r\n"
            + "Subject: \(subject ?? mint.content("subj"))\r\nMessage-ID: <\(mint.content("mid"))@example.net>\r\n"
            + "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nX-Klient-Notiz: \(mint.content("hdr"))\r\n"
            + "Keywords: \(mint.content("kw"))\r\n"
    }

    private func add(_ kind: CorpusMail.Kind, _ expectation: CorpusMail.Expectation, sender: String?, _ text: String,
                     bodyCanary: String? = nil, first isFirst: Bool = false) {
        add(kind, expectation, sender: sender, bytes: Array(text.utf8), bodyCanary: bodyCanary, first: isFirst)
    }

    private func add(_ kind: CorpusMail.Kind, _ expectation: CorpusMail.Expectation, sender: String?, bytes: [UInt8],
                     bodyCanary: String? = nil, first isFirst: Bool = false) {
        let mail = CorpusMail(kind: kind, expectation: expectation, sender: sender, bytes: bytes,
                              storedBodyCanary: bodyCanary)
        if isFirst { first.append(mail) } else { rest.append(mail) }
    }

    private func inlineMail(_ armored: String, headers: String) -> String {
        headers + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + PGPMIMEWrapper.crlf(armored)
    }

    // MARK: Fresh ciphertexts: delivered once, imported

    func makeFresh(gpgCount: Int, sqopCount: Int, rnpCount: Int, inlineCount: Int, unsignedCount: Int,
                   pythonCount: Int) throws {
        func deliver(_ armored: String, _ kind: CorpusMail.Kind, _ body: String, sender: String, index: Int) {
            fresh.append(Fresh(armored: armored, bodyCanary: body, kind: kind))
            let outer = headers(from: sender) + (kind == .unsignedKnownSender ? knownSenderAutocrypt : "")
            let mail = kind == .gpgInline
                ? inlineMail(armored, headers: outer)
                : PGPMIMEWrapper.wrap(armored, headers: outer, style: index,
                                      fileCanary: mint.content("file"))
            add(kind, .imported, sender: sender, mail, bodyCanary: body, first: true)
        }
        for index in 0..<gpgCount {
            let body = mint.content("body")
            deliver(try gpg(inner(index, body: body), signer: gpgKeys[index % 2], to: harness.gateway), .gpgPGPMIME,
                    body, sender: mint.address(), index: index)
        }
        for index in 0..<sqopCount {
            let body = mint.content("body")
            deliver(try sqop(inner(index, body: body)), .sqopPGPMIME, body, sender: mint.address("sq"), index: index)
        }
        for index in 0..<rnpCount {
            let body = mint.content("body")
            deliver(try rnp(inner(index, body: body)), .rnpPGPMIME, body, sender: mint.address("rnp"), index: index)
        }
        for index in 0..<inlineCount {
            let body = mint.content("body")
            let text = Array("Hallo \(body), Grüße aus München\r\n".utf8)
            deliver(try gpg(text, signer: gpgKeys[index % 2], to: harness.gateway), .gpgInline, body,
                    sender: mint.address("inline"), index: index)
        }
        // Unsigned: the sender offers its key by Autocrypt (as Thunderbird does).
        for index in 0..<unsignedCount {
            let body = mint.content("body")
            // Unsigned mail is bound to a client key only if it was encrypted to that key too (as Thunderbird does).
            deliver(try gpg(inner(index, body: body), signer: nil, to: harness.gateway, alsoTo: gpgKeys[2]),
                    .unsignedKnownSender, body,
                    sender: Self.knownSender, index: index)
        }
        // Python's email package builds the MIME structure.
        for _ in 0..<pythonCount {
            let body = mint.content("body")
            let armored = try gpg(inner(0, body: body), signer: gpgKeys[0], to: harness.gateway)
            fresh.append(Fresh(armored: armored, bodyCanary: body, kind: .pythonPGPMIME))
            let sender = mint.address("py")
            let mail = try harness.pgpMIMEMail(from: sender, ciphertext: Array(armored.utf8),
                                               messageID: "<\(mint.content("mid"))@example.net>",
                                               extraHeaders: ["X-Klient-Notiz": " \(mint.content("hdr"))"])
            add(.pythonPGPMIME, .imported, sender: sender, PGPMIMEWrapper.crlf(mail), bodyCanary: body, first: true)
        }
    }

    /// A PGP/MIME mail produced by another tool (neomutt), delivered like a fresh one.
    func addExternalFresh(_ raw: [UInt8], armored: String, bodyCanary: String, sender: String) {
        fresh.append(Fresh(armored: armored, bodyCanary: bodyCanary, kind: .neomutt))
        add(.neomutt, .imported, sender: sender, bytes: raw, bodyCanary: bodyCanary, first: true)
    }

    // MARK: Encrypted mail that must not import

    func makeEncryptedFailures(wrongRecipientCount: Int, noMDCCount: Int) throws {
        // Each fresh ciphertext again: in the other PGP/MIME styles and inline, new senders, new Message-IDs.
        // Unsigned ones keep their sender (the key is found by address only for that sender).
        for (index, item) in fresh.enumerated() {
            func replaySender() -> String {
                item.kind == .unsignedKnownSender ? Self.knownSender : mint.address("replay")
            }
            for shift in 1...3 {
                let sender = replaySender()
                add(.replay, .rejected, sender: sender,
                    PGPMIMEWrapper.wrap(item.armored, headers: headers(from: sender), style: index + shift,
                                        fileCanary: mint.content("file")))
            }
            let sender = replaySender()
            add(.replay, .rejected, sender: sender, inlineMail(item.armored, headers: headers(from: sender)))
        }
        for index in 0..<wrongRecipientCount {
            let armored = try gpg(Array("Falscher Schlüssel \(mint.content("body"))".utf8), signer: gpgKeys[0],
                                  to: wrongKey)
            for style in 0..<3 {
                let sender = mint.address("wrong")
                add(.wrongRecipient, .rejected, sender: sender,
                    PGPMIMEWrapper.wrap(armored, headers: headers(from: sender), style: index + style,
                                        fileCanary: mint.content("file")))
            }
        }
        for index in 0..<noMDCCount {
            let armored = try gpg(Array("Ohne MDC \(mint.content("body"))".utf8), signer: nil, to: harness.gateway,
                                  extra: ["--rfc2440", "--cipher-algo", "AES"])
            for style in 0..<2 {
                let sender = mint.address("nomdc")
                add(.noMDC, .rejected, sender: sender,
                    PGPMIMEWrapper.wrap(armored, headers: headers(from: sender), style: index + style,
                                        fileCanary: mint.content("file")))
            }
        }
        // Corrupted ciphertexts: a flipped byte near the end (MDC/AEAD tag), in the middle, or cut short,
        // re-armored with a correct CRC so only the OpenPGP layer can notice.
        for (index, item) in fresh.enumerated() {
            guard var binary = Armor.decode(Array(item.armored.utf8)), binary.count > 80 else { continue }
            switch index % 3 {
            case 0: binary[binary.count - 10] ^= 0x5A
            case 1: binary[binary.count / 2] ^= 0x01
            default: binary.removeLast(40)
            }
            let sender = mint.address("corrupt")
            let armored = Armor.encode(binary)
            add(.corrupted, .rejected, sender: sender, index % 4 == 3
                ? inlineMail(armored, headers: headers(from: sender))
                : PGPMIMEWrapper.wrap(armored, headers: headers(from: sender), style: index,
                                      fileCanary: mint.content("file")))
        }
        // Sender identity that is not exactly one mailbox: refused before decryption.
        for (index, item) in fresh.prefix(10).enumerated() {
            let sender = mint.address("badfrom")
            let from: String
            switch index % 3 {
            case 0: from = "From: a <\(sender)>, \(mint.content("name")) <\(mint.address())>\r\n"
            case 1: from = "From: \(mint.content("name"))\r\n"
            default: from = "From: <\(sender)>\r\nFrom: <\(mint.address())>\r\n"
            }
            let headers = from + "To: \(PipelineHarness.counselling)\r\nSubject: \(mint.content("subj"))\r\n"
                + "Message-ID: <\(mint.content("mid"))@example.net>\r\n"
            add(.invalidSender, .rejected, sender: sender,
                PGPMIMEWrapper.wrap(item.armored, headers: headers, style: index, fileCanary: mint.content("file")))
        }
    }

    // MARK: Partly encrypted, S/MIME-like: handled as plain, never decrypted

    func makeMixed(perCiphertext: Int) {
        for (index, item) in fresh.enumerated() {
            for variant in 0..<perCiphertext {
                let sender = mint.address("mixed")
                let armor = PGPMIMEWrapper.crlf(item.armored)
                let head = headers(from: sender)
                let body = mint.content("body")
                let mail: String
                switch (index * perCiphertext + variant) % 7 {
                case 0:
                    mail = head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                        + "Vorwort \(body) Grüße\r\n\(armor)\r\nNachwort \(mint.content("body"))\r\n"
                case 1:
                    mail = head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
                        + "--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKlartext \(body)\r\n"
                        + "--outer\r\n"
                        + PGPMIMEWrapper.wrap(item.armored, headers: "", style: index, fileCanary: mint.content("file"))
                        + "--outer--\r\n"
                case 2:
                    mail = head + "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                        + "<html><body><p>\(body)</p><pre>\(armor)</pre></body></html>\r\n"
                case 3:
                    mail = head + "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data;"
                        + " name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n"
                        + "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n"
                        + Data("\(body) pkcs7 \(armor)".utf8).base64EncodedString(options: .lineLength76Characters) + "\r\n"
                case 4:
                    mail = head + "MIME-Version: 1.0\r\n"
                        + "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;"
                        + " boundary=\"sig\"\r\n\r\n--sig\r\nContent-Type: text/plain\r\n\r\n\(body)\r\n\(armor)\r\n"
                        + "--sig\r\nContent-Type: application/pkcs7-signature; name=\"\(mint.content("file")).p7s\"\r\n"
                        + "Content-Transfer-Encoding: base64\r\n\r\nTUlJQg==\r\n--sig--\r\n"
                case 5:
                    mail = head + "Content-Type: text/plain; charset=us-ascii\r\n\r\n\(armor)\r\n\(armor)\r\n"
                        + "\(body)\r\n"
                default:
                    let binary = Armor.decode(Array(item.armored.utf8)) ?? []
                    mail = head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"att\"\r\n\r\n"
                        + "--att\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnhang: \(body)\r\n--att\r\n"
                        + "Content-Type: application/octet-stream; name=\"\(mint.content("file")).gpg\"\r\n"
                        + "Content-Transfer-Encoding: base64\r\n\r\n"
                        + Data(binary).base64EncodedString(options: [.lineLength76Characters,
                                                                     .endLineWithCarriageReturn, .endLineWithLineFeed])
                        + "\r\n--att--\r\n"
                }
                add(.mixed, .plainHandling, sender: sender, mail)
            }
        }
    }

    // MARK: Plain, 8-bit, quoted-printable, auto-replies

    func makePlain(count: Int) {
        for index in 0..<count {
            let sender = mint.address("plain")
            let head = headers(from: sender)
            let body = mint.content("body"), file = mint.content("file")
            let mail: String
            switch index % 6 {
            case 0:
                mail = head + "\r\nIch brauche Hilfe \(body)\r\n"
            case 1:
                mail = head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p1\"\r\n\r\n"
                    + "--p1\r\nContent-Type: text/plain\r\n\r\nSiehe Anhang \(body)\r\n--p1\r\n"
                    + "Content-Type: application/pdf; name=\"\(file).pdf\"\r\n"
                    + "Content-Disposition: attachment; filename*=utf-8''%C3%84rztlicher%20\(file).pdf\r\n"
                    + "Content-Transfer-Encoding: base64\r\n\r\n"
                    + Data("%PDF \(body)".utf8).base64EncodedString() + "\r\n--p1--\r\n"
            case 2:
                mail = head + "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
                    + "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(body)\r\n--alt\r\n"
                    + "Content-Type: text/html; charset=utf-8\r\n\r\n<p>\(mint.content("html"))</p>\r\n--alt--\r\n"
            case 3:
                mail = "From: =?utf-8?q?Kl=C3=BCent_\(mint.content("name"))?= <\(sender)>\r\n"
                    + "To: \(PipelineHarness.counselling)\r\nSubject: =?utf-8?b?"
                    + Data("Grüße \(mint.content("subj"))".utf8).base64EncodedString() + "?=\r\n"
                    + "Reply-To: \(mint.address("replyto"))\r\nMessage-ID: <\(mint.content("mid"))@example.net>\r\n"
                    + "\r\n\(body)\r\n"
            case 4:
                mail = head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fw\"\r\n\r\n"
                    + "--fw\r\nContent-Type: text/plain\r\n\r\nweitergeleitet\r\n--fw\r\n"
                    + "Content-Type: message/rfc822\r\n\r\nFrom: \(mint.address("fwd"))\r\nSubject: \(mint.content("subj"))"
                    + "\r\n\r\n\(body)\r\n--fw--\r\n"
            default:
                mail = head + "In-Reply-To: <\(mint.content("irt"))@example.net>\r\n"
                    + "References: <\(mint.content("ref"))@example.net>\r\n"
                    + "Comments: \(mint.content("cmt"))\r\nX-Long: \(String(repeating: "lang ", count: 40))\r\n"
                    + " \(mint.content("fold"))\r\n\r\n\(body)\r\n"
            }
            add(.plain, .plainHandling, sender: sender, mail)
        }
    }

    func makeEightBitAndQP(count: Int) {
        for index in 0..<count {
            var sender = mint.address("umlaut")
            var head = headers(from: sender, subject: "=?iso-8859-1?q?Gr=FC=DFe_\(mint.content("subj"))?=")
            let body = mint.content("body")
            switch index % 3 {
            case 0:
                add(.eightBit, .plainHandling, sender: sender, head
                    + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
                    + "\r\nGrüße, Ärger, Öl, Übel, ß \(body)\r\n")
            case 1:
                add(.eightBit, .plainHandling, sender: sender, bytes: Array((head
                    + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                    + "Content-Transfer-Encoding: 8bit\r\n\r\nGr").utf8) + [0xFC, 0xDF, 0x65, 0x20]
                    + Array(body.utf8) + [0x20, 0x80, 0x0D, 0x0A])
            default:
                add(.eightBit, .plainHandling, sender: sender, bytes: Array((head
                    + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1252\r\n"
                    + "Content-Transfer-Encoding: 8bit\r\n\r\n").utf8) + [0x84, 0x47, 0xFC, 0x93, 0x20]
                    + Array(body.utf8) + [0x20, 0x80, 0x0D, 0x0A])
            }
            sender = mint.address("qp")
            head = headers(from: sender)
            let qp = mint.content("body")
            add(.quotedPrintable, .plainHandling, sender: sender, head
                + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\(index % 2 == 0 ? "utf-8" : "iso-8859-1")\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                + (index % 2 == 0 ? "Gr=C3=BC=C3=9Fe =C3=84rger" : "Gr=FC=DFe =C4rger")
                + " \(qp) und weich umbrochene =\r\nZeilen =3D Gleichheitszeichen\r\n")
        }
    }

    func makeAutoReplies(count: Int) {
        let markers = ["Auto-Submitted: auto-replied\r\n", "Precedence: bulk\r\n", "List-Id: <liste.example.net>\r\n",
                       "Auto-Submitted: auto-generated\r\n", "Precedence: junk\r\n"]
        for index in 0..<count {
            let sender: String? = index % 7 == 5 ? nil : mint.address("auto")
            let marker = index % 7 == 5 ? "" : markers[index % markers.count]
            add(.autoReply, .plainHandling, sender: sender,
                headers(from: sender ?? mint.address("nullsender")) + marker + "\r\n\(mint.content("body"))\r\n")
        }
    }

    // MARK: Malformed

    func makeMalformed(count: Int) {
        for index in 0..<count {
            let sender = mint.address("broken")
            let head = headers(from: sender)
            let body = mint.content("body")
            var bytes: [UInt8]
            switch index % 10 {
            case 0:
                let whole = Array((head + "\r\nEin Text \(body) der abgeschnitten wird\r\n").utf8)
                bytes = Array(whole.prefix(whole.count * (index % 7 + 2) / 10))
            case 1:
                let item = fresh[index % fresh.count]
                let whole = Array(PGPMIMEWrapper.wrap(item.armored, headers: head, style: index,
                                                      fileCanary: mint.content("file")).utf8)
                bytes = Array(whole.prefix(whole.count * 3 / 4))
            case 2:
                bytes = Array((head + "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
                               + "Content-Transfer-Encoding: base64\r\n\r\n!!%%\(body)**==\r\nQUJD=RE\r\n").utf8)
            case 3:
                bytes = Array((head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"declared\"\r\n\r\n"
                               + "--other\r\nContent-Type: text/plain\r\n\r\n\(body)\r\n--other--\r\n").utf8)
            case 4:
                bytes = Array((head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n"
                               + "--x\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n"
                               + "Content-Type: text/plain; name=\"\(mint.content("file"))\"\r\n\r\n\(body)\r\n").utf8)
            case 5:
                bytes = Array((head + "X-Nul: a\u{0}\(mint.content("hdr"))\r\n\r\nvor\u{0}\(body)\u{0}nach\r\n").utf8)
            case 6:
                bytes = Array((head + "\r\nZeile\rmit CR \(body)\nund LF\r\n.\r\nnach dem Punkt\r\n").utf8)
            case 7:
                bytes = Array(("Kein Doppelpunkt \(mint.content("hdr"))\r\n" + head + "X-Lang: "
                               + String(repeating: "x", count: 3000) + mint.content("hdr") + "\r\n\r\n\(body)\r\n").utf8)
            case 8:
                bytes = Array((head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
                               + "--\r\nContent-Type: text/plain\r\n\r\n\(body)\r\n").utf8)
            default:
                bytes = Array(head.utf8) + Array("Subject: ".utf8) + [0xFF, 0xFE, 0xC3]
                    + Array(mint.content("subj").utf8) + Array("\r\nContent-Type: text/plain; charset=x-unknown-42\r\n"
                                                                   .utf8)
                    + Array("Content-Transfer-Encoding: x-uuencode\r\n\r\n".utf8) + [0xC3, 0x28, 0xA0]
                    + Array(body.utf8) + [0x0D, 0x0A]
            }
            add(.malformed, .notImported, sender: sender, bytes: bytes)
        }
    }

    /// Every non-fresh mail, in a fixed pseudo-random order (seeded, so a failure reproduces).
    func shuffledRest() -> [CorpusMail] {
        var generator = SeededGenerator(seed: 0x5EED_CA4A)
        return rest.shuffled(using: &generator)
    }
}
