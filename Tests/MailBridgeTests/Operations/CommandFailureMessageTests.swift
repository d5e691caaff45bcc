import Foundation
import NIOCore
import NIOPosix
import StorePostgres
import TestSupport
import Testing

@testable import MailBridge

/// Issue 22 (administrators): no internal error text reaches the user, and every failure names what to do. Real
/// failures through the built `mailbridge` binary, each checked for its plain sentence and for the absence of
/// library dumps (type names, source locations, errno and SQLite numbers, NSError text).
@Suite(.serialized) struct CommandFailureMessageTests {
    /// Text that only an internal error description would contain.
    static let internalMarkers = [
        "Error(", "Error.", "Error Domain", "errno", ".swift:", "SQLite", "NSCocoa", "IOError", "PGPError",
        "ThreadStoreError", "RecoveryError", "Code=",
    ]

    static func expectPlain(_ output: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for marker in internalMarkers {
            #expect(!output.contains(marker), "internal text \(marker) in:\n\(output)", sourceLocation: sourceLocation)
        }
    }

    @Test func adminFailuresAreSentencesWithANextStep() throws {
        let binary = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        let folder = try TemporaryFolder()
        let data = folder.path + "/data"
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", data + "/gnupg", "--kill", "all"], allowFailure: true)
            folder.remove()
        }
        func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let result = try runProcess(binary, arguments)
            print("$ mailbridge \(arguments.joined(separator: " "))\n\(result.output)")
            return result
        }
        let embedded = ["--embedded", "--data-dir", data]
        let first = try run(["queue", "list"] + embedded)
        #expect(first.status == 0, "\(first.output)")

        // backup to an existing file: said plainly, the file untouched.
        let existing = try folder.write("existing.backup", "keep me")
        let overwrite = try run(["backup", "--out", existing] + embedded)
        #expect(overwrite.status == 1)
        #expect(overwrite.output.contains("\(existing) exists: a backup never overwrites a file; choose a new name"))
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
        Self.expectPlain(overwrite.output)

        // backup into a folder that does not exist: the target named, not a temporary name.
        let nowhere = folder.path + "/no/such/folder/mailbridge.backup"
        let missingFolder = try run(["backup", "--out", nowhere] + embedded)
        #expect(missingFolder.status == 1)
        #expect(missingFolder.output.contains("cannot create \(nowhere): No such file or directory; check the path, "
            + "the free space and the permissions, then run it again"), "\(missingFolder.output)")
        #expect(!missingFolder.output.contains(".partial-"))
        Self.expectPlain(missingFolder.output)

        // An unknown thread: what to run to find the right ID.
        let unknown = try run(["thread", "show", String(repeating: "a", count: 32)] + embedded)
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("there is no thread with this ID: list them with `mailbridge threads list`"),
                "\(unknown.output)")
        Self.expectPlain(unknown.output)

        // A master key that does not open the store: which key to use.
        let keyFile = data + "/master.key"
        let key = try Data(contentsOf: URL(fileURLWithPath: keyFile))
        try Data((0..<32).map { UInt8($0) }).write(to: URL(fileURLWithPath: keyFile))
        let wrongKey = try run(["queue", "list"] + embedded)
        try key.write(to: URL(fileURLWithPath: keyFile))
        #expect(wrongKey.status == 1)
        #expect(wrongKey.output.contains("cannot open the installation: the master key does not open the store: use "
            + "the key the store was sealed with"), "\(wrongKey.output)")
        Self.expectPlain(wrongKey.output)

        // A data folder that is a file.
        let notAFolder = try run(["queue", "list", "--embedded", "--data-dir", existing])
        #expect(notAFolder.status == 1)
        #expect(notAFolder.output.contains("\(existing) exists and is not a folder: move it away or correct the path"),
                "\(notAFolder.output)")
        Self.expectPlain(notAFolder.output)

        // restore with a master key file that is not there.
        let restore = try run(["restore", "--from", existing, "--data-dir", folder.path + "/restored", "--master-key",
                               folder.path + "/missing.key"])
        #expect(restore.status == 1)
        #expect(restore.output.contains("restore: the master key \(folder.path)/missing.key cannot be read: give "
            + "--master-key the key file the backup was written with"), "\(restore.output)")
        Self.expectPlain(restore.output)

        // An invalid configuration file: the problem and the command that checks it.
        let config = try folder.write("broken.toml", "[smtp]\nport = \"x\"\n")
        let broken = try run(["queue", "list", "--config", config])
        #expect(broken.status == 3)
        #expect(broken.output.contains("fix the configuration and check it with `mailbridge check-config --config "
            + "\(config)`"), "\(broken.output)")
        Self.expectPlain(broken.output)
    }

    /// `serve` on a port another program holds: the listener, the address and what to do.
    @Test func aPortInUseNamesTheListenerAndWhatToDo() async throws {
        let binary = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        let folder = try TemporaryFolder()
        let data = folder.path + "/data"
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer {
            holder.close(promise: nil)
            _ = try? Shell.run("gpgconf", ["--homedir", data + "/gnupg", "--kill", "all"], allowFailure: true)
            folder.remove()
        }
        let port = try #require(holder.localAddress?.port)
        let result = try runProcess(binary, [
            "serve", "--embedded", "--data-dir", data, "--smtp-port", "\(port)",
            "--web-port", "\(try FreePort.find())", "--metrics-port", "\(try FreePort.find())",
        ])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("mailbridge serve: the SMTP listener cannot listen on 127.0.0.1:\(port): the "
            + "address is already in use"), "\(result.output)")
        #expect(result.output.contains("stop the other program or change the port"))
        Self.expectPlain(result.output.split(separator: "\n").filter { $0.hasPrefix("mailbridge serve:") }
            .joined(separator: "\n"))
    }

    /// The mapping itself, for errors a test cannot easily provoke through the binary.
    @Test func libraryErrorsBecomeSentences() {
        let cases: [(any Error, String)] = [
            (POSIXError(.ENOSPC), "free disk space"),
            (IOError(errnoCode: EACCES, reason: "open"), "run the command as root or as the service user"),
            (CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: "/x/y"]), "/x/y: no such file"),
            (CancellationError(), "run it again"),
            (NodeNameInUse(node: "node-a"), "holds node-id \"node-a\""),
            (NodeNameLost(), "took over this node-id"),
        ]
        for (error, phrase) in cases {
            let message = FailureExplanation.message(for: error)
            #expect(message.contains(phrase), "\(message)")
            Self.expectPlain(message)
        }
        struct Strange: Error {}
        #expect(FailureExplanation.message(for: Strange()).hasPrefix("an unexpected internal failure stopped the "
            + "command; run it again"))
    }
}
