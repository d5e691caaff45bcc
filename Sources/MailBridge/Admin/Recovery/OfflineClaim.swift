// Security: holds the same lock a running gateway holds for its whole life (PGPShim `HomeClaim`:
// `<gnupg-home>/.mailbridge-daemon.lock`), so an offline operation never runs beside a gateway and no gateway
// starts while it runs. Reads and writes nothing but the lock file.

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An offline command's hold on the installation: refused while a gateway runs; a gateway started meanwhile
/// fails to claim its GnuPG home and stops with a clear error.
///
/// ```swift
/// let claim = try OfflineClaim.take(gnupgHome: configuration.keys.gnupgHome.string)
/// defer { claim.release() }
/// ```
public final class OfflineClaim: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { close(descriptor) }

    /// Gives the lock up (also on release of this value, or when the process dies, even by `kill -9`).
    public func release() { _ = flock(descriptor, LOCK_UN) }

    /// Takes the daemon lock without waiting.
    /// - Throws: ``RecoveryError/Code/gatewayRunning`` if a gateway (or another offline command) holds it.
    public static func take(gnupgHome: String) throws(RecoveryError) -> OfflineClaim {
        let path = gnupgHome + "/.mailbridge-daemon.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw RecoveryError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            throw busy
                ? RecoveryError(.gatewayRunning,
                                "the gateway is running (it holds \(path)): stop it first (systemctl stop mailbridge)")
                : RecoveryError(.io, "cannot lock \(path)")
        }
        return OfflineClaim(descriptor: fd)
    }
}
