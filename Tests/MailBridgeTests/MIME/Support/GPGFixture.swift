import Foundation

/// Real gpg in a throwaway GNUPGHOME: generates a key, encrypts (ASCII armor), kills the agent, removes the home.
enum GPGFixture {
    struct Failure: Error, CustomStringConvertible {
        let step: String
        var description: String { "gpg failed at \(step)" }
    }

    /// Encrypts `plaintext` to a fresh throwaway key and returns the armored message.
    static func encryptArmored(_ plaintext: [UInt8]) throws -> [UInt8] {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mb-gpg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: home, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        defer {
            _ = try? run(["gpgconf", "--kill", "all"], home: home)
            try? FileManager.default.removeItem(at: home)
        }
        _ = try run(
            [
                "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                "Fixture <fixture@example.org>", "future-default", "default", "never",
            ], home: home)
        return try run(
            [
                "gpg", "--batch", "--trust-model", "always", "--armor", "--encrypt", "--recipient",
                "fixture@example.org",
            ], home: home, input: plaintext)
    }

    /// One armored message per test process (key generation is the slow part).
    static let shared: Result<[UInt8], any Error> = Result { try encryptArmored(Array("inner canary text\n".utf8)) }

    private static func run(_ arguments: [String], home: URL, input: [UInt8] = []) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GNUPGHOME"] = home.path
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(step: arguments.prefix(3).joined(separator: " ")) }
        return [UInt8](out)
    }
}
