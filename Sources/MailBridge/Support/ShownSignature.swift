// Security: the signer's user ID is chosen by whoever made the key, so it is attacker text like the mail itself;
// it is shown only after `DisplayText.line` (one line, no controls, no bidirectional overrides) and, in HTML,
// escaped as every string is.

import MailValues
import ThreadStore

extension SignatureVerdictCode {
    /// The stable word for the verdict in the JSON API (`signature`) and in `mailbridge thread show`: snake_case,
    /// never changed for a code once published, since platforms and scripts compare it.
    var stableName: String {
        switch self {
        case .unsigned: "unsigned"
        case .valid: "valid"
        case .validButUntrusted: "valid_other_key"
        case .bad: "bad"
        case .missingKey: "unknown_key"
        case .notApplicable: "not_applicable"
        case .signerAddressMismatch: "signer_address_mismatch"
        case .unconfirmedKeyChange: "unconfirmed_key_change"
        case .notForThisRecipient: "not_for_this_recipient"
        case .oldSignature: "old_signature"
        case .keyNotCurrent: "key_not_current"
        }
    }
}

/// A message's signer as the inbox, the API and `thread show` present it: the fingerprint (upper-case hex, and in
/// groups of four for reading out) and the user ID, cleaned to one line. Encoded as
/// `{"fingerprint": …, "userId": …}` (API v1 and `thread show --json`).
///
/// ```swift
/// let signer = MessageSigner(fingerprint: try KeyFingerprint("ABCD1234…"), userID: "Kim <kim@example.net>")
/// let shown = ShownSigner(signer)
/// shown.groupedFingerprint   // "ABCD 1234 …"
/// ```
struct ShownSigner: Hashable, Sendable, Encodable, CustomStringConvertible {
    /// A user ID longer than this many Unicode scalars is cut (OpenPGP sets no limit; RFC 9580 §5.11).
    static let userIDLimit = 256

    /// The signing key (its primary key).
    let key: KeyFingerprint
    /// The user ID, one line; may be empty.
    let userID: String

    init(_ signer: MessageSigner) {
        key = signer.fingerprint
        userID = DisplayText.line(signer.userID, limit: Self.userIDLimit)
    }

    /// Upper-case hex, no spaces.
    var fingerprint: String { key.hex }

    /// `ABCD 1234 …`.
    var groupedFingerprint: String { DisplayText.groupedFingerprint(fingerprint) }

    /// Whether this is the key the thread belongs to (nil: the thread has no key yet, so no signer is its key).
    func isKey(_ clientKey: KeyFingerprint?) -> Bool { key == clientKey }

    var description: String { "ShownSigner(<redacted>)" }

    private enum CodingKeys: String, CodingKey {
        case fingerprint
        case userID = "userId"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fingerprint, forKey: .fingerprint)
        try container.encode(userID, forKey: .userID)
    }
}

/// An optional value that is written as JSON `null` when absent (synthesized `Encodable` leaves plain optionals
/// out), for fields a reader must see as explicitly empty.
struct JSONNullable<Wrapped: Encodable>: Encodable {
    var value: Wrapped?

    init(_ value: Wrapped?) { self.value = value }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
