public import PGPShim
public import ThreadStore

/// The gateway keys of one counselling mailbox, by what they may do (issue 20), as the store records them.
public struct MailboxKeySet: Sendable, Hashable {
    /// The key clients encrypt to; it signs replies and is published.
    public var current: KeyFingerprint
    /// Keys in their overlap after a rotation: they still decrypt.
    public var overlap: Set<KeyFingerprint> = []
    /// Retired and revoked keys: recognised as ours, decrypt nothing.
    public var former: Set<KeyFingerprint> = []
    /// The revoked keys, oldest first: published with their revocation.
    public var revoked: [KeyFingerprint] = []

    public init(current: KeyFingerprint) { self.current = current }

    /// The set from the store's records of one mailbox; nil without a current key.
    public init?(_ records: [GatewayKeyRecord]) {
        guard let current = records.first(where: { $0.state == .current }) else { return nil }
        self.current = current.fingerprint
        for record in records where record.state != .current {
            let key = record.fingerprint
            switch record.state {
            case .current: break
            case .overlap: overlap.insert(key)
            case .retired: former.insert(key)
            case .revoked:
                former.insert(key)
                revoked.append(key)
            }
        }
    }
}

extension PipelineMailbox {
    /// This mailbox with `keys` in force (the Autocrypt header is the caller's to refresh).
    public mutating func apply(_ keys: MailboxKeySet) {
        gatewayKey = keys.current
        overlapKeys = keys.overlap
        formerKeys = keys.former
        revokedKeys = keys.revoked
    }

    /// The keys of this mailbox as a set, to compare with the store's.
    public var keySet: MailboxKeySet {
        var keys = MailboxKeySet(current: gatewayKey)
        keys.overlap = overlapKeys
        keys.former = formerKeys
        keys.revoked = revokedKeys
        return keys
    }

    /// Carries the gateway keys and the Autocrypt header of `running` over to this mailbox, made anew from
    /// configuration by a reload: keys are not configuration.
    public mutating func takeKeys(from running: PipelineMailbox) {
        apply(running.keySet)
        autocrypt = running.autocrypt
    }
}
