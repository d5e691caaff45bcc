import PGPShim
import TestSupport
import Testing

@Suite struct WebKeyDirectoryTests {
    /// The example from draft-koch-openpgp-webkey-service §3.1: "Joe.Doe" → iy9q119eutrkn8s1mk4r39qejnbu3n5q.
    @Test func draftExampleVector() {
        #expect(WebKeyDirectory.hashedLocalPart("Joe.Doe") == "iy9q119eutrkn8s1mk4r39qejnbu3n5q")
    }

    /// Cross-check against GnuPG's own implementation (`gpg-wks-client --print-wkd-hash`).
    @Test(arguments: ["beratung", "Schuldnerberatung", "info", "a"])
    func matchesGnuPG(_ localPart: String) throws {
        // Debian installs it outside PATH (package gpg-wks-client).
        let tool = try #require(Shell.which("gpg-wks-client") ?? Shell.which("/usr/lib/gnupg/gpg-wks-client"),
                                "gpg-wks-client is not installed")
        let output = try Shell.run(tool, ["--print-wkd-hash", "\(localPart)@example.org"]).stdout.text
        let expected = output.split(separator: " ").first.map(String.init)
        #expect(WebKeyDirectory.hashedLocalPart(localPart) == expected)
    }

    @Test func zBase32KnownValues() {
        #expect(WebKeyDirectory.zBase32([]) == "")
        #expect(WebKeyDirectory.zBase32([0x00]) == "yy")
        #expect(WebKeyDirectory.zBase32([0xFF]) == "9h")
    }

    @Test func fileLayoutForBothMethods() {
        let key: [UInt8] = [0x99, 0x01]
        let advanced = WebKeyDirectory.files(localPart: "Joe.Doe", domain: "Example.ORG", binaryKey: key, method: .advanced)
        #expect(advanced.map(\.path) == [
            ".well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q",
            ".well-known/openpgpkey/example.org/policy",
        ])
        #expect(advanced.allSatisfy { $0.host == "openpgpkey.example.org" })
        let direct = WebKeyDirectory.files(localPart: "Joe.Doe", domain: "example.org", binaryKey: key, method: .direct)
        #expect(direct.map(\.path) == [".well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q",
                                       ".well-known/openpgpkey/policy"])
        #expect(direct[0].contents == key && direct[0].host == "example.org")
    }
}
