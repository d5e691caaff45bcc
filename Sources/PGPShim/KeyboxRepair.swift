import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Puts a torn keyring back (issue 28). gpg replaces `pubring.kbx` in two renames: the old file to
/// `pubring.kbx~`, then the complete new one from `pubring.kbx.tmp`. A gpg killed between them (an agent or gpg
/// process killed, the OOM killer, `systemctl stop` of the control group) leaves no `pubring.kbx`: every later
/// operation fails with "Cannot open keyring", which is retried as transient, so mail would wait for ever.
///
/// A gpg that runs meanwhile may create an empty keybox (its 32-octet header only) in place of the missing one;
/// that counts as torn too while a leftover holds keys. (MailBridge never deletes every key, so an empty keyring
/// beside a backup with keys is never a state it made on purpose.)
///
/// The repair finishes what gpg started: the `.tmp` file if it is a keybox with keys (it was complete before the
/// first rename), else the backup `~`. Run only under the keyring's write lock, so no gpg of this process writes
/// meanwhile; callers check ``isTorn(home:)`` first (at most three `stat`s), then repair under the write lock.
enum KeyboxRepair {
    static let keyring = "pubring.kbx"

    /// The size of a keybox's header blob: a keybox this size holds no key.
    static let headerSize = 32

    /// No keyring (or an empty one), but a leftover of a replacement with keys: a cheap test (three `stat`s)
    /// before taking the write lock.
    static func isTorn(home: String) -> Bool {
        let path = home + "/" + keyring
        return size(path) <= headerSize && (size(path + ".tmp") > headerSize || size(path + "~") > headerSize)
    }

    /// Restores `pubring.kbx` if it is torn; returns what it restored from (nil: nothing to do).
    @discardableResult
    static func repair(home: String) -> String? {
        guard isTorn(home: home) else { return nil }
        let target = home + "/" + keyring
        for candidate in [target + ".tmp", target + "~"] where size(candidate) > headerSize && isKeybox(candidate) {
            if rename(candidate, target) == 0 {
                let folder = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if folder >= 0 {
                    fsync(folder)
                    close(folder)
                }
                return (candidate as NSString).lastPathComponent
            }
        }
        return nil
    }

    /// A keybox file starts with a 32-octet header blob whose type is 1 and which carries "KBXf" at offset 8.
    static func isKeybox(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 12), header.count == 12 else { return false }
        return header[4] == 1 && Array(header[8..<12]) == Array("KBXf".utf8)
    }

    /// The file's size, or -1 if it does not exist.
    private static func size(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : -1
    }
}
