public import Foundation

/// Runs a real program (gpg, sqop, rnp …) and collects its output. Used to produce test messages with
/// implementations independent of PGPShim.
public struct Shell {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var result: Result
        public var description: String { "\(command) exited \(result.status): \(result.stderr)" }
    }

    public static func which(_ tool: String) -> String? {
        if tool.contains("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    @discardableResult
    public static func run(_ tool: String, _ arguments: [String], stdin: [UInt8] = [], environment: [String: String] = [:],
                    allowFailure: Bool = false) throws -> Result {
        guard let path = which(tool) else { throw Failure(command: tool, result: Result(status: 127, stdout: [], stderr: "not installed")) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Write stdin and drain both outputs concurrently so no pipe fills up.
        let writer = Thread { input.fileHandleForWriting.write(Data(stdin)); try? input.fileHandleForWriting.close() }
        writer.start()
        let errorBox = DataBox()
        let errorReader = Thread { errorBox.data = errors.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errorReader.isExecuting || !errorReader.isFinished { usleep(1000) }
        // Closed now, not whenever the pipes are freed: a test process runs thousands of these, and descriptors
        // above 1023 crash libraries that still use select(2) (libetpan's connect, FD_SETSIZE).
        try? output.fileHandleForReading.close()
        try? errors.fileHandleForReading.close()
        let result = Result(status: process.terminationStatus, stdout: Array(out),
                            stderr: String(decoding: errorBox.data, as: UTF8.self))
        if !allowFailure && result.status != 0 {
            throw Failure(command: ([tool] + arguments).joined(separator: " "), result: result)
        }
        return result
    }
}

private final class DataBox: @unchecked Sendable { var data = Data() }

extension Shell {
    /// A process with the least overhead: stdin written on the calling thread, stdout collected, stderr
    /// discarded. For benchmark baselines (one `gpg --decrypt` per message), where `run`'s extra reader threads
    /// would be measured too. Throws ``Failure`` on a non-zero exit. Only for small inputs: stdin is written
    /// before stdout is read.
    public static func runLean(_ tool: String, _ arguments: [String], stdin: Data = Data()) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        try? output.fileHandleForReading.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(command: tool, result: Result(status: process.terminationStatus, stdout: [], stderr: ""))
        }
        return data
    }
}
