import Foundation
@testable import MailBridge
import Testing
import ThreadStore

/// ``StoreFit`` alone: where it cuts, what it keeps, and what it refuses (issue 25).
@Suite struct StoreFitTests {
    static func message(subject: String = "s", messageID: String = "<a@b>", body: Int = 10,
                        attachments: [NewAttachment] = []) -> NewMessage {
        NewMessage(direction: .inbound, messageID: messageID, subject: subject,
                   body: Array(repeating: 0x61, count: body), attachments: attachments, verdict: .valid,
                   receivedAt: Date())
    }

    static var limits: ThreadStore.Configuration {
        var limits = ThreadStore.Configuration()
        limits.maximumSubjectBytes = 20
        limits.maximumAttachmentNameBytes = 16
        limits.maximumMediaTypeBytes = 12
        limits.maximumMessageIDBytes = 90
        limits.maximumBodyBytes = 100
        limits.maximumAttachmentBytes = 10
        limits.maximumAttachments = 2
        return limits
    }

    @Test(arguments: [
        // Text, byte limit, expected: never more octets than the limit, never a broken character.
        ("abcdefghijklmnopqrstuvwxyz", 10, "abcd […]"),
        ("äääääääääääääääää", 11, "ää […]"),
        ("e\u{301}e\u{301}e\u{301}e\u{301}", 12, "e\u{301}e\u{301} […]"),
        ("👩‍👩‍👧‍👦👩‍👩‍👧‍👦", 31, "👩‍👩‍👧‍👦 […]"),
        ("kurz", 3, " ["),
    ])
    func cutsBetweenCharactersWithinTheLimit(_ text: String, _ limit: Int, _ expected: String) {
        let cut = StoreFit.cut(text, toBytes: limit, suffix: " […]")
        #expect(cut.utf8.count <= limit)
        #expect(cut == expected)
    }

    @Test func fileNamesKeepTheirExtension() {
        #expect(StoreFit.cutFileName(String(repeating: "a", count: 40) + ".pdf", toBytes: 16) == "aaaaaaa[…].pdf")
        #expect(StoreFit.cutFileName(String(repeating: "a", count: 40) + ".not an extension", toBytes: 16)
            == "aaaaaaaaaaa[…]")
    }

    @Test func cutsWhatCanBeCutAndSaysWhat() throws {
        let fit = StoreFit(Self.limits)
        let long = Self.message(subject: String(repeating: "s", count: 30),
                                messageID: "<\(String(repeating: "m", count: 100))@example.net>",
                                attachments: [NewAttachment(name: String(repeating: "n", count: 30) + ".txt",
                                                            mediaType: "application/x-long-type", content: [1])])
        let (fitted, changed) = try fit.fit(long)
        #expect(changed == [.subject, .messageID, .attachmentName, .mediaType])
        #expect(fitted.subject.utf8.count <= 20 && fitted.subject.hasSuffix(" […]"))
        #expect(fitted.messageID.hasSuffix("@mailbridge.invalid>") && fitted.messageID.utf8.count <= 90)
        #expect(try fit.fit(long).message.messageID == fitted.messageID, "the same ID for every copy")
        #expect(fitted.attachments[0].name == "nnnnnnn[…].txt")
        #expect(fitted.attachments[0].mediaType == "application/octet-stream")
        let (same, none) = try fit.fit(Self.message())
        #expect(none.isEmpty && same.subject == "s" && same.messageID == "<a@b>")
    }

    @Test func refusesWhatCannotBeCut() {
        let fit = StoreFit(Self.limits)
        let one = NewAttachment(name: "a", mediaType: "text/plain", content: [1])
        #expect(throws: StoreFit.Unstorable(field: .body)) { try fit.fit(Self.message(body: 101)) }
        #expect(throws: StoreFit.Unstorable(field: .attachmentCount)) {
            try fit.fit(Self.message(attachments: [one, one, one]))
        }
        let large = NewAttachment(name: "a", mediaType: "b", content: Array(repeating: 0, count: 11))
        #expect(throws: StoreFit.Unstorable(field: .attachmentSize)) { try fit.fit(Self.message(attachments: [large])) }
        var tiny = Self.limits
        tiny.maximumMessageIDBytes = 20
        #expect(throws: StoreFit.Unstorable(field: .messageID)) {
            try StoreFit(tiny).fit(Self.message(messageID: "<\(String(repeating: "m", count: 30))@x>"))
        }
    }
}
