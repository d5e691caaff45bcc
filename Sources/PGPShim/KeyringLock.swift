#if canImport(Glibc)
import Glibc
#endif

/// A readers–writer lock around one GnuPG home (issue 28): gpg rewrites `pubring.kbx` on an import (a new file
/// renamed into place), and a gpg reading the keyring at that moment fails (ENOENT, "No secret key", a missing
/// public key), which would end as a final verdict on a client's message. Operations that change the keyring
/// (import, key generation) hold it exclusively; every other operation holds it shared, for the whole gpgme call.
/// Writer-preferring, so a steady stream of decryptions cannot starve an import. Blocking: taken only on the
/// PGP thread pool, never on an event loop.
///
/// Within the process a `pthread_rwlock_t` does this; across processes (the daemon and a `mailbridge keys …`
/// command on the same home) ``HomeFileLock`` does the same with `flock(2)` on two files in the home. The
/// thread lock is taken first, so the process holds at most one writer's file lock at a time.
final class KeyringLock: @unchecked Sendable {
    enum Mode { case read, write }

    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    private let files: HomeFileLock?

    /// `home`: the GnuPG home whose keyring this lock guards across processes (nil: within the process only).
    init(home: String? = nil) {
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        // pthread_rwlockattr_setkind_np(3), a glibc extension: with this kind "writers are preferred".
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        files = home.map(HomeFileLock.init(home:))
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
        let held = files?.acquire(mode)
        defer { held?.release() }
        return try body()
    }
}

/// The cross-process half of ``KeyringLock``: `flock(2)` on `<home>/.mailbridge-keyring.lock` (shared for a
/// reader, exclusive for a writer) behind a turnstile `<home>/.mailbridge-turnstile.lock` that a writer holds
/// exclusively while it waits, so new readers queue behind it (flock alone would let readers starve a writer).
/// Each acquisition opens its own descriptors (`O_CLOEXEC`): flock locks belong to an open file description, so
/// two threads sharing one descriptor would share (and release) one lock. The cost, two `open`s and a few
/// `flock`s, is small beside the gpg process every operation starts. gpg's own `pubring.kbx.lock` (dotlock) only
/// serialises writers; readers do not take it, which is why this lock exists.
struct HomeFileLock: Sendable {
    let keyringPath: String
    let turnstilePath: String

    init(home: String) {
        keyringPath = home + "/.mailbridge-keyring.lock"
        turnstilePath = home + "/.mailbridge-turnstile.lock"
    }

    /// Descriptors held for one operation. If a lock file cannot be opened (a read-only home), the operation runs
    /// under the in-process lock only; gpg itself fails then for anything that writes.
    struct Held {
        fileprivate var descriptors: [Int32]
        func release() {
            for fd in descriptors.reversed() { close(fd) }  // closing the last descriptor releases its lock
        }
    }

    func acquire(_ mode: KeyringLock.Mode) -> Held {
        guard let turnstile = Self.open(turnstilePath) else { return Held(descriptors: []) }
        guard let keyring = Self.open(keyringPath) else {
            close(turnstile)
            return Held(descriptors: [])
        }
        switch mode {
        case .read:
            Self.flockRetrying(turnstile, LOCK_SH)
            Self.flockRetrying(keyring, LOCK_SH)
            close(turnstile)
            return Held(descriptors: [keyring])
        case .write:
            Self.flockRetrying(turnstile, LOCK_EX)
            Self.flockRetrying(keyring, LOCK_EX)
            return Held(descriptors: [turnstile, keyring])
        }
    }

    static func open(_ path: String) -> Int32? {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        return fd >= 0 ? fd : nil
    }

    /// flock(2) "may be interrupted by a signal handler": retried on EINTR.
    static func flockRetrying(_ fd: Int32, _ operation: Int32) {
        while flock(fd, operation) != 0 && errno == EINTR {}
    }
}
