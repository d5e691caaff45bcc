// Security: runs only inside HomeClaim, while the daemon holds the home and no gpg of ours runs. It deletes only
// files named like GnuPG's own lock temporaries whose process is gone; it reads no file contents.

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// GnuPG's leftover lock temporaries in a home.
///
/// To take a lock on `pubring.kbx` (dotlock, in GnuPG's common code), gpg writes a temporary file
/// `.#lk0x<address>.<host>.<pid>` next to it, links it to `pubring.kbx.lock` and deletes it again. A gpg killed in
/// between (every `kill -9` of the daemon can leave one, see issue 28) leaves the temporary behind; gpg removes a
/// stale `.lock` itself but never these, so they pile up, one per crash. The claim deletes those whose process no
/// longer exists.
enum StaleLockFiles {
    /// Folders of a home in which gpg takes dotlocks.
    static let folders = ["", "private-keys-v1.d", "public-keys.d"]

    /// Deletes every lock temporary in `home` whose PID is not alive; returns how many were deleted.
    @discardableResult
    static func remove(home: String) -> Int {
        var removed = 0
        for folder in folders {
            let directory = folder.isEmpty ? home : home + "/" + folder
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names where isStale(name) {
                if unlink(directory + "/" + name) == 0 { removed += 1 }
            }
        }
        return removed
    }

    /// Whether `name` is a dotlock temporary (`.#lk…<pid>`) of a process that no longer exists (or is a zombie).
    static func isStale(_ name: String) -> Bool {
        guard name.hasPrefix(".#lk"), let last = name.split(separator: ".").last, let pid = pid_t(last), pid > 0
        else { return false }
        return !StaleProcesses.isAlive(pid)
    }
}
