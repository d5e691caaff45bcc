public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server for the tests (issue 21): `initdb` into a temporary folder, listening on 127.0.0.1 at
/// a free port only (no Unix socket outside that folder), started with `pg_ctl` as the unprivileged `postgres` user
/// when the tests run as root (CI does), and stopped when the test process ends.
///
/// ```swift
/// let server = try await PostgresServer.shared()
/// let database = try await server.makeDatabase()      // a fresh database and role for one test
/// ```
///
/// Speed over durability: `fsync`, `synchronous_commit` and `full_page_writes` are off and `initdb` runs with
/// `--no-sync`. That is fine for a server whose data folder is deleted after the run; it is never a setting for a
/// real installation.
///
/// TLS: the server has `ssl = on` with a throwaway self-signed certificate for `localhost` only
/// (``certificate``, also its own CA), so a client connecting to `localhost` with that CA verifies, and one
/// connecting to `127.0.0.1` sees a name mismatch. `PostgresServer(tls: false)` makes a server without TLS.
public final class PostgresServer: @unchecked Sendable {
    /// The superuser (bootstrap role); its password is ``superuserPassword`` (SCRAM over TCP only).
    public static let superuser = "postgres"
    public let superuserPassword = "super-" + UUID().uuidString.prefix(12).lowercased()
    public let host = "127.0.0.1"
    public let port: Int
    public let root: URL
    /// The server's certificate (self-signed, CN and SAN `localhost`), `nil` without TLS.
    public let certificate: URL?
    private let dataFolder: URL
    private let binaries: URL
    private let asPostgresUser: Bool
    private var running = false
    private let lock = NSLock()
    private var databaseCounter = 0

    /// The server every suite of this process shares, started on first use and stopped at exit.
    public static func shared() async throws -> PostgresServer { try await SharedServer.instance.server() }

    /// Prepares a data folder and a configuration (nothing runs yet; see ``start()``). `durable`: keep
    /// PostgreSQL's own `fsync`, `synchronous_commit` and `full_page_writes` (benchmarks compare it with SQLite,
    /// which syncs every commit).
    public init(tls: Bool = true, durable: Bool = false) throws {
        guard let binaries = Self.findBinaries() else {
            throw PostgresServerFailure("no PostgreSQL server binaries (apt-get install postgresql)")
        }
        let asPostgresUser = getuid() == 0
        let root = URL(fileURLWithPath: "/tmp/mb-pg-\(UUID().uuidString.prefix(10).lowercased())")
        let dataFolder = root.appendingPathComponent("data")
        self.binaries = binaries
        self.asPostgresUser = asPostgresUser
        self.root = root
        self.dataFolder = dataFolder
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        // The watchdog, from the first moment the folder exists: a detached shell (own session, no descriptors
        // of this process, not waited for) that waits for this process to end, then stops the server (if it
        // runs) and removes the folder. A test run killed mid-initdb or mid-test leaves nothing behind.
        let stopCommand = Self.stopArguments(binaries: binaries, dataFolder: dataFolder,
                                             asPostgresUser: asPostgresUser).map { "'\($0)'" }.joined(separator: " ")
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stopCommand) >/dev/null 2>&1; "
            + "rm -rf '\(root.path)'"
        _ = try Self.spawn(["/bin/sh", "-c", script], output: "/dev/null", wait: false)
        port = try Self.freePort()
        let passwordFile = root.appendingPathComponent("superuser-password")
        try "\(superuserPassword)\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        if tls {
            let certificate = root.appendingPathComponent("server.crt")
            _ = try Shell.run("openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", root.appendingPathComponent("server.key").path, "-out", certificate.path, "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                "-addext", "basicConstraints=critical,CA:TRUE",
            ])
            self.certificate = certificate
        } else {
            certificate = nil
        }
        if asPostgresUser {
            _ = try Shell.run("chown", ["-R", "postgres:postgres", root.path])
        }
        try runAsServerUser(binaries.appendingPathComponent("initdb").path, [
            "-D", dataFolder.path, "-U", Self.superuser, "--pwfile", passwordFile.path, "--auth=scram-sha-256",
            "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        ])
        var settings = """
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(root.path)'
            max_connections = 300
            log_min_messages = warning
            """
        if !durable { settings += "\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off" }
        if tls {
            settings += "\nssl = on\nssl_cert_file = '\(root.path)/server.crt'"
                + "\nssl_key_file = '\(root.path)/server.key'"
        }
        try appendToFile(dataFolder.appendingPathComponent("postgresql.conf"), settings + "\n")
        // Password (SCRAM) over loopback TCP only; the Unix socket in `root` is for the server user alone.
        try Data("""
            local all postgres peer
            host all all 127.0.0.1/32 scram-sha-256

            """.utf8).write(to: dataFolder.appendingPathComponent("pg_hba.conf"))
        if asPostgresUser { _ = try Shell.run("chown", ["-R", "postgres:postgres", root.path]) }
    }

    deinit { stop() }

    /// Starts the server and waits (`pg_ctl -w`, at most 60 s) until it accepts connections. The watchdog started
    /// in `init` stops it should this process die without running ``stop()``.
    public func start() throws {
        try runAsServerUser(binaries.appendingPathComponent("pg_ctl").path, [
            "-D", dataFolder.path, "-l", root.appendingPathComponent("server.log").path, "-w", "-t", "60", "start",
        ])
        lock.withLock { running = true }
    }

    /// Stops the server (immediate shutdown: nothing of it is kept) and removes its folder.
    public func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        if wasRunning {
            _ = try? Self.spawn(stopArguments, output: root.appendingPathComponent("ctl.log").path, wait: true)
        }
        try? FileManager.default.removeItem(at: root)
    }

    /// Runs SQL through `psql` as the superuser (over TCP, as any client), on `database`; returns what it printed
    /// (unaligned, tuples only). Throws with psql's error text when a statement fails.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try Shell.run("psql", [
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", Self.superuser,
            "-d", database, "-c", sql,
        ], environment: ["PGPASSWORD": superuserPassword, "PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "10"])
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// A new empty database owned by a new login role (the gateway's role in a test), with that role's password
    /// in a file of mode 0600.
    public func makeDatabase() async throws -> TestDatabase {
        let number = lock.withLock { () -> Int in
            databaseCounter += 1
            return databaseCounter
        }
        let suffix = "\(number)_\(UUID().uuidString.prefix(6).lowercased())"
        let database = TestDatabase(
            server: self, name: "mb_test_\(suffix)", user: "mb_gateway_\(suffix)",
            password: "pw-" + UUID().uuidString.lowercased(),
            passwordFile: root.appendingPathComponent("password-\(suffix)"))
        try await offCooperativePool { [self] in
            try psql("CREATE ROLE \(database.user) LOGIN PASSWORD '\(database.password)'")
            // PostgreSQL 15's `public` schema belongs to `pg_database_owner`: this role may create in it.
            try psql("CREATE DATABASE \(database.name) OWNER \(database.user)")
        }
        try "\(database.password)\n".write(to: database.passwordFile, atomically: true, encoding: .utf8)
        chmod(database.passwordFile.path, 0o600)
        return database
    }

    private var stopArguments: [String] {
        Self.stopArguments(binaries: binaries, dataFolder: dataFolder, asPostgresUser: asPostgresUser)
    }

    private static func stopArguments(binaries: URL, dataFolder: URL, asPostgresUser: Bool) -> [String] {
        let pgctl = [binaries.appendingPathComponent("pg_ctl").path, "-D", dataFolder.path, "-m", "immediate",
                     "-w", "stop"]
        return asPostgresUser ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + pgctl : pgctl
    }

    /// Runs a server program (initdb, pg_ctl) as the server user and waits for it. Output goes to `ctl.log` in
    /// ``root``, quoted in the error when the program fails.
    private func runAsServerUser(_ tool: String, _ arguments: [String]) throws {
        let command = asPostgresUser ? ["/usr/sbin/runuser", "-u", "postgres", "--", tool] + arguments
            : [tool] + arguments
        let log = root.appendingPathComponent("ctl.log").path
        let status = try Self.spawn(command, output: log, wait: true)
        guard status == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw PostgresServerFailure("\(URL(fileURLWithPath: tool).lastPathComponent) exited \(status): "
                + String(text.suffix(2000)))
        }
    }

    /// Starts `command` detached (``DetachedSpawn``, in a session of its own) with stdout/stderr appended to
    /// `output`. Returns the exit status when `wait`, else 0 at once.
    static func spawn(_ command: [String], output: String, wait: Bool) throws -> Int32 {
        guard let child = DetachedSpawn.start(command, output: output, newSession: true) else {
            throw PostgresServerFailure("cannot start \(command[0])")
        }
        guard wait else { return 0 }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED/WEXITSTATUS are macros Swift does not import.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    private func appendToFile(_ file: URL, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Debian's versioned folder (the newest of /usr/lib/postgresql/N/bin), else `initdb` on PATH.
    private static func findBinaries() -> URL? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions {
            let folder = URL(fileURLWithPath: "\(base)/\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("initdb").path) {
                return folder
            }
        }
        return Shell.which("initdb").map { URL(fileURLWithPath: $0).deletingLastPathComponent() }
    }

    /// A port the kernel just handed out for 127.0.0.1 (bound to port 0, then closed).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresServerFailure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw PostgresServerFailure("bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// One test's database on a ``PostgresServer``: its name, owner role and the owner's password (and its file).
public struct TestDatabase: Sendable {
    public let server: PostgresServer
    public let name: String
    public let user: String
    public let password: String
    public let passwordFile: URL
}

public struct PostgresServerFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Starts the shared server once per process; later callers wait for the same start. Stopped at exit (`atexit`)
/// and, should the process die, by the server's watchdog.
private actor SharedServer {
    static let instance = SharedServer()
    private var starting: Task<PostgresServer, any Error>?

    func server() async throws -> PostgresServer {
        if let starting { return try await starting.value }
        let task = Task {
            try await offCooperativePool { () -> PostgresServer in
                let server = try PostgresServer()
                try server.start()
                SharedServerHolder.server = server
                atexit { SharedServerHolder.server?.stop() }
                return server
            }
        }
        starting = task
        return try await task.value
    }
}

private enum SharedServerHolder {
    nonisolated(unsafe) static var server: PostgresServer?
}
