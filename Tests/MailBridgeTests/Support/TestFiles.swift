import Foundation

/// The package's root folder (for `Config/`, `systemd/`, `scripts/`), found from this file's path.
let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // Support
    .deletingLastPathComponent()  // MailBridgeTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

/// Reads a file of the package as UTF-8.
func packageFile(_ relativePath: String) throws -> String {
    try String(contentsOf: packageRoot.appendingPathComponent(relativePath), encoding: .utf8)
}

/// A unique temporary folder, removed by `remove()`.
struct TemporaryFolder {
    let url: URL
    var path: String { url.path }

    init() throws {
        // Short paths: unix socket names must fit in 108 octets.
        url = URL(fileURLWithPath: "/tmp/mbt-\(UUID().uuidString.prefix(13))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }
}

/// Runs an executable and returns its exit status and combined output. Bounded by `timeout` seconds.
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 120,
    input: String? = nil
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let inputPipe = input.map { _ in Pipe() }
    if let inputPipe { process.standardInput = inputPipe }
    try process.run()
    if let inputPipe, let input {
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
    }
    let deadline = Date().addingTimeInterval(timeout)
    var output = Data()
    let reader = pipe.fileHandleForReading
    // Read until EOF (the child closed the pipe) so a chatty child cannot block on a full pipe.
    while true {
        let chunk = reader.availableData
        if chunk.isEmpty { break }
        output.append(chunk)
        if Date() > deadline { process.terminate(); break }
    }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// The first executable named `name` in the usual system folders.
func findExecutable(_ name: String) -> String? {
    for folder in ["/usr/bin", "/bin", "/usr/sbin", "/usr/local/bin"] {
        let candidate = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}
