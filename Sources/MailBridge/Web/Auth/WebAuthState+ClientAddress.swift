// Security: the client address that login and API-token rate limits are keyed on. The proxy header is trusted
// only when configured (`[web] client-address-header`); its value is cut to 64 characters and never logged.

import Foundation
import HTTPTypes
import Hummingbird

extension WebAuthState {
    /// The client address for the rate limits: the trusted proxy header if configured, else the peer address.
    func clientAddress(_ request: Request, _ context: WebRequestContext) -> String {
        if let name = settings.clientAddressHeader, let field = HTTPField.Name(name),
            // The last entry is the one the trusted proxy appended (X-Forwarded-For: client-sent ones come first).
            let value = request.headers[field]?.split(separator: ",").last
        {
            return String(value.trimmingCharacters(in: .whitespaces).prefix(64))
        }
        return context.peerAddress ?? "unknown"
    }
}
