import Foundation
import Testing

@testable import MailBridge
import PGPShim

@Suite struct MessageTemplateTests {
    typealias Kind = MessageTemplate.Kind

    @Test(arguments: Kind.allCases, BridgeConfiguration.Language.allCases)
    func builtInTemplatesMatchTheFilesAndThePolicy(kind: Kind, language: BridgeConfiguration.Language) throws {
        let file = try packageFile("Config/templates/\(kind.rawValue).\(language.rawValue).txt")
        #expect(MessageTemplate.builtInText(kind, language: language) == file, "run scripts/embed-resources")
        let template = try MessageTemplate(kind: kind, text: file)
        #expect(template.placeholders.isSubset(of: kind.allowedPlaceholders))
        #expect(template.placeholders.isSuperset(of: kind.requiredPlaceholders))
    }

    @Test func redirectTextsSayWhatTheyMust() throws {
        let de = MessageTemplate.builtInText(.redirect, language: .de)
        #expect(de.contains("nicht vertraulich") && de.contains("weder gelesen noch gespeichert"))
        let en = MessageTemplate.builtInText(.redirect, language: .en)
        #expect(en.contains("not confidential") && en.contains("neither read nor stored"))
    }

    @Test(arguments: [
        (Kind.redirect, "Hallo {{name}}, bitte hier: {{link}}", "name"),
        (Kind.redirect, "{{link}} Ihr Betreff: {{subject}}", "subject"),
        (Kind.redirect, "{{link}} {{field}}", "field"),
        (Kind.notify, "Neu in {{field}} von {{sender}}", "sender"),
        (Kind.notify, "{{thread}} {{ link }}", "link"),
        (Kind.replyWaiting, "Antwort für {{address}}: {{link}}", "address"),
        (Kind.replyWaiting, "{{link}}{{#each}}", "#each"),
    ])
    func placeholdersOutsideThePolicyAreRejected(kind: Kind, text: String, placeholder: String) throws {
        #expect(throws: TemplateError(.forbiddenPlaceholder(placeholder), kind: kind)) {
            try MessageTemplate(kind: kind, text: text)
        }
    }

    @Test func requiredPlaceholderMissing() {
        #expect(throws: TemplateError(.missingPlaceholder("link"), kind: .redirect)) {
            try MessageTemplate(kind: .redirect, text: "Bitte melden Sie sich an.")
        }
        #expect(throws: TemplateError(.unclosedPlaceholder, kind: .replyWaiting)) {
            try MessageTemplate(kind: .replyWaiting, text: "{{link}} and {{link")
        }
    }

    @Test func renderingInsertsValuesOnce() throws {
        let template = try MessageTemplate(kind: .notify, text: "Bereich {{ field }}, Vorgang {{thread}}.")
        // A value that looks like a placeholder is inserted literally, never expanded.
        let text = try template.render([.field: "Sucht {{thread}}", .thread: "T-42"])
        #expect(text == "Bereich Sucht {{thread}}, Vorgang T-42.")
        #expect(throws: TemplateError(.missingValue("thread"), kind: .notify)) {
            try template.render([.field: "Sucht"])
        }
    }

    @Test func loadingAFileEnforcesThePolicyAndNamesTheFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let bad = try folder.write("bad.txt", "Liebe/r {{client_name}}, siehe {{link}}")
        do {
            _ = try MessageTemplate.load(kind: .redirect, file: bad)
            Issue.record("a forbidden placeholder was accepted")
        } catch {
            #expect(error.code == .forbiddenPlaceholder("client_name"))
            #expect(error.description.contains(bad))
            #expect(error.description.contains("allowed: {{help-link}}, {{link}}"))
        }
        let good = try folder.write("good.txt", "Bitte hier anmelden: {{link}}\n")
        let template = try MessageTemplate.load(kind: .redirect, file: good)
        #expect(try template.render([.link: "https://beratung.example/login"])
                == "Bitte hier anmelden: https://beratung.example/login\n")
        #expect(throws: TemplateError(.unreadableFile, kind: .redirect)) {
            try MessageTemplate.load(kind: .redirect, file: folder.path + "/missing.txt")
        }
        let huge = try folder.write("huge.txt", "{{link}}" + String(repeating: "x", count: MessageTemplate.maximumSize))
        #expect(throws: TemplateError(.tooLarge, kind: .redirect)) {
            try MessageTemplate.load(kind: .redirect, file: huge)
        }
    }

    @Test func mailboxUsesItsCustomTemplateOrTheBuiltInOne() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let custom = try folder.write("notify.txt", "Neue Nachricht ({{field}}).")
        var mailbox = try #require(
            BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path)).mailboxes.first)
        mailbox.language = .en
        #expect(try mailbox.template(.notify) == MessageTemplate.builtIn(.notify, language: .en))
        mailbox.notifyTemplate = try AbsolutePath(custom)
        #expect(try mailbox.template(.notify).render([.field: "Sucht"]) == "Neue Nachricht (Sucht).")
    }

    /// The mailbox language picks the built-in subjects (redirect, reply-waiting notice, counsellor reply), also
    /// when the texts are rendered from template files and so differ from the built-in constants.
    @Test func mailboxLanguageChoosesTheSubjects() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var configured = try #require(
            BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path)).mailboxes.first)
        let key = try KeyFingerprint(String(repeating: "AB", count: 20))
        configured.language = .en
        let english = try PipelineMailbox(configured, gatewayKey: key)
        #expect(!english.german)
        #expect(english.redirectTemplate.subject == RedirectTemplate.english.subject)
        #expect(english.replyWaitingTemplate.subject == RedirectTemplate.replyWaiting(german: false).subject)
        #expect(ReplyComposer.subject(replyingTo: nil, german: english.german).hasPrefix("Reply"))
        configured.language = .de
        let german = try PipelineMailbox(configured, gatewayKey: key)
        #expect(german.german && german.redirectTemplate.subject == RedirectTemplate.german.subject)
        #expect(ReplyComposer.subject(replyingTo: nil, german: german.german).hasPrefix("Antwort"))
    }

    /// Issue 17: `key-request-template` replaces the built-in key request (checked against the same placeholder
    /// policy); without it the built-in text of the mailbox's language is used.
    @Test func keyRequestTemplateIsConfigurable() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var configured = try #require(
            BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path)).mailboxes.first)
        let key = try KeyFingerprint(String(repeating: "AB", count: 20))
        let builtIn = try PipelineMailbox(configured, gatewayKey: key)
        #expect(builtIn.keyRequestTemplate.body
                == MessageTemplate.builtInText(.keyRequest, language: configured.language))
        let own = try folder.write("key.txt", "Bitte Schlüssel senden: {{link}}\n")
        configured.keyRequestTemplate = try AbsolutePath(own)
        #expect(try PipelineMailbox(configured, gatewayKey: key).keyRequestTemplate.body
                == "Bitte Schlüssel senden: {{link}}\n")
        let bad = try folder.write("bad.txt", "Schlüssel für {{address}}: {{link}}\n")
        configured.keyRequestTemplate = try AbsolutePath(bad)
        #expect(throws: TemplateError.self) { try PipelineMailbox(configured, gatewayKey: key) }
    }

    @Test func checkConfigRejectsAMailboxTemplateWithAForbiddenPlaceholder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let template = try folder.write("redirect.txt", "Hallo {{sender}}: {{link}}")
        let config = try folder.write(
            "mailbridge.toml",
            ConfigurationErrorTests.mailbox + "redirect-template = \"\(template)\"\n")
        let result = ConfigurationCheck.run(file: config)
        #expect(result.status == .invalidConfiguration)
        #expect(result.errors.map(\.option) == ["mailbox[1].redirect-template"])
        #expect(result.output.contains("{{sender}} is not allowed"))
    }
}
