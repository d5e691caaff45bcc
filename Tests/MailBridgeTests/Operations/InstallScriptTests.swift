import Foundation
import Testing

/// Runs `scripts/install` with DESTDIR into a temporary folder and checks what lands where.
@Suite struct InstallScriptTests {
    static let script = packageRoot.appendingPathComponent("scripts/install").path

    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    func install(destination: String, prefix: String? = nil, binary: String) throws -> (Int32, String) {
        var environment = ProcessInfo.processInfo.environment
        environment["DESTDIR"] = destination
        if let prefix { environment["PREFIX"] = prefix } else { environment.removeValue(forKey: "PREFIX") }
        return try runProcess("/bin/bash", [Self.script, "--binary", binary], environment: environment)
    }

    @Test func installsEverythingBelowDestdirAndKeepsAnExistingConfiguration() throws {
        let destination = try TemporaryFolder()
        defer { destination.remove() }
        // Any executable stands in for the release binary.
        let binary = try destination.write("fake-mailbridge", "#!/bin/sh\necho mailbridge\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        let root = destination.path + "/root"

        let (status, output) = try install(destination: root, binary: binary)
        #expect(status == 0, "\(output)")
        let expected: [(String, Int)] = [
            ("/usr/local/bin/mailbridge", 0o755),
            ("/etc/systemd/system/mailbridge.service", 0o644),
            ("/etc/systemd/system/mailbridge-compact.service", 0o644),
            ("/etc/systemd/system/mailbridge-compact.timer", 0o644),
            ("/usr/lib/sysusers.d/mailbridge.conf", 0o644),
            ("/usr/lib/tmpfiles.d/mailbridge.conf", 0o644),
            ("/etc/mailbridge/mailbridge.toml", 0o644),
            ("/etc/mailbridge", 0o755),
            ("/usr/local/share/mailbridge/templates/redirect.de.txt", 0o644),
            ("/usr/local/share/mailbridge/templates/reply-waiting.en.txt", 0o644),
            ("/usr/local/share/doc/mailbridge/mailbridge.example.toml", 0o644),
            ("/usr/local/share/doc/mailbridge/exit-codes.md", 0o644),
        ]
        for (path, expectedMode) in expected {
            #expect(FileManager.default.fileExists(atPath: root + path), "\(path) missing")
            #expect(try mode(root + path) == expectedMode, "\(path) has the wrong mode")
        }
        let installedBinary = try String(contentsOfFile: root + "/usr/local/bin/mailbridge", encoding: .utf8)
        #expect(installedBinary.contains("echo mailbridge"))
        #expect(try String(contentsOfFile: root + "/etc/mailbridge/mailbridge.toml", encoding: .utf8)
                == packageFile("Config/mailbridge.example.toml"))
        #expect(try String(contentsOfFile: root + "/etc/systemd/system/mailbridge.service", encoding: .utf8)
                == packageFile("systemd/mailbridge.service"))
        // Nothing was written outside DESTDIR's tree (only /root and the fake binary in the folder).
        #expect(try FileManager.default.contentsOfDirectory(atPath: destination.path).sorted()
                == ["fake-mailbridge", "root"])

        // A second run keeps the admin's configuration.
        try "# edited by the admin\n".write(
            toFile: root + "/etc/mailbridge/mailbridge.toml", atomically: true, encoding: .utf8)
        let (again, againOutput) = try install(destination: root, binary: binary)
        #expect(again == 0, "\(againOutput)")
        #expect(try String(contentsOfFile: root + "/etc/mailbridge/mailbridge.toml", encoding: .utf8)
                == "# edited by the admin\n")
    }

    @Test func prefixChangesTheBinaryPathInTheUnit() throws {
        let destination = try TemporaryFolder()
        defer { destination.remove() }
        let binary = try destination.write("fake-mailbridge", "#!/bin/sh\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        let (status, output) = try install(destination: destination.path + "/root", prefix: "/usr", binary: binary)
        #expect(status == 0, "\(output)")
        let unit = try String(
            contentsOfFile: destination.path + "/root/etc/systemd/system/mailbridge.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/mailbridge serve"))
        let compact = try String(
            contentsOfFile: destination.path + "/root/etc/systemd/system/mailbridge-compact.service", encoding: .utf8)
        #expect(compact.contains("ExecStart=/usr/bin/mailbridge store compact"))
        #expect(FileManager.default.isExecutableFile(atPath: destination.path + "/root/usr/bin/mailbridge"))
    }

    @Test func refusesAMissingBinaryAndUnknownArguments() throws {
        let destination = try TemporaryFolder()
        defer { destination.remove() }
        let (missing, _) = try install(destination: destination.path, binary: destination.path + "/nothing")
        #expect(missing == 1)
        let (usage, _) = try runProcess("/bin/bash", [Self.script, "--frobnicate"])
        #expect(usage == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: destination.path).isEmpty)
    }
}
