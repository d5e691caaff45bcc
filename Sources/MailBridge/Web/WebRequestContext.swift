// Security: the per-request state of the web inbox and JSON API. `counsellor` is nil until an authentication
// middleware has verified a session cookie (and its second factor) or an API token; routes must treat nil as
// "not logged in". Nothing from the request body is stored here.

public import Hummingbird
import NIOCore

/// How the request was authenticated.
public enum WebAuthentication: Hashable, Sendable {
    /// A browser session; state-changing requests must carry `csrfToken` (form field `csrf_token` or header
    /// `X-CSRF-Token`).
    case session(csrfToken: String)
    /// A bearer API token (platform integration); CSRF does not apply.
    case apiToken
}

/// The request context of every web and API route.
public struct WebRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated account, or nil.
    public var counsellor: Counsellor?
    /// How `counsellor` was authenticated, or nil.
    public var authentication: WebAuthentication?
    /// The peer's IP address (text), for the login rate limit; nil when unknown (tests).
    public var peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
    }
}
