import Foundation
import TestSupport
import Testing

/// Runs the built `mailbridge` executable (built next to the test bundle by `swift build --build-tests`) and
/// checks the documented exit codes.
@Suite struct CommandLineTests {
    static var executable: String? {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var folder = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        // swift-testing on Linux runs `…/debug/MailBridgePackageTests.xctest`; the executable sits beside it.
        for _ in 0..<3 {
            let candidate = folder.appendingPathComponent("mailbridge").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder.deleteLastPathComponent()
        }
        return nil
    }

    func run(_ arguments: String...) throws -> (status: Int32, output: String) {
        let binary = try #require(Self.executable, "the mailbridge executable was not built")
        return try runProcess(binary, arguments)
    }

    @Test func checkConfigExitCodes() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let example = packageRoot.appendingPathComponent("Config/mailbridge.example.toml").path
        let valid = try run("check-config", "--config", example)
        #expect(valid.status == 0, "\(valid.output)")
        #expect(valid.output.contains("configuration is valid"))

        let broken = try folder.write("broken.toml", ConfigurationErrorTests.mailbox + "[smtp]\nprot = 25\n")
        let invalid = try run("check-config", "--config", broken)
        #expect(invalid.status == 3)
        #expect(invalid.output.contains("\(broken):7: smtp.prot: unknown option"))
        #expect(invalid.output.contains("did you mean 'port'?"))

        let json = try run("check-config", "--config", broken, "--json")
        #expect(json.status == 3)
        let document = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect(document?["valid"] as? Bool == false)
        let errors = document?["errors"] as? [[String: Any]]
        #expect(errors?.first?["option"] as? String == "smtp.prot")

        #expect(try run("check-config", "--config", folder.path + "/missing.toml").status == 3)
        #expect(try run("check-config", "--frobnicate").status == 2)
        #expect(try run("no-such-command").status == 2)
    }

    @Test func helpDocumentsTheExitCodes() throws {
        let help = try run("--help")
        #expect(help.status == 0)
        for line in ["0  success", "1  run-time failure", "2  usage error", "3  the configuration file"] {
            #expect(help.output.contains(line), "\(line)")
        }
        let doc = try packageFile("docs/exit-codes.md")
        for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |"] { #expect(doc.contains(code)) }
        #expect(help.output.contains("serve") && help.output.contains("check-config") && help.output.contains("init"))
        #expect(help.output.contains("users") && help.output.contains("tokens"))
        let users = try run("users", "--help")
        #expect(users.status == 0)
        for command in ["add", "list", "fields", "disable", "reset"] { #expect(users.output.contains(command)) }
        let tokens = try run("tokens", "--help")
        for command in ["add", "list", "revoke"] { #expect(tokens.output.contains(command)) }
        #expect(try run("users", "add", "--help").output.contains("--password-stdin"))
    }

    @Test func initCreatesAndThenKeeps() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = folder.path + "/data"
        let config = folder.path + "/etc/mailbridge.toml"
        let first = try run("init", "--data-dir", data, "--config", config)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("created \(folder.path)/etc/master.key"))
        let keyLine = first.output.split(separator: "\n").first { $0.hasPrefix("gateway key beratung@example.org: ") }
        #expect(keyLine != nil, "init prints the new gateway key")
        let second = try run("init", "--data-dir", data, "--config", config)
        #expect(second.status == 0)
        #expect(!second.output.contains("created"))
        #expect(keyLine.map { second.output.contains($0) } == true, "the key is kept, not generated again")
        _ = try? Shell.run("gpgconf", ["--homedir", data + "/gnupg", "--kill", "all"], allowFailure: true)
        #expect(try run("check-config", "--config", config).status == 0)
        #expect(try run("init").status == 2)
        #expect(try run("init", "--data-dir", "relative/path").status == 2)
    }

    /// `serve --embedded` takes its SMTP, web and metrics ports from the command line (so the demo can run beside a
    /// quick-start gateway); they are validated alike and refused without --embedded.
    @Test func serveEmbeddedPortOptions() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = folder.path + "/data"
        let printed = try run("serve", "--embedded", "--data-dir", data, "--smtp-port", "12525", "--web-port", "18080",
                              "--metrics-port", "19465", "--print-config")
        #expect(printed.status == 0, "\(printed.output)")
        func section(_ name: String) -> String {
            printed.output.components(separatedBy: "[\(name)]").dropFirst().first?
                .components(separatedBy: "\n[").first ?? ""
        }
        #expect(section("metrics").contains("port = 19465"), "\(printed.output)")
        #expect(section("web").contains("port = 18080") && section("smtp").contains("port = 12525"))
        let standard = try run("serve", "--embedded", "--data-dir", data, "--print-config")
        #expect(standard.output.components(separatedBy: "[metrics]").last?.contains("port = 9465") == true)

        for port in ["0", "65536", "x"] {
            let refused = try run("serve", "--embedded", "--data-dir", data, "--metrics-port", port)
            #expect(refused.status == 2, "\(port): \(refused.output)")
        }
        #expect(try run("serve", "--embedded", "--data-dir", data, "--metrics-port", "0").output
            .contains("--metrics-port must be 1-65535"))
        let example = packageRoot.appendingPathComponent("Config/mailbridge.example.toml").path
        let withFile = try run("serve", "--config", example, "--metrics-port", "19465")
        #expect(withFile.status == 2 && withFile.output.contains("go with --embedded"), "\(withFile.output)")
        let help = try run("serve", "--help")
        #expect(help.output.contains("--metrics-port") && help.output.contains("--web-port"))
    }

    /// Admin commands reach the installation of `serve --embedded` with the same `--embedded --data-dir`.
    @Test func adminCommandsWorkOnTheEmbeddedDefault() throws {
        let folder = try TemporaryFolder()
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"],
                               allowFailure: true)
            folder.remove()
        }
        let data = folder.path + "/data"
        let listed = try run("threads", "list", "--embedded", "--data-dir", data)
        #expect(listed.status == 0, "\(listed.output)")
        #expect(FileManager.default.fileExists(atPath: data + "/threads.sqlite"))
        let key = try run("keys", "export", "--embedded", "--data-dir", data)
        #expect(key.status == 0 && key.output.contains("BEGIN PGP PUBLIC KEY BLOCK"))
        #expect(try run("threads", "list", "--embedded").status == 2)
        #expect(try run("threads", "list", "--data-dir", data).status == 2)
    }
}
