import MailBridge
import Testing

/// libetpan is C: every truncation and many mutations of real messages must either parse or throw a
/// ``MIMEError`` — never crash, never hang — and classification must stay total.
struct MIMERobustnessTests {
    /// Deterministic xorshift so failures reproduce.
    struct XorShift: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    static func corpus() throws -> [[UInt8]] {
        let armor = try MessageClassifierTests.armor()
        return [
            try MessageClassifierTests.pythonPGPMIME(armor),
            try PythonMail.build(
                """
                msg = EmailMessage()
                msg["From"] = "=?utf-8?q?J=C3=BCrgen?= <j@example.org>"
                msg["Subject"] = "Grüße"
                msg.set_content("Hallo äöü\\n")
                msg.add_alternative("<p>Hallo</p>", subtype="html")
                msg.add_attachment(b"x" * 300, maintype="application", subtype="pdf", filename="Bericht ä.pdf")
                """),
        ]
    }

    @Test func everyTruncationParsesOrThrows() throws {
        var outcomes = (parsed: 0, failed: 0)
        for message in try Self.corpus() {
            for length in stride(from: 0, through: message.count, by: 3) {
                do {
                    let parsed = try MIMEParser().parse(Array(message[..<length]))
                    _ = MessageClassifier.classify(parsed)
                    _ = try? SenderIdentity(headers: parsed.headers)
                    outcomes.parsed += 1
                } catch {
                    outcomes.failed += 1
                }
            }
        }
        #expect(outcomes.parsed > 0)
    }

    @Test func randomByteMutationsParseOrThrow() throws {
        var rng = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        let interesting: [UInt8] = [0, 0x0D, 0x0A, UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "\""), UInt8(ascii: ";"), 0xFF]
        for message in try Self.corpus() {
            for _ in 0..<300 {
                var mutated = message
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let index = Int.random(in: 0..<mutated.count, using: &rng)
                    mutated[index] = interesting.randomElement(using: &rng)!
                }
                if let parsed = try? MIMEParser().parse(mutated) {
                    _ = MessageClassifier.classify(parsed)
                    _ = parsed.allParts.map { try? $0.text(lossy: true) }
                }
            }
        }
    }

    @Test func emptyAndTinyInputs() {
        for input: [UInt8] in [[], [0], [0x0D, 0x0A], Array("From:".utf8), Array("\r\n\r\n".utf8)] {
            if let parsed = try? MIMEParser().parse(input) {
                #expect(MessageClassifier.classify(parsed) == .plain)
            }
        }
    }
}
