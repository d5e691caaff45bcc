import Foundation
import TestSupport

/// A real Dovecot IMAP server for one test, on 127.0.0.1 with free ports, `ssl = required` and a self-signed
/// certificate for `localhost` made by `openssl`. Runs `dovecot -c <conf> -F` as a child process; ``stop()``
/// sends SIGTERM and waits (bounded) for it to exit. Everything lives in one temporary folder.
final class DovecotServer: @unchecked Sendable {
    static let user = "beratung"
    static let password = "geheim-\(UUID().uuidString.prefix(6))"
    /// The mail user's uid/gid (nobody): Dovecot refuses mail access as root.
    static let mailUID = 65534

    let root: URL
    let imapPort: Int
    let imapsPort: Int
    let certificate: URL
    let passwordFile: URL
    let logFile: URL
    /// Dovecot's master process; spawned and reaped here (not Foundation.Process, so `waitpid` is ours).
    private var pid: pid_t = 0
    private var mailCounter = 0

    /// Prepares the folder, the certificate and the config; `deliver` mail with ``deliver(_:)`` before ``start()``.
    init() throws {
        root = URL(fileURLWithPath: "/tmp/mb-imap-\(UUID().uuidString.prefix(10))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        certificate = root.appendingPathComponent("cert.pem")
        let key = root.appendingPathComponent("key.pem")
        _ = try Shell.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.path,
                                      "-out", certificate.path, "-days", "2", "-subj", "/CN=localhost",
                                      "-addext", "subjectAltName=DNS:localhost"])
        try "\(Self.user):{PLAIN}\(Self.password)\n".write(to: root.appendingPathComponent("passwd"),
                                                           atomically: true, encoding: .utf8)
        passwordFile = root.appendingPathComponent("imap-password")
        try "\(Self.password)\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        logFile = root.appendingPathComponent("dovecot.log")
        imapPort = try FreePort.find()
        imapsPort = try FreePort.find()
        for folder in ["new", "cur", "tmp"] {
            try FileManager.default.createDirectory(at: inbox.appendingPathComponent(folder),
                                                    withIntermediateDirectories: true)
        }
        let r = root.path
        let config = """
            base_dir = \(r)/run
            state_dir = \(r)/state
            log_path = \(r)/dovecot.log
            protocols = imap
            listen = 127.0.0.1
            ssl = required
            ssl_cert = <\(r)/cert.pem
            ssl_key = <\(r)/key.pem
            disable_plaintext_auth = yes
            auth_mechanisms = plain
            passdb {
              driver = passwd-file
              args = scheme=PLAIN username_format=%u \(r)/passwd
            }
            userdb {
              driver = static
              args = uid=\(Self.mailUID) gid=\(Self.mailUID) home=\(r)/mail/%u
            }
            mail_location = maildir:\(r)/mail/%u
            namespace inbox {
              inbox = yes
              separator = /
            }
            service imap-login {
              inet_listener imap {
                address = 127.0.0.1
                port = \(imapPort)
              }
              inet_listener imaps {
                address = 127.0.0.1
                port = \(imapsPort)
                ssl = yes
              }
            }

            """
        try config.write(to: root.appendingPathComponent("dovecot.conf"), atomically: true, encoding: .utf8)
    }

    deinit {
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(at: root)
    }

    var inbox: URL { root.appendingPathComponent("mail/\(Self.user)") }

    /// The Maildir++ folder of an IMAP folder name ("MailBridge/Imported" → `.MailBridge.Imported`).
    func folder(_ name: String) -> URL {
        name == "INBOX" ? inbox : inbox.appendingPathComponent("." + name.replacingOccurrences(of: "/", with: "."))
    }

    /// Message files in a folder (`new` and `cur`).
    func messages(in name: String) -> [URL] {
        ["new", "cur"].flatMap { sub -> [URL] in
            let dir = folder(name).appendingPathComponent(sub)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return names.map { dir.appendingPathComponent($0) }
        }
    }

    /// Puts a message into INBOX/new (Maildir delivery), CRLF line ends, before the server starts.
    func deliver(_ raw: String) throws {
        mailCounter += 1
        let crlf = raw.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        try Data(crlf.utf8).write(to: inbox.appendingPathComponent("new/\(1_700_000_000 + mailCounter).M\(mailCounter)P1.test"))
    }

    /// Starts Dovecot and waits (at most 10 s, sleeping without blocking a cooperative thread) until both ports
    /// accept connections.
    func start() async throws {
        _ = try Shell.run("chown", ["-R", "\(Self.mailUID):\(Self.mailUID)", root.appendingPathComponent("mail").path])
        // Inherits no descriptors (a pipe of another test's child held open by Dovecot would keep that test
        // waiting for EOF), a clean signal mask and default SIGTERM/SIGINT; `pid` is Dovecot's own; its stdout and
        // stderr go to /dev/null (it logs to log_path).
        let command = ["/usr/sbin/dovecot", "-c", root.appendingPathComponent("dovecot.conf").path, "-F"]
        guard let child = DetachedSpawn.start(command, newSession: false) else {
            throw DovecotFailure(description: "cannot spawn dovecot")
        }
        pid = child
        for _ in 0..<200 {
            if FreePort.isListening(imapPort) && FreePort.isListening(imapsPort) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw DovecotFailure(description: "dovecot did not start: \(log)")
    }

    /// SIGTERM, then waits at most 10 s; returns true if Dovecot exited by itself (status 0).
    @discardableResult
    func stop() async -> Bool {
        guard pid > 0 else { return false }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<200 {
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                // WIFEXITED && WEXITSTATUS == 0 (the macros are not imported into Swift).
                return status & 0x7f == 0 && (status >> 8) & 0xff == 0
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false  // deinit kills it
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}

struct DovecotFailure: Error, CustomStringConvertible {
    let description: String
}

/// Loopback port helpers for test servers.
enum FreePort {
    /// A port the kernel just handed out for 127.0.0.1 (bound to port 0, then closed).
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DovecotFailure(description: "socket failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw DovecotFailure(description: "bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
