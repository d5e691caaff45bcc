import Foundation

/// A master key rotation (``MasterKeyRotator``, an admin command) that was killed after its store commit and
/// before the new key file replaced the old one. The daemon checks for it when the master key does not open the
/// store, so it can say what to do instead of only "wrong key".
public enum InterruptedRotation {
    /// The error for a store that the master key does not open while `master-key-file.next` exists (the gateway
    /// then refuses to start until the rotation is finished); nil otherwise.
    public static func error(_ configuration: BridgeConfiguration) -> RecoveryError? {
        let next = configuration.keys.masterKeyFile.string + ".next"
        guard FileManager.default.fileExists(atPath: next) else { return nil }
        return RecoveryError(.keyMismatch, "the master key does not open the store and \(next) exists: a master key "
                             + "rotation was interrupted; run `mailbridge master-key rotate` to finish it")
    }
}
