import Foundation
import Testing

/// Checks `systemd/mailbridge.service` with systemd's own sandbox analysis. `--offline=true` reads the unit file
/// alone: it needs no running systemd (so it works in a container) and does not look at the ExecStart= binary,
/// so the unit can be analysed before anything is installed.
@Suite struct SystemdUnitSecurityTests {
    static let unit = packageRoot.appendingPathComponent("systemd/mailbridge.service").path
    static let maximumExposure = 1.5

    @Test func exposureScoreIsAtMostOnePointFive() throws {
        let analyze = try #require(
            findExecutable("systemd-analyze"), "systemd-analyze missing: scripts/install-deps --test installs systemd")
        let result = try runProcess(analyze, ["security", "--offline=true", "--no-pager", Self.unit])
        #expect(result.status == 0, "\(result.output)")
        // "→ Overall exposure level for mailbridge.service: 1.5 OK 🙂"
        let line = try #require(
            result.output.split(separator: "\n").first { $0.contains("Overall exposure level for mailbridge.service") },
            "\(result.output)")
        let scoreText = try #require(line.split(separator: ":").last?.split(separator: " ").first)
        let score = try #require(Double(scoreText))
        print("systemd-analyze security --offline=true systemd/mailbridge.service: exposure \(score)")
        #expect(score <= Self.maximumExposure, "\(result.output)")

        // The same bound through systemd's own comparison: --threshold takes the exposure times ten.
        let bounded = try runProcess(
            analyze, ["security", "--offline=true", "--no-pager", "--threshold=15", Self.unit])
        #expect(bounded.status == 0, "exposure above 1.5 according to systemd-analyze --threshold")
    }

    @Test func unitHasTheHardeningTheIssueAsksFor() throws {
        let text = try packageFile("systemd/mailbridge.service")
        for directive in [
            "Type=notify", "WatchdogSec=", "User=mailbridge", "StateDirectory=mailbridge", "ProtectSystem=strict",
            "PrivateTmp=yes", "PrivateDevices=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
            "AmbientCapabilities=CAP_NET_BIND_SERVICE", "SystemCallFilter=@system-service",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "MemoryDenyWriteExecute=yes", "LimitCORE=0",
            "UMask=0077", "LoadCredential=mailbridge-master-key:/etc/mailbridge/master.key",
            "ReadWritePaths=/var/lib/mailbridge",
        ] {
            #expect(text.split(separator: "\n").contains { $0.hasPrefix(directive) }, "\(directive)")
        }
    }

    /// MemoryDenyWriteExecute= forbids mappings that are writable and executable. Linux's PR_SET_MDWE prctl
    /// (kernel 6.3+) enforces the same rule and is inherited across fork and exec, so gpg and its agent can be
    /// run under it here without systemd: generate a key, encrypt, decrypt.
    @Test func gpgWorksWithMemoryDenyWriteExecute() throws {
        let python = try #require(findExecutable("python3"), "python3 missing (scripts/install-deps --test)")
        try #require(findExecutable("gpg") != nil, "gpg missing (scripts/install-deps)")
        let home = try TemporaryFolder()
        defer {
            _ = try? runProcess("/usr/bin/gpgconf", ["--kill", "all"], environment: ["GNUPGHOME": home.path])
            home.remove()
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: home.path)
        let script = """
            import ctypes, os, subprocess, sys
            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1
            if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
                print("SKIP prctl(PR_SET_MDWE) unsupported:", os.strerror(ctypes.get_errno())); sys.exit(0)
            assert libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) == PR_MDWE_REFUSE_EXEC_GAIN
            # The policy really is in force: an anonymous writable+executable mapping is refused.
            mmap = libc.mmap; mmap.restype = ctypes.c_void_p
            mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            assert mmap(None, 4096, 0x1 | 0x2 | 0x4, 0x02 | 0x20, -1, 0) in (None, ctypes.c_void_p(-1).value)
            env = dict(os.environ, GNUPGHOME=sys.argv[1])
            def gpg(*args, data=None):
                r = subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args],
                                   env=env, input=data, capture_output=True, timeout=60)
                if r.returncode != 0: print(r.stderr.decode()); sys.exit(1)
                return r.stdout
            gpg("--quick-gen-key", "gateway@example.org", "ed25519", "sign", "never")
            listing = gpg("--with-colons", "--list-keys").decode().splitlines()
            fpr = [l.split(":")[9] for l in listing if l.startswith("fpr")][0]
            gpg("--quick-add-key", fpr, "cv25519", "encr", "never")
            secret = gpg("--trust-model", "always", "--armor", "--encrypt", "--sign", "-r", fpr, data=b"MDWE test")
            print("DECRYPTED", gpg("--decrypt", data=secret).decode())
            """
        let result = try runProcess(python, ["-c", script, home.path])
        #expect(result.status == 0, "\(result.output)")
        if result.output.hasPrefix("SKIP") {
            print("gpg under MemoryDenyWriteExecute not checked: \(result.output)")
        } else {
            #expect(result.output.contains("DECRYPTED MDWE test"), "\(result.output)")
        }
    }
}
