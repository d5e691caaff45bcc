import Foundation
import Testing
import ThreadStore

@testable import MailBridge

/// `[[organisation]]` and a mailbox's `organisation` (issue 29): absent by default (one implicit organisation),
/// every mailbox names a configured one when there are any, a field belongs to one organisation only, the TOML
/// round trip, and the directory every route decides reach with.
@Suite struct OrganisationConfigurationTests {
    /// A mailbox whose team address is its organisation's (`team` gives another one).
    static func mailbox(_ address: String, field: String, organisation: String?, team: String? = nil) -> String {
        """
        [[mailbox]]
        address = "\(address)"
        field = "\(field)"
        team-notification-address = "\(team ?? "team-\(organisation ?? "x")@example.org")"
        redirect-link = "https://beratung.example.org/login"
        \(organisation.map { "organisation = \"\($0)\"" } ?? "")

        """
    }

    static let organisations = """
        [[organisation]]
        id = "caritas-koeln"
        name = "Caritas Köln"

        [[organisation]]
        id = "diakonie-bonn"
        name = "Diakonie Bonn"

        """

    @Test func withoutOrganisationsTheInstallationIsOneImplicitOrganisation() throws {
        let configuration = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox)
        #expect(configuration.organisations.isEmpty)
        let directory = configuration.organisationDirectory
        #expect(directory.isImplicit && directory == .implicit)
        #expect(directory.reach(of: nil) == .everyField)
        #expect(directory.reach(of: try OrganisationID("caritas-koeln")) == nil)
    }

    @Test func organisationsOwnTheFieldsOfTheirMailboxes() throws {
        let text = Self.mailbox("sucht@example.org", field: "sucht", organisation: "caritas-koeln")
            + Self.mailbox("sucht2@example.org", field: "Sucht", organisation: "caritas-koeln")
            + Self.mailbox("familie@example.org", field: "familie", organisation: "diakonie-bonn")
            + Self.organisations
        let configuration = try BridgeConfiguration.parse(text)
        let (a, b) = (try OrganisationID("caritas-koeln"), try OrganisationID("diakonie-bonn"))
        #expect(configuration.organisations.map(\.id) == [a, b])
        #expect(configuration.organisations.map(\.name) == ["Caritas Köln", "Diakonie Bonn"])
        let directory = configuration.organisationDirectory
        #expect(directory.fields(of: a) == [try CounsellingField("sucht")])
        #expect(directory.fields(of: b) == [try CounsellingField("familie")])
        #expect(directory.reach(of: nil) == nil, "an account without organisation works nowhere")
        #expect(directory.reach(of: try OrganisationID("gone")) == nil)
        #expect(directory.reach(of: a)?.contains(try CounsellingField("sucht")) == true)
        #expect(directory.reach(of: a)?.contains(try CounsellingField("familie")) == false)
        let again = try BridgeConfiguration.parse(configuration.tomlText)
        #expect(again.organisations == configuration.organisations && again.mailboxes == configuration.mailboxes)
    }

    @Test func eachOrganisationNamesItsOwnWebhookAndNoGlobalOneBesideIt() throws {
        let text = Self.mailbox("sucht@example.org", field: "sucht", organisation: "caritas-koeln")
            + Self.organisations + """
            [organisation.webhook]
            url = "https://platform-b.example.org/hooks"
            secret-file = "/etc/mailbridge/webhook-b"

            """
        let configuration = try BridgeConfiguration.parse(text)
        #expect(configuration.webhook == nil)
        #expect(configuration.organisations.map { $0.webhook?.url } == [nil, "https://platform-b.example.org/hooks"])
        #expect(try BridgeConfiguration.parse(configuration.tomlText).organisations == configuration.organisations)
        let both = ConfigurationErrorTests().problems(
            text + "[webhook]\nurl = \"https://all.example.org/\"\nsecret-file = \"/etc/s\"\n")
        #expect(both.contains { $0.option == "webhook" && $0.code == .conflictingOptions }, "\(both)")
        let insecure = ConfigurationErrorTests().problems(text.replacingOccurrences(of: "https://platform-b",
                                                                                    with: "http://platform-b"))
        #expect(insecure.contains { $0.option == "organisation[2].webhook.url" }, "\(insecure)")
        #expect(ReferencedFileCheck.kind(of: "organisation[2].webhook.secret-file") == .secret)
        // Two organisations on one platform URL, or with one secret file: refused.
        let hookA = """
            [organisation.webhook]
            url = "https://platform-b.example.org/hooks"
            secret-file = "/etc/mailbridge/webhook-a"

            """
        let organisationsWithHooks = Self.organisations.replacingOccurrences(
            of: "name = \"Caritas Köln\"\n", with: "name = \"Caritas Köln\"\n" + hookA)
        let sharedURL = ConfigurationErrorTests().problems(
            Self.mailbox("sucht@example.org", field: "sucht", organisation: "caritas-koeln") + organisationsWithHooks
                + "[organisation.webhook]\nurl = \"https://platform-b.example.org/hooks\"\n"
                + "secret-file = \"/etc/mailbridge/webhook-b\"\n")
        #expect(sharedURL.map(\.option) == ["organisation[2].webhook.url"], "\(sharedURL)")
        let sharedSecret = ConfigurationErrorTests().problems(
            Self.mailbox("sucht@example.org", field: "sucht", organisation: "caritas-koeln") + organisationsWithHooks
                + "[organisation.webhook]\nurl = \"https://other.example.org/hooks\"\n"
                + "secret-file = \"/etc/mailbridge/webhook-a\"\n")
        #expect(sharedSecret.map(\.option) == ["organisation[2].webhook.secret-file"], "\(sharedSecret)")
    }

    static let bad: [(text: String, option: String)] = {
        let one = mailbox("a@example.org", field: "sucht", organisation: "x")
        var cases: [(text: String, option: String)] = []
        // A mailbox without an organisation while there are some.
        cases.append((mailbox("a@example.org", field: "sucht", organisation: nil) + organisations,
                      "mailbox[1].organisation"))
        // An organisation nobody configured.
        cases.append((mailbox("a@example.org", field: "sucht", organisation: "caritas") + organisations,
                      "mailbox[1].organisation"))
        // An organisation while there are none.
        cases.append((mailbox("a@example.org", field: "sucht", organisation: "caritas-koeln"),
                      "mailbox[1].organisation"))
        // One field in two organisations, also when spelled with another case.
        let first = mailbox("a@example.org", field: "sucht", organisation: "caritas-koeln")
        let second = mailbox("b@example.org", field: "SUCHT", organisation: "diakonie-bonn")
        cases.append((first + second + organisations, "mailbox[2].organisation"))
        // One team address for two organisations' mailboxes.
        cases.append((mailbox("a@example.org", field: "sucht", organisation: "caritas-koeln")
                        + mailbox("b@example.org", field: "familie", organisation: "diakonie-bonn",
                                  team: "team-caritas-koeln@example.org") + organisations,
                      "mailbox[2].team-notification-address"))
        // IDs: not normalised silently, unique, present; names required and bounded; no unknown options.
        let long = String(repeating: "n", count: 129)
        for (table, option) in [
            ("id = \"X\"\nname = \"X\"\n", "organisation[1].id"),
            ("id = \"x\"\nname = \"X\"\n[[organisation]]\nid = \"x\"\nname = \"Y\"\n", "organisation[2].id"),
            ("name = \"X\"\n", "organisation[1].id"),
            ("id = \"x\"\n", "organisation[1].name"),
            ("id = \"x\"\nname = \"\(long)\"\n", "organisation[1].name"),
            ("id = \"x\"\nname = \"X\"\nkey-file = \"/k\"\n", "organisation[1].key-file"),
            ("id = \"x\"\nname = \"X\"\nmaster-key-file = \"k\"\n", "organisation[1].master-key-file"),
            ("id = \"x\"\nname = \"X\"\nmaster-key-credential = \"a/b\"\n", "organisation[1].master-key-credential"),
            // One key for two organisations: the same credential, a file that is another's default file, or
            // the installation's own key file.
            ("id = \"x\"\nname = \"X\"\n[[organisation]]\nid = \"y\"\nname = \"Y\"\n"
                + "master-key-credential = \"mailbridge-organisation-x\"\n", "organisation[2].master-key-credential"),
            ("id = \"x\"\nname = \"X\"\n[[organisation]]\nid = \"y\"\nname = \"Y\"\n"
                + "master-key-file = \"/var/lib/mailbridge/organisations/x.key\"\n",
             "organisation[2].master-key-file"),
            ("id = \"x\"\nname = \"X\"\nmaster-key-file = \"/var/lib/mailbridge/master.key\"\n",
             "organisation[1].master-key-file"),
        ] {
            cases.append((one + "[[organisation]]\n" + table, option))
        }
        return cases
    }()

    /// Each organisation's key: by default a file in the data folder named for its ID and a credential named for
    /// it; both can be set, and survive the TOML round trip.
    @Test func eachOrganisationHasItsOwnKeyFileAndCredential() throws {
        let text = Self.mailbox("sucht@example.org", field: "sucht", organisation: "caritas-koeln")
            + Self.mailbox("familie@example.org", field: "familie", organisation: "diakonie-bonn")
            + Self.organisations
            + "master-key-file = \"/etc/mailbridge/diakonie.key\"\nmaster-key-credential = \"diakonie-key\"\n"
        let configuration = try BridgeConfiguration.parse(text, file: "test.toml")
        let (caritas, diakonie) = (configuration.organisations[0], configuration.organisations[1])
        #expect(caritas.keyFile(dataFolder: configuration.data.folder).string
                == "/var/lib/mailbridge/organisations/caritas-koeln.key")
        #expect(caritas.credentialName == "mailbridge-organisation-caritas-koeln")
        #expect(diakonie.keyFile(dataFolder: configuration.data.folder).string == "/etc/mailbridge/diakonie.key")
        #expect(diakonie.credentialName == "diakonie-key")
        let again = try BridgeConfiguration.parse(configuration.tomlText, file: "again.toml")
        #expect(again.organisations == configuration.organisations)
    }

    @Test(arguments: bad)
    func badOrganisationsAreReportedByOption(text: String, option: String) throws {
        let problems = ConfigurationErrorTests().problems(text)
        #expect(problems.contains { $0.option == option }, "\(problems)")
    }
}
