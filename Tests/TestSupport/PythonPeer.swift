public import Foundation

/// A helper server written in Python for tests (an SMTP sink, a scripted raw TCP peer, …): the script is written
/// into a fresh temporary folder and started with `python3 SCRIPT ARGUMENTS… FOLDER`. It must print the port it
/// listens on (127.0.0.1) as its first line of standard output and exit when its standard input closes, so it
/// never outlives the test process. Its standard error goes to `FOLDER/stderr.log`.
public final class PythonPeer: @unchecked Sendable {
    /// The temporary folder the script runs in (removed by ``stop()``).
    public let directory: URL
    /// The port the script reported.
    public let port: Int
    private let process: Process
    private let input: Pipe

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `script` (named `name`.py) and waits for its port line. `interpreter` is the Python to run it with
    /// (a path, e.g. the test virtual environment's `bin/python3`); by default the system's `python3`.
    public init(script: String, name: String, arguments: [String], interpreter: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let scriptFile = directory.appendingPathComponent("\(name).py")
        try script.write(to: scriptFile, atomically: true, encoding: .utf8)
        process = Process()
        // Debian packages (aiosmtpd, …) are installed for the system interpreter.
        let python = interpreter
            ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, scriptFile.path] + arguments + [directory.path]
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        let log = directory.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()

        var line = Data()
        while !line.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            process.terminate()
            throw StartError(description: "\(name) did not start: \(text)")
        }
        self.port = port
    }

    /// Waits until the script has exited by itself.
    public func waitUntilExit() { process.waitUntilExit() }

    /// Closes the script's standard input, waits for it to exit and removes its folder.
    public func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
