import Foundation
import MailBridge
import PGPShim
import TestSupport

/// A PGP/MIME mail written by Debian's `neomutt` with GPGME (signed, encrypted, protected headers).
///
/// neomutt 20220429 ignores message security in batch mode (`neomutt -s … < body` sends plain text; the `-C`
/// option came later), so it is driven through its compose menu on a pseudo-terminal by a small Python script:
/// `-H draft` fills the headers, Return confirms the prompts, `y` sends. `sendmail` is a script that writes the
/// message to a file. Every wait is bounded; any failure throws and the corpus runs without this mail.
struct NeomuttMail {
    var raw: [UInt8]
    var armored: String
    var bodyCanary: String
    var sender: String

    struct Unavailable: Error {}

    static func make(harness: PipelineHarness, mint: CanaryMint) async throws -> NeomuttMail {
        guard Shell.which("neomutt") != nil else { throw Unavailable() }
        let folder = harness.root.appendingPathComponent("neomutt")
        let client = try GnuPGClient(home: folder.appendingPathComponent("gnupg"))
        defer { client.kill() }
        let sender = "neomutt@example.net"
        let key = try client.makeKey(sender)
        try client.gpg(["--import"], stdin: try await harness.pgp.exportPublicKey(harness.gateway))
        // GPGME in neomutt checks validity with gpg's own trust model (the CLI flag `--trust-model always` of
        // GnuPGClient does not reach it): certify the gateway key locally, or neomutt stops at a key menu.
        try client.gpg(["--quick-lsign-key", harness.gateway.hex])
        _ = try await harness.pgp.importPublicKeys(try client.gpg(["--export", key.hex]).stdout)

        let output = folder.appendingPathComponent("sent.eml")
        let sendmail = folder.appendingPathComponent("sendmail.sh")
        try Data("#!/bin/sh\ncat > '\(output.path)'\n".utf8).write(to: sendmail)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: sendmail.path)
        let muttrc = folder.appendingPathComponent("muttrc")
        try Data("""
            set crypt_use_gpgme=yes
            set crypt_autoencrypt=yes
            set crypt_autosign=yes
            set pgp_default_key=\(key.hex)
            set pgp_sign_as=\(key.hex)
            set pgp_self_encrypt=no
            set crypt_protected_headers_write=yes
            set pgp_autoinline=no
            set sendmail="\(sendmail.path)"
            set use_from=yes
            set editor="true"
            set copy=no
            set record=""
            set postpone=no
            set folder="\(folder.path)"
            set spoolfile="\(folder.path)/empty"
            set charset=utf-8
            set send_charset=utf-8
            set timeout=1

            """.utf8).write(to: muttrc)
        try Data().write(to: folder.appendingPathComponent("empty"))
        let body = mint.content("body")
        let draft = folder.appendingPathComponent("draft.eml")
        try Data(("From: Klient <\(sender)>\nTo: \(PipelineHarness.counselling)\nSubject: \(mint.content("subj"))\n"
                  + "X-Klient-Notiz: \(mint.content("hdr"))\n\nHallo \(body), Gruesse aus neomutt\n").utf8).write(to: draft)
        try Shell.run("python3", ["-c", driver, muttrc.path, draft.path],
                      environment: ["GNUPGHOME": client.home.path, "TERM": "xterm", "HOME": folder.path])
        guard let sent = FileManager.default.contents(atPath: output.path) else { throw Unavailable() }
        let text = String(decoding: sent, as: UTF8.self)
        guard text.contains("multipart/encrypted"),
            let begin = text.range(of: "-----BEGIN PGP MESSAGE-----"),
            let end = text.range(of: "-----END PGP MESSAGE-----", range: begin.upperBound..<text.endIndex)
        else { throw Unavailable() }
        return NeomuttMail(raw: Array(PGPMIMEWrapper.crlf(text).utf8),
                           armored: String(text[begin.lowerBound..<end.upperBound]) + "\n",
                           bodyCanary: body, sender: sender)
    }

    /// Runs neomutt on a pty: Return through the header prompts until the compose menu shows "Security:", then
    /// `y` (send) and wait for "Mail sent". At most about 15 s; neomutt is terminated if it is still running.
    static let driver = #"""
        import os, pty, select, signal, sys, time
        pid, fd = pty.fork()
        if pid == 0:
            os.execvp("neomutt", ["neomutt", "-n", "-F", sys.argv[1], "-H", sys.argv[2]])
        out = b""
        def pump(seconds, until):
            global out
            end = time.time() + seconds
            while time.time() < end and until not in out:
                r, _, _ = select.select([fd], [], [], 0.1)
                if r:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        return
                    if not data:
                        return
                    out += data
        pump(3, b"Security:")
        for _ in range(4):
            if b"Security:" in out:
                break
            os.write(fd, b"\r")
            pump(1.5, b"Security:")
        os.write(fd, b"y")
        pump(6, b"Mail sent")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            for _ in range(20):
                if os.waitpid(pid, os.WNOHANG)[0] != 0:
                    sys.exit(0)
                time.sleep(0.1)
        sys.exit(0 if b"Mail sent" in out else 1)
        """#
}
