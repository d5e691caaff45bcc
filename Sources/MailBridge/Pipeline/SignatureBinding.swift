// Security: decides what a counsellor is told about who wrote a message. A cryptographically good signature is
// only the start: "valid" must mean that the client of this thread wrote this message to this mailbox, recently.
// Every input here is either engine output (verdict, signer key, user IDs) or store state (key standing); the
// message text has no say. Pure, so every rule is unit-tested.

import Foundation
import PGPShim
import ThreadStore

/// Binds a signature verdict to its context: the thread's key, the From address, the mailbox's key, the signed
/// inner headers and the time of arrival ("Johnny, you are fired": a good signature by *some* key proves
/// nothing about the From line).
struct SignatureBinding {
    /// The key the thread belongs to (the client key the message is stored under).
    var threadKey: KeyFingerprint
    /// The signer's key as the keyring holds it (user IDs), if known.
    var signerKey: KeyInfo?
    /// The canonical addresses of the signer key's valid user IDs (``EmailAddress/canonical``).
    var signerAddresses: Set<String>
    /// The canonical From address of the outer message.
    var from: String
    /// Whether the thread key is the one registered for this address in the field.
    var standing: ClientKeyStanding
    /// Every configured mailbox address (canonical), for the protected To/Cc check.
    var mailboxAddresses: Set<String>
    /// The key of the mailbox that decrypted the message, and whom the signatures say they were made for.
    var mailboxKey: KeyFingerprint
    var intendedRecipients: IntendedRecipients
    /// Protected headers inside the encryption.
    var protectedFrom: InnerMessage.ProtectedAddresses
    var protectedRecipients: InnerMessage.ProtectedAddresses
    /// When the message arrived.
    var arrivedAt: Date
    /// A signature older than this at arrival is shown as an old signature.
    var maximumSignatureAge: TimeInterval

    /// The stored verdict for the message's deciding signature (nil: unsigned).
    func verdict(for signature: SignatureDetail?) -> SignatureVerdictCode {
        guard let signature else { return .unsigned }
        let signer: KeyFingerprint
        switch signature.verdict {
        case .unsigned: return .unsigned
        case .unknownKey: return .missingKey
        case .bad, .error: return .bad
        case .goodButKeyNotCurrent(let key, _):
            return key == threadKey ? .keyNotCurrent : .validButUntrusted
        case .good(let key): signer = key
        }
        guard signer == threadKey, let signerKey, signerKey.fingerprint == signer else { return .validButUntrusted }
        // Made for someone else and forwarded ("surreptitious forwarding"): the signer named other recipients.
        guard intendedRecipients.admit(mailboxKey) else { return .notForThisRecipient }
        // The signed inner headers must not contradict the envelope the attacker controls.
        switch protectedRecipients {
        case .absent: break
        case .unreadable: return .notForThisRecipient
        case .addresses(let addresses):
            guard addresses.contains(where: mailboxAddresses.contains) else { return .notForThisRecipient }
        }
        switch protectedFrom {
        case .absent: break
        case .unreadable: return .signerAddressMismatch
        case .addresses(let addresses): guard addresses == [from] else { return .signerAddressMismatch }
        }
        // One of the key's own (self-signed, not revoked) user IDs must be exactly the From address.
        guard signerAddresses.contains(from) else { return .signerAddressMismatch }
        // The address already belongs to another key in this field: a key change a counsellor confirms.
        guard standing == .registered else { return .unconfirmedKeyChange }
        guard let created = signature.createdAt, arrivedAt.timeIntervalSince(created) <= maximumSignatureAge else {
            return .oldSignature
        }
        return .valid
    }

    /// The user ID to show beside the verdict: the one with the From address, else the key's first.
    static func displayedUserID(_ key: KeyInfo?, from: String) -> String {
        guard let key else { return "" }
        return key.userIDs.first(where: { $0.lowercased().contains("<\(from)>") || $0.lowercased() == from })
            ?? key.userIDs.first ?? ""
    }
}
