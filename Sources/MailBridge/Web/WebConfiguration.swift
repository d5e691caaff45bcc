import Foundation

extension BridgeConfiguration.Web {
    /// The authentication settings from the `[web]` section (cookies, second factor, timeouts, the origin a
    /// reverse proxy presents, the proxy's client-address header); the rest keeps its production default.
    public var authSettings: WebAuthSettings {
        var settings = WebAuthSettings()
        settings.secureCookies = secureCookies
        settings.requireSecondFactor = requireSecondFactor
        settings.idleTimeout = TimeInterval(sessionIdleMinutes * 60)
        settings.absoluteTimeout = TimeInterval(sessionMaxHours * 3600)
        settings.allowedOrigins = publicURL.map { [$0] } ?? []
        settings.clientAddressHeader = clientAddressHeader
        return settings
    }
}
