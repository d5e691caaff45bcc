import MailBridge
import Testing

/// Clear text only to loopback; TLS needs a host name (pure).
struct SMTPClientConfigurationTests {
    static func configuration(
        host: String, connect: String? = nil, tls: SMTPClientConfiguration.TLSMode
    ) -> SMTPClientConfiguration {
        SMTPClientConfiguration(host: host, port: 25, connectAddress: connect, tlsMode: tls, heloName: "gw.test")
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("::1", true), ("[::1]", true),
        ("127.example.org", false), ("127.0.0.1.nip.io", false), ("10.0.0.1", false), ("smtp.example.org", false),
        ("127.0.0.256", false), ("127.0.0", false),
    ])
    func clearTextOnlyToLoopback(_ address: String, _ allowed: Bool) {
        let configuration = Self.configuration(host: address, tls: .none)
        #expect(configuration.targetIsLoopback == allowed)
        #expect(configuration.allowsAuthenticationWithoutTLS == allowed)
        if allowed {
            #expect(throws: Never.self) { try configuration.validate() }
        } else {
            #expect(throws: DeliveryFailure(.configurationInvalid)) { try configuration.validate() }
        }
    }

    @Test func tlsNeedsAHostNameNotAnAddress() {
        #expect(throws: DeliveryFailure(.configurationInvalid)) {
            try Self.configuration(host: "192.0.2.1", tls: .startTLS).validate()
        }
        #expect(throws: DeliveryFailure(.configurationInvalid)) {
            try Self.configuration(host: "2001:db8::1", tls: .implicit).validate()
        }
        #expect(throws: Never.self) {
            try Self.configuration(host: "smtp.example.org", connect: "192.0.2.1", tls: .startTLS).validate()
        }
        #expect(!Self.configuration(host: "smtp.example.org", tls: .startTLS).allowsAuthenticationWithoutTLS)
    }

    @Test func descriptionHidesCredentials() {
        var configuration = Self.configuration(host: "smtp.example.org", tls: .implicit)
        configuration.credentials = SMTPCredentials(username: "relay-user", password: "hunter2")
        #expect(!"\(configuration)".contains("hunter2") && !"\(configuration)".contains("relay-user"))
    }
}
