extension KeyFingerprint {
    /// A fingerprint GnuPG reported (a key's `fpr`): anything but 40 or 64 hex digits is the engine's fault.
    init(reportedByEngine text: String) throws(PGPError) {
        do { try self.init(text) } catch { throw PGPError(.operationFailed, "the engine reported a malformed fingerprint") }
    }
}
