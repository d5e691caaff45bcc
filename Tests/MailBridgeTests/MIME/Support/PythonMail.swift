import Foundation

/// Runs a Python 3 snippet (with the `email` package) and returns its stdout bytes. Test fixtures are generated
/// at test time so they reflect a real, independent MIME implementation.
enum PythonMail {
    struct Failure: Error, CustomStringConvertible {
        let status: Int32
        let stderr: String
        var description: String { "python3 exited \(status): \(stderr)" }
    }

    /// Runs `script` with `input` on stdin; the script writes bytes to `sys.stdout.buffer`.
    static func run(_ script: String, input: [UInt8] = []) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(status: process.terminationStatus, stderr: String(decoding: err, as: UTF8.self))
        }
        return [UInt8](out)
    }

    /// Builds a message with Python's `email` package. `body` is Python code that sets `msg`
    /// (an `EmailMessage`/`MIMEBase`); the result is serialised with CRLF line ends (policy SMTP).
    static func build(_ body: String, input: [UInt8] = []) throws -> [UInt8] {
        let script = """
            import sys, email, email.policy
            from email.message import EmailMessage
            from email.mime.multipart import MIMEMultipart
            from email.mime.text import MIMEText
            from email.mime.base import MIMEBase
            from email.mime.application import MIMEApplication
            from email.mime.message import MIMEMessage
            from email import charset as _cs
            from email.encoders import encode_7or8bit
            stdin = sys.stdin.buffer.read()
            \(body)
            sys.stdout.buffer.write(msg.as_bytes(policy=msg.policy.clone(linesep="\\r\\n")))
            """
        return try run(script, input: input)
    }

    /// Parses `bytes` with Python's `email` parser (policy default) and runs `inspect`, Python code that reads
    /// `msg` and prints a result; returns the printed text.
    static func inspect(_ bytes: [UInt8], _ inspect: String) throws -> String {
        let script = """
            import sys, email, email.policy
            msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
            \(inspect)
            """
        return String(decoding: try run(script, input: bytes), as: UTF8.self)
    }
}
