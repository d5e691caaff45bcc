// Issue 20: the `[keys]` options of the gateway key lifecycle.
extension BridgeConfiguration {
    /// Reads `gateway-key-lifetime-days`, `gateway-key-renew-days` and `gateway-key-overlap-days` into `keys`.
    /// The renewal must come before the end of the lifetime, else every check would extend the key again.
    static func readGatewayKeyLifecycle(_ section: ConfigurationReader.Section, into keys: inout KeysSection,
                                        reader: ConfigurationReader) {
        keys.gatewayKeyLifetimeDays = reader.integer(section, "gateway-key-lifetime-days",
                                                     default: keys.gatewayKeyLifetimeDays, range: 30...3650,
                                                     unit: "days")
        keys.gatewayKeyRenewDays = reader.integer(section, "gateway-key-renew-days",
                                                  default: keys.gatewayKeyRenewDays, range: 1...365, unit: "days")
        keys.gatewayKeyOverlapDays = reader.integer(section, "gateway-key-overlap-days",
                                                    default: keys.gatewayKeyOverlapDays, range: 0...3650,
                                                    unit: "days")
        if keys.gatewayKeyRenewDays * 2 > keys.gatewayKeyLifetimeDays {
            reader.report(.outOfRange, section.optionPath("gateway-key-renew-days"),
                          expected: "at most half of gateway-key-lifetime-days")
            keys.gatewayKeyRenewDays = max(1, keys.gatewayKeyLifetimeDays / 4)
        }
    }
}
