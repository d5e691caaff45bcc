import Foundation
import MailBridge

#if canImport(Glibc)
import Glibc
#endif

/// Runs a real client program (openssl, swaks, python3) with a time limit; returns exit status and output.
enum ExternalProcess {
    struct Result {
        var status: Int32
        var output: String
    }

    static func run(
        _ executable: String,
        _ arguments: [String],
        timeout: Duration = .seconds(60)
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            process.terminate()
        }
        // Blocking reads and waits run on their own thread, never on the cooperative pool the server needs.
        let output = await withCheckedContinuation { (continuation: CheckedContinuation<Data, Never>) in
            let handle = pipe.fileHandleForReading
            Thread {
                // Foundation's readDataToEndOfFile traps on EINTR; read with a plain loop instead.
                var data = Data()
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = read(handle.fileDescriptor, &chunk, chunk.count)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    data.append(contentsOf: chunk[0..<count])
                }
                process.waitUntilExit()
                continuation.resume(returning: data)
            }.start()
        }
        watchdog.cancel()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }
}

/// A self-signed certificate for 127.0.0.1/localhost made with `openssl`, in a unique folder.
struct TestCertificate {
    let folder: URL
    var certificatePath: String { folder.appending(path: "cert.pem").path }
    var keyPath: String { folder.appending(path: "key.pem").path }
    var tls: SMTPTLSConfiguration {
        SMTPTLSConfiguration(certificateChainPath: certificatePath, privateKeyPath: keyPath)
    }

    static func make() async throws -> TestCertificate {
        let folder = FileManager.default.temporaryDirectory.appending(path: "mailbridge-cert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let result = try await ExternalProcess.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", folder.appending(path: "key.pem").path, "-out", folder.appending(path: "cert.pem").path,
                "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ]
        )
        guard result.status == 0 else { throw CertificateError(output: result.output) }
        return TestCertificate(folder: folder)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    struct CertificateError: Error { var output: String }
}
