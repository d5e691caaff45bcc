import Testing

@testable import MailBridge

/// Regression tests for FuzzConfiguration's first crash (docs/fuzzing.md): a table header without a name made
/// toml++ (TOMLKit 0.6.0) abort the process (`parse_key()` precondition, marzer/tomlplusplus#301) instead of
/// reporting an error, so a typo in the file killed `mailbridge check-config` and the daemon on a SIGHUP reload.
/// Without ``TOMLHeaderCheck`` these tests abort the test process.
@Suite struct TOMLHeaderCheckTests {
    /// The fuzzer's input (crash-35bd66d4bd9d291de09458e0ab2c11bceb9c4601), as found.
    static let fuzzerInput = """
        [data]
        folder = "/var/lib/mailbridge"

        [= "/etc/mailbridge/beratung.asc"
        [smtp
        port = 25

        """

    @Test func fuzzerInputIsASyntaxErrorWithItsPosition() throws {
        do {
            _ = try BridgeConfiguration.parse(Self.fuzzerInput, file: "/etc/mailbridge/test.toml")
            Issue.record("a nameless table header was accepted")
        } catch {
            #expect(error.code == .syntax)
            #expect(error.line == 4)
            #expect(error.column == 2)
            #expect(error.description.hasPrefix("/etc/mailbridge/test.toml:4:2:"), "\(error.description)")
        }
    }

    /// The upstream report's cases and the other characters that reach the same precondition.
    @Test(arguments: [
        "[=", "[[=", "[[[1]]]", "[[[a]]]", "[[[]]", "[#", "[\n", "[ \t=", "[[ .a]]", "a = 1\n[=", "\u{FEFF}[=",
        "a = [\n1,\n]\n[=", "s = \"\"\"\n\"\"\"\n[=",
    ])
    func namelessHeaderIsRefused(_ text: String) {
        #expect(TOMLHeaderCheck.firstNamelessHeader(in: text) != nil)
        #expect {
            try BridgeConfiguration.parse(text)
        } throws: { error in
            (error as? ConfigurationError)?.code == .syntax
        }
    }

    /// Brackets that are not a table header are left to toml++: arrays (of arrays) in values, also invalid ones,
    /// brackets in strings and comments, quoted names, and empty names (which toml++ refuses itself, safely).
    @Test(arguments: [
        "[data]\n[[mailbox]]\n", "a = [[1], [2]]\n", "a = [\n  [=1],\n]\n", "s = \"\"\"\n[=\n\"\"\"\n",
        "s = '''\n[[[\n'''\n", "s = \"[=\"\n", "# [=\n", "[\"quoted\"]\n", "['literal']\n", "[ a . b ]\n",
        "t = { a = [1] }\n[x]\n", "[]\n", "[[]]\n",
    ])
    func otherBracketsAreNotHeaders(_ text: String) {
        #expect(TOMLHeaderCheck.firstNamelessHeader(in: text) == nil)
    }
}
