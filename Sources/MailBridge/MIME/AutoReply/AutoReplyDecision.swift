/// Whether the redirect auto-reply may be sent (RFC 3834). Reasons are codes only.
public enum AutoReplyDecision: Sendable, Hashable, CustomStringConvertible {
    case send
    case suppress(Reason)

    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// `MAIL FROM:<>` (RFC 3834 §2, RFC 5321 §4.5.5).
        case nullSender
        /// MAILER-DAEMON, postmaster, `owner-*`, `*-request`, no-reply and similar role senders (RFC 3834 §2).
        case systemSender
        /// `Auto-Submitted` with a value other than `no` (RFC 3834 §5).
        case autoSubmitted
        /// `Precedence: bulk`, `list` or `junk` (RFC 3834 §2, de-facto).
        case precedence
        /// Any `List-*` field (RFC 2369, RFC 2919): mailing-list traffic.
        case listHeader
        /// `X-Auto-Response-Suppress` covering All, OOF or AutoReply (Microsoft MS-OXCMAIL §2.2.3.2.20).
        case autoResponseSuppressed
        /// `X-Autoreply` / `X-Autorespond`: the message itself is an auto-reply.
        case autoReplyHeader
        /// Sent from one of our own addresses (loop prevention, RFC 3834 §2).
        case ownAddress
        /// A delivery or disposition report (`multipart/report`, RFC 6522).
        case deliveryReport
    }

    public var description: String {
        switch self {
        case .send: "send"
        case .suppress(let reason): "suppress(\(reason.rawValue))"
        }
    }
}
