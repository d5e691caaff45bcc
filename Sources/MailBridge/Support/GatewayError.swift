/// A start-up problem of the daemon, described without secrets or personal data.
public struct GatewayError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
