import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The unit's `SystemCallFilter=` must not break what the service runs. systemd is not running here, so the test
/// records the system calls with strace and compares them with the filter as `systemd-analyze syscall-filter`
/// expands it: gpg and gpg-agent (key generation, sign+encrypt, decrypt) and the mailbridge binary's start-up.
/// Both run as an unprivileged user, as the service does (SQLite inside gpg calls fchown only as root).
@Suite struct SystemCallFilterTests {
    /// Expands `@group`s recursively into system call names.
    static func expand(_ item: String, analyze: String, depth: Int = 0) throws -> Set<String> {
        guard item.hasPrefix("@") else { return [item] }
        guard depth < 8 else { return [] }
        let result = try runProcess(analyze, ["syscall-filter", "--no-pager", item], timeout: 30)
        #expect(result.status == 0, "\(result.output)")
        var names: Set<String> = []
        for line in result.output.split(separator: "\n").dropFirst() {
            let word = line.trimmingCharacters(in: .whitespaces)
            guard !word.isEmpty, !word.hasPrefix("#") else { continue }
            names.formUnion(try expand(word, analyze: analyze, depth: depth + 1))
        }
        return names
    }

    /// The system calls the unit allows, as systemd merges the lines of an allow-list filter: in order, an allow
    /// line adds its calls and a `~` line removes its calls (so a later allow line can give one back).
    static func allowedSystemCalls(analyze: String) throws -> Set<String> {
        let unit = try packageFile("systemd/mailbridge.service")
        var allowed: Set<String> = []
        for line in unit.split(separator: "\n") where line.hasPrefix("SystemCallFilter=") {
            var value = line.dropFirst("SystemCallFilter=".count)
            let deny = value.hasPrefix("~")
            if deny { value = value.dropFirst() }
            for item in value.split(separator: " ") {
                let names = try expand(String(item), analyze: analyze)
                if deny { allowed.subtract(names) } else { allowed.formUnion(names) }
            }
        }
        return allowed
    }

    /// System call names in an `strace -f -o FILE` trace.
    static func systemCalls(inTrace path: String) throws -> Set<String> {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var names: Set<String> = []
        for line in text.split(separator: "\n") {
            // "1234  openat(AT_FDCWD, …) = 3"; skip "+++ exited", "--- SIGCHLD", "<... resumed>" lines.
            let call = line.drop { $0.isNumber }.drop { $0 == " " }
            guard let paren = call.firstIndex(of: "(") else { continue }
            let name = call[..<paren]
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            // strace names numbers that are no system call at all "syscall_0x…" (seen: 0xfffffffffffffff6 and
            // 0x6e9a, sporadically, when it catches a thread between stops). The kernel answers such numbers
            // with ENOSYS, and SystemCallFilter= cannot list them, so they say nothing about the filter.
            if name.hasPrefix("syscall_0x"), let number = UInt64(name.dropFirst("syscall_0x".count), radix: 16),
                number >= 0x1000
            {
                continue
            }
            names.insert(String(name))
        }
        return names
    }

    @Test func traceParserSkipsOnlyNumbersThatAreNoSystemCall() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let trace = try folder.write("trace", """
            101   openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3
            101   syscall_0xfffffffffffffff6(0x1, 0x2) = -1 ENOSYS (Function not implemented)
            102   syscall_0x1b6(0x1) = -1 ENOSYS (Function not implemented)
            102   +++ exited with 0 +++

            """)
        #expect(try Self.systemCalls(inTrace: trace) == ["openat", "syscall_0x1b6"])
    }

    @Test func gpgAndMailbridgeStayInsideTheSystemCallFilter() throws {
        let analyze = try #require(findExecutable("systemd-analyze"), "systemd-analyze missing (install-deps --test)")
        let strace = try #require(findExecutable("strace"), "strace missing (scripts/install-deps --test)")
        let mailbridge = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        let allowed = try Self.allowedSystemCalls(analyze: analyze)
        #expect(allowed.contains("openat") && !allowed.contains("mount") && !allowed.contains("ptrace"))

        let folder = try TemporaryFolder()
        defer {
            _ = try? runProcess("/usr/bin/gpgconf", ["--kill", "all"], environment: ["GNUPGHOME": folder.path + "/gnupg"])
            folder.remove()
        }
        let configCopy = try folder.write("mailbridge.toml", try packageFile("Config/mailbridge.example.toml"))
        // A copy inside the folder, so the unprivileged user can run it wherever the checkout lives.
        let mailbridgeCopy = folder.path + "/mailbridge"
        try FileManager.default.copyItem(atPath: mailbridge, toPath: mailbridgeCopy)
        let script = try folder.write(
            "run.sh",
            """
            set -eu
            export GNUPGHOME="$1/gnupg" HOME="$1"
            mkdir -m 700 "$GNUPGHOME"
            g() { gpg --batch --pinentry-mode loopback --passphrase '' "$@"; }
            g --quick-gen-key gateway@example.org ed25519 sign never 2>/dev/null
            fpr=$(gpg --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}')
            g --quick-add-key "$fpr" cv25519 encr never
            echo test | g --trust-model always -e -s -r "$fpr" | g -d >/dev/null 2>&1
            gpgconf --kill all
            "$2" check-config --config "$3" >/dev/null

            """)
        var arguments = ["120"]
        if geteuid() == 0 {
            // The service's user is unprivileged; run as nobody in a folder nobody owns.
            _ = chown(folder.path, 65534, 65534)
            _ = chmod(folder.path, 0o700)
            _ = chmod(script, 0o755)
            _ = chmod(configCopy, 0o644)
            _ = chmod(mailbridgeCopy, 0o755)
            arguments += ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        }
        let trace = folder.path + "/trace"
        arguments += [strace, "-f", "-qq", "-o", trace, "/bin/sh", script, folder.path, mailbridgeCopy, configCopy]
        let result = try runProcess("/usr/bin/timeout", arguments, timeout: 150)
        #expect(result.status == 0, "\(result.output)")

        let used = try Self.systemCalls(inTrace: trace)
        #expect(used.count > 30, "the trace looks empty: \(used.sorted())")
        #expect(used.contains("execve") && used.contains("openat"))
        let outside = used.subtracting(allowed)
        print("system calls used: \(used.count), outside the unit's SystemCallFilter: \(outside.sorted())")
        #expect(outside.isEmpty, "blocked by SystemCallFilter=: \(outside.sorted())")
    }
}
