import Foundation
import Testing

@testable import MailBridge

/// The `[keys]` options of the gateway key lifecycle (issue 20): defaults, values, refusals, and the round trip
/// through the TOML writer.
@Suite struct GatewayKeyConfigurationTests {
    func problems(_ text: String) -> [String] {
        do {
            _ = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + text)
            return []
        } catch {
            return error.allErrors.compactMap(\.option)
        }
    }

    @Test func defaultsValuesAndRefusals() throws {
        let defaults = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox).keys
        #expect(defaults.gatewayKeyLifetimeDays == 730)
        #expect(defaults.gatewayKeyRenewDays == 60)
        #expect(defaults.gatewayKeyOverlapDays == 90)
        let policy = GatewayKeyPolicy(defaults)
        #expect(policy.lifetime == 730 * 86_400 && policy.renewBefore == 60 * 86_400 && policy.overlap == 90 * 86_400)

        let set = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + """
            [keys]
            gateway-key-lifetime-days = 365
            gateway-key-renew-days = 30
            gateway-key-overlap-days = 14
            """).keys
        #expect(set.gatewayKeyLifetimeDays == 365 && set.gatewayKeyRenewDays == 30 && set.gatewayKeyOverlapDays == 14)

        #expect(problems("[keys]\ngateway-key-lifetime-days = 5\n") == ["keys.gateway-key-lifetime-days"])
        #expect(problems("[keys]\ngateway-key-overlap-days = -1\n") == ["keys.gateway-key-overlap-days"])
        #expect(problems("[keys]\ngateway-key-renew-days = \"60\"\n") == ["keys.gateway-key-renew-days"])
        // The renewal must come well before the end of the lifetime.
        #expect(problems("[keys]\ngateway-key-lifetime-days = 100\ngateway-key-renew-days = 60\n")
            == ["keys.gateway-key-renew-days"])
    }

    @Test func theWrittenConfigurationKeepsThem() throws {
        var configuration = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox)
        configuration.keys.gatewayKeyOverlapDays = 21
        configuration.keys.gatewayKeyLifetimeDays = 400
        let again = try BridgeConfiguration.parse(configuration.tomlText)
        #expect(again.keys == configuration.keys)
    }
}
