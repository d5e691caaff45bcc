import Foundation
import MailBridge
import PGPShim
import TestSupport
import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `mailbridge` executable and helpers shared by the disaster-recovery tests.
enum RecoveryCLI {
    struct NotBuilt: Error {}

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func binary() throws -> String {
        guard let path = CommandLineTests.executable else { throw NotBuilt() }
        return path
    }

    /// Runs `mailbridge arguments…` to completion.
    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A PGP/MIME mail from `from` to `to`, encrypted to `gatewayKey` and signed by `clientKey`, with the
    /// client's key in an Autocrypt header.
    static func encryptedMail(client: GnuPGClient, from: String, to: String, clientKey: KeyFingerprint,
                              gatewayKey: KeyFingerprint, body: String) throws -> String {
        try EncryptedTestMail.pgpMIME(client: client, from: from, to: to, clientKey: clientKey, gatewayKey: gatewayKey,
                                      inner: "Content-Type: text/plain; charset=utf-8\r\n\r\n\(body)\r\n",
                                      messageID: "<dr-\(UUID())@example.net>")
    }

    /// Sends raw mails over SMTP on loopback with Python's smtplib (one session per call).
    static func send(_ mails: [(from: String, text: String)], to recipient: String, port: Int, folder: URL) throws {
        var files: [String] = []
        for (index, mail) in mails.enumerated() {
            let file = folder.appendingPathComponent("send-\(UUID().uuidString)-\(index).eml")
            try Data(mail.text.utf8).write(to: file)
            files += [mail.from, file.path]
        }
        let script = """
            import smtplib, sys
            port, rcpt, rest = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
            with smtplib.SMTP('127.0.0.1', port) as s:
                for i in range(0, len(rest), 2):
                    s.sendmail(rest[i], [rcpt], open(rest[i + 1], 'rb').read())
            """
        try Shell.run("python3", ["-c", script, "\(port)", recipient] + files)
    }

    /// Sends the mails one after another in one SMTP session until `stopFile` exists; returns for each accepted
    /// mail (in order) the Unix time its 250 arrived. Each time is also appended to `stopFile.progress` at once.
    static func sendUntilStopped(_ mails: [(from: String, text: String)], to recipient: String, port: Int,
                                 folder: URL, stopFile: URL) throws -> [Double] {
        var files: [String] = []
        for (index, mail) in mails.enumerated() {
            let file = folder.appendingPathComponent("stream-\(UUID().uuidString)-\(index).eml")
            try Data(mail.text.utf8).write(to: file)
            files += [mail.from, file.path]
        }
        let script = """
            import os, smtplib, sys, time
            port, rcpt, stop, rest = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
            progress = open(stop + '.progress', 'a')
            with smtplib.SMTP('127.0.0.1', port) as s:
                for i in range(0, len(rest), 2):
                    if os.path.exists(stop):
                        break
                    s.sendmail(rest[i], [rcpt], open(rest[i + 1], 'rb').read())
                    print(time.time(), flush=True)
                    progress.write('%f\\n' % time.time())
                    progress.flush()
            """
        let output = try Shell.run("python3", ["-c", script, "\(port)", recipient, stopFile.path] + files).stdout.text
        return output.split(separator: "\n").compactMap { Double($0) }
    }

    /// Whether `key` opens the store at `url` (wrong key: false).
    static func opens(_ url: URL, with key: MasterKey) throws -> Bool {
        do {
            let store = try ThreadStore(at: url, masterKey: key)
            try store.close()
            return true
        } catch let error as ThreadStoreError where error == .wrongMasterKey {
            return false
        }
    }
}
