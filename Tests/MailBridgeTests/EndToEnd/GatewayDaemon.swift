import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The real `mailbridge serve` binary in its own process, on its own temporary data folder and loopback SMTP port,
/// for tests that must kill it (`kill -9`), stop it (SIGTERM) or measure it from outside. Shared by the kill, shutdown
/// and memory tests; each one writes its own configuration sections after the common ones.
///
/// ```swift
/// let daemon = try GatewayDaemon(name: "kills", sections: "[metrics]\nenabled = false\n")
/// defer { daemon.remove() }
/// let process = try daemon.launch()
/// try await daemon.waitUntilListening()
/// daemon.kill(process)
/// ```
final class GatewayDaemon: @unchecked Sendable {
    /// `.build/debug/mailbridge` of this checkout.
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/mailbridge")
    }

    static var isBuilt: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

    /// The `[[mailbox]]` most daemon tests run with (for `sections`): beratung@localhost, notices to
    /// team@localhost, redirects to the example login, German texts.
    static let counsellingMailbox = """
        [[mailbox]]
        address = "beratung@localhost"
        field = "allgemein"
        team-notification-address = "team@localhost"
        redirect-link = "https://beratung.example/login"
        language = "de"
        """

    let folder: URL
    let config: URL
    let port: Int
    /// Every run's standard error (the daemon's log), appended.
    let log: URL
    private let logHandle: FileHandle

    var dataFolder: URL { folder.appending(path: "data") }
    var gnupgHome: URL { dataFolder.appending(path: "gnupg") }
    var incomingSpool: URL { dataFolder.appending(path: "spool/incoming") }

    /// Writes `mailbridge.toml`: `[data]`, `[keys]` and `[smtp]` on a free loopback port (plus `smtp` lines), then
    /// `sections` (mailboxes, sources, `[metrics]` …) as given.
    init(name: String, smtp: String = "", sections: String) throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "mb-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try FreePort.find()
        config = folder.appending(path: "mailbridge.toml")
        try """
            [data]
            folder = "\(folder.appending(path: "data").path)"
            [keys]
            master-key-file = "\(folder.appending(path: "data/master.key").path)"
            [smtp]
            listen = "127.0.0.1"
            port = \(port)
            \(smtp)
            \(sections)

            """.write(to: config, atomically: true, encoding: .utf8)
        log = folder.appending(path: "gateway.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        logHandle = try FileHandle(forWritingTo: log)
    }

    /// Starts `mailbridge serve` with its standard error appended to ``log``.
    func launch(logLevel: String = "info") throws -> Process {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--config", config.path, "--log-level", logLevel]
        try logHandle.seekToEnd()
        process.standardError = logHandle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits until the SMTP port accepts connections; false after `timeout` or if `process` ended.
    func waitUntilListening(_ process: Process? = nil, timeout: Duration = .seconds(60)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !FreePort.isListening(port) {
            guard ContinuousClock.now < deadline, process?.isRunning ?? true else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// `kill -9` and reap. The gpg processes it started live on (gpgme double-forks them).
    func kill(_ process: Process) {
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait (at most `timeout`); true if it ended by itself.
    @discardableResult
    func stop(_ process: Process, timeout: Duration = .seconds(60)) async throws -> Bool {
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        guard process.isRunning else { return true }
        kill(process)
        return false
    }

    /// Runs an admin command (`queue list --json`, `threads list --json` …) against this configuration.
    func command(_ arguments: [String]) throws -> Shell.Result {
        try Shell.run(Self.binary.path, arguments + ["--config", config.path])
    }

    /// The whole log so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// How many log lines contain `needle`.
    func logLines(containing needle: String) -> Int {
        logText.split(separator: "\n").filter { $0.contains(needle) }.count
    }

    /// Messages in the spool that the pipeline has not processed yet.
    var spooled: Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: incomingSpool.path)) ?? []
        return names.filter { $0.hasSuffix(".eml") }.count
    }

    /// Ends the GnuPG home's agent and removes the folder.
    func remove() {
        try? logHandle.close()
        _ = try? Shell.run("gpgconf", ["--homedir", gnupgHome.path, "--kill", "all"], allowFailure: true)
        try? FileManager.default.removeItem(at: folder)
    }
}
