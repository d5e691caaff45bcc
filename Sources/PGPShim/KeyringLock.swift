#if canImport(Glibc)
import Glibc
#endif

/// A readers–writer lock around one GnuPG home (issue 28): gpg rewrites `pubring.kbx` on an import (a new file
/// renamed into place), and a gpg reading the keyring at that moment fails (ENOENT, "No secret key", a missing
/// public key), which would end as a final verdict on a client's message. Operations that change the keyring
/// (import, key generation) hold it exclusively; every other operation holds it shared, for the whole gpgme call.
/// Writer-preferring, so a steady stream of decryptions cannot starve an import. Blocking: taken only on the
/// PGP thread pool, never on an event loop.
final class KeyringLock: @unchecked Sendable {
    enum Mode { case read, write }

    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        // pthread_rwlockattr_setkind_np(3), a glibc extension: with this kind "writers are preferred".
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func with<T>(_ mode: Mode, _ body: () throws -> T) rethrows -> T {
        switch mode {
        case .read: pthread_rwlock_rdlock(lock)
        case .write: pthread_rwlock_wrlock(lock)
        }
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
