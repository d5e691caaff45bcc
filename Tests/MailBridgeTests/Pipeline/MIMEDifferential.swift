import Crypto
import Foundation
@testable import MailBridge
import ThreadStore

/// Python's reading of one inner message (written by Tests/Tools/mimecorpus.py; see its docstring).
final class PythonReading: Decodable, Sendable {
    let subject: String?
    let from: String?
    let body: [Item]
    let attachments: [Attachment]
    /// Python's defect classes (email.errors) anywhere in the message, e.g. StartBoundaryNotFoundDefect.
    let defects: [String]

    struct Item: Decodable, Sendable {
        let kind: String
        let text: String?
        let flowed: String?
        let named: Bool?
        let plainAlternative: Bool?
        let empty: Bool?
        let type: String?
        let reading: PythonReading?
    }

    struct Attachment: Decodable, Sendable {
        let name: String?
        let type: String
        let size: Int?
        let sha256: String?
        let inline: Bool
    }
}

struct PythonCorpusEntry: Decodable, Sendable {
    let file: String
    let source: String
    let canary: String
    let reading: PythonReading

    private enum Keys: String, CodingKey { case file, source, canary }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        file = try container.decode(String.self, forKey: .file)
        source = try container.decode(String.self, forKey: .source)
        canary = try container.decode(String.self, forKey: .canary)
        reading = try PythonReading(from: decoder)
    }
}

/// The classes of difference between what the counsellor gets and Python's reading. `isExplained`: the
/// difference is right (the reason is in ``reason``); every other class fails the test.
enum DifferenceClass: String, CaseIterable, Comparable, Sendable {
    // Explained.
    case htmlShownAsText, flowedReflowed, controlCharactersReplaced, subjectFromOuterHeader, generatedFileName,
         bareInlinePartWithheld, offeredKeyNotAnAttachment, namedTextPartIsAttachment, messageFieldsWithheld,
         defectiveStructure
    // Unexplained.
    case delimiterLineShown, textDiffers, textMissing, extraText, htmlNotShown, forwardedMissing, forwardedHeaderDiffers,
         subjectDiffers, attachmentMissing, extraAttachment, attachmentNameDiffers, attachmentTypeDiffers,
         attachmentContentDiffers

    var isExplained: Bool { reason != nil }

    /// Why the difference is right, or nil.
    var reason: String? {
        switch self {
        case .htmlShownAsText:
            "an HTML part without a plain alternative is shown as text converted by libxml2 (issue 27 item 3); "
                + "Python's reading shows no text for it; the original stays a download"
        case .flowedReflowed:
            "format=flowed (RFC 3676) is reflowed and un-stuffed; equal to Python's text decoded by RFC 3676 §4.2"
        case .controlCharactersReplaced:
            "control characters other than TAB/LF are shown as U+FFFD (MessageDisplay.normalize); otherwise equal"
        case .subjectFromOuterHeader:
            "the entity has no Subject (no protected header): the outer Subject, which travelled in clear, is used"
        case .generatedFileName:
            "a part without a file name gets attachment-N.ext (issue 27 item 6); Python's get_filename() is None"
        case .bareInlinePartWithheld:
            "a non-text part without file name and without Content-Disposition: attachment (an inline image, a "
                + "related part) is offered as a withheld download with the message, not filed as an attachment; "
                + "same type and size"
        case .offeredKeyNotAnAttachment:
            "application/pgp-keys is read as a key the client offers (Autocrypt/attached key), not filed"
        case .namedTextPartIsAttachment:
            "a text/plain part with a file name and no disposition is the file the client attached: filed as "
                + "an attachment with its name (same octets), not run into the message text"
        case .messageFieldsWithheld:
            "message/delivery-status, message/external-body and the like (RFC 3464, RFC 2046 §5.2.3) are field "
                + "blocks, not text: offered as a download (filed if named); Python reads each block as a text body"
        case .defectiveStructure:
            "Python reports a structural defect (a missing start or close boundary, a nested multipart reusing its "
                + "parent's boundary, no header/body separator): two readings of a broken structure differ; ours "
                + "never shows delimiter lines or header blocks as text (checked separately) and withholds what "
                + "it cannot split"
        default: nil
        }
    }

    /// Python's defect classes (email.errors) that make the MIME structure itself ambiguous.
    static let structuralDefects: Set<String> = [
        "StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
        "NoBoundaryInMultipartDefect", "MissingHeaderBodySeparatorDefect", "FirstHeaderLineIsContinuationDefect",
        "InvalidMultipartContentTransferEncodingDefect",
    ]

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

struct Difference: CustomStringConvertible {
    var kind: DifferenceClass
    var detail: String
    var description: String { "\(kind.rawValue): \(detail)" }
}

/// Compares what the counsellor gets (stored subject and attachments, MessageDisplay of the stored body) with
/// Python's reading of the same inner message. The details name sources and positions, never content: the
/// comparison's output goes to the test log.
struct DifferentialComparison {
    let body: [UInt8]
    private(set) var differences: [Difference] = []
    /// Text parts that Python reads as message text and we file as attachments (named text/plain).
    private var namedTextParts = 0

    init(stored: StoredMessage, outerSubject: String, python: PythonReading) {
        body = stored.body
        let display = MessageDisplay(body: stored.body)
        compareBody(display.parts, python.body, where: "")
        compareSubject(stored.subject, python.subject, outer: outerSubject)
        let withheld = MessageDisplay.downloads(display.parts)
        compareAttachments(stored.attachments.map { ($0.name, $0.mediaType, $0.content) }, python.attachments,
                           withheld: withheld.map { ($0.mediaType, $0.size) }, where: "")
        checkDelimiters(display.parts, pythonTexts: Self.texts(python))
        if !DifferenceClass.structuralDefects.isDisjoint(with: python.defects) {
            differences = differences.map {
                $0.kind.isExplained || $0.kind == .delimiterLineShown ? $0 : Difference(kind: .defectiveStructure, detail: "\($0.kind.rawValue) \($0.detail)")
            }
        }
    }

    /// No displayed text may contain a delimiter line (RFC 2046 §5.1.1) of any multipart in the message, whatever
    /// Python reads: such a line means raw MIME structure reached the counsellor. Never re-classed.
    /// Every text Python shows, forwarded messages included.
    private static func texts(_ reading: PythonReading) -> String {
        reading.body.map { $0.text ?? $0.reading.map(texts) ?? "" }.joined(separator: "\n")
    }

    /// A delimiter-shaped line that Python also shows as text is the client's text (a boundary of a multipart that
    /// does not enclose it), not structure; only lines Python does not show count.
    private mutating func checkDelimiters(_ parts: [MessageDisplay.Part], pythonTexts: String) {
        let pythonLines = Set(pythonTexts.split(separator: "\n").map { String($0) })
        var boundaries: Set<String> = []
        func collect(_ part: MIMEPart) {
            if part.contentType.isMultipart, let boundary = part.contentType.parameters["boundary"] {
                boundaries.insert("--" + boundary)
            }
            switch part.body {
            case .multipart(let children): children.forEach(collect)
            case .message(let inner): collect(inner)
            case .single: break
            }
        }
        if let root = DecryptedEntity(body).message?.root { collect(root) }
        func texts(_ parts: [MessageDisplay.Part]) -> [String] {
            parts.flatMap { part -> [String] in
                switch part {
                case .text(let text): [text]
                case .withheld: []
                case .forwarded(let frame): texts(frame.parts)
                }
            }
        }
        for text in texts(parts) {
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                var trimmed = String(line)
                while trimmed.last == " " || trimmed.last == "\t" { trimmed.removeLast() }
                if trimmed.hasSuffix("--") { trimmed.removeLast(2) }
                if boundaries.contains(trimmed), !pythonLines.contains(String(line)) { note(.delimiterLineShown, "a delimiter line in displayed text") }
            }
        }
    }

    private mutating func note(_ kind: DifferenceClass, _ detail: String) {
        differences.append(Difference(kind: kind, detail: detail))
    }

    private static func normalized(_ text: String) -> String {
        var text = text.replacingOccurrences(of: "\r\n", with: "\n")
        while let last = text.unicodeScalars.last, last == "\n" || last == " " || last == "\t" || last == "\r" {
            text.unicodeScalars.removeLast()
        }
        while text.unicodeScalars.first == "\n" { text.unicodeScalars.removeFirst() }
        return text
    }

    private mutating func compareBody(_ ours: [MessageDisplay.Part], _ python: [PythonReading.Item], where path: String) {
        let shown = ours.filter { if case .withheld = $0 { false } else { true } }
        var index = 0
        for (number, item) in python.enumerated() {
            let here = "\(path)body[\(number)]"
            switch item.kind {
            case "text":
                let empty = Self.normalized(item.text ?? "").isEmpty
                guard index < shown.count, case .text(let text) = shown[index] else {
                    if empty { continue }  // nothing to show either way
                    if item.named == true {
                        namedTextParts += 1
                        note(.namedTextPartIsAttachment, here)
                    } else {
                        note(.textMissing, here)
                    }
                    continue
                }
                index += 1
                let mine = Self.normalized(text), theirs = Self.normalized(item.text ?? "")
                if mine == theirs { continue }
                if let flowed = item.flowed, mine == Self.normalized(flowed) {
                    note(.flowedReflowed, here)
                } else if mine == Self.normalized(MessageDisplay.normalize(item.text ?? "")) {
                    note(.controlCharactersReplaced, here)
                } else {
                    note(.textDiffers, "\(here) (\(mine.count) vs \(theirs.count) characters)")
                }
            case "fields":
                let type = item.type ?? ""
                if ours.contains(where: { if case .withheld(_, type, _) = $0 { true } else { false } }) {
                    note(.messageFieldsWithheld, "\(here) \(type)")
                } else {
                    note(.textMissing, "\(here) \(type)")
                }
            case "html":
                if item.plainAlternative == true || item.empty == true { continue }
                if index < shown.count, case .text(let text) = shown[index], !text.isEmpty {
                    index += 1
                    note(.htmlShownAsText, here)
                } else {
                    note(.htmlNotShown, here)
                }
            default:
                guard let reading = item.reading, index < shown.count, case .forwarded(let frame) = shown[index] else {
                    note(.forwardedMissing, here)
                    continue
                }
                index += 1
                if frame.subject != DisplayText.line(reading.subject ?? "", limit: 300) {
                    note(.forwardedHeaderDiffers, "\(here) subject")
                }
                compareBody(frame.parts, reading.body, where: "\(here)>")
                let attachments = frame.attachments.map {
                    ($0.name, $0.mediaType, MessageDisplay.withheldContent(body, index: $0.index) ?? [])
                }
                let withheld = MessageDisplay.downloads(frame.parts).map { ($0.mediaType, $0.size) }
                compareAttachments(attachments, reading.attachments, withheld: withheld, where: "\(here)>")
            }
        }
        for extra in shown[min(index, shown.count)...] {
            if case .forwarded = extra { note(.extraText, "\(path) extra forwarded frame") } else {
                note(.extraText, "\(path) extra text block")
            }
        }
    }

    private mutating func compareSubject(_ ours: String, _ python: String?, outer: String) {
        guard let python else {
            note(ours == outer ? .subjectFromOuterHeader : .subjectDiffers, "subject (none inside)")
            return
        }
        if ours != python { note(.subjectDiffers, "subject (\(ours.count) vs \(python.count) characters)") }
    }

    private mutating func compareAttachments(_ ours: [(name: String, type: String, content: [UInt8])],
                                             _ python: [PythonReading.Attachment],
                                             withheld: [(type: String, size: Int)], where path: String) {
        var remaining = ours
        var withheld = withheld
        for (number, expected) in python.enumerated() {
            let here = "\(path)attachment[\(number)] \(expected.type)"
            if expected.type == "application/pgp-keys" {
                note(.offeredKeyNotAnAttachment, here)
                continue
            }
            if expected.inline, expected.name == nil, expected.type != "message/rfc822",
                !remaining.contains(where: { $0.type == expected.type && $0.content.count == expected.size })
            {
                if let found = withheld.firstIndex(where: { $0.type == expected.type && $0.size == expected.size }) {
                    withheld.remove(at: found)
                    note(.bareInlinePartWithheld, here)
                } else {
                    note(.attachmentMissing, "\(here) (inline, not withheld either)")
                }
                continue
            }
            guard !remaining.isEmpty else {
                note(.attachmentMissing, here)
                continue
            }
            let mine = remaining.removeFirst()
            if mine.type != expected.type { note(.attachmentTypeDiffers, "\(here) vs \(mine.type)") }
            if let name = expected.name {
                if mine.name != name { note(.attachmentNameDiffers, here) }
            } else if mine.name.hasPrefix("attachment-") {
                note(.generatedFileName, here)
            } else {
                note(.attachmentNameDiffers, "\(here) (Python: no name)")
            }
            if let sha = expected.sha256 {
                let digest = SHA256.hash(data: mine.content).map { String(format: "%02x", $0) }.joined()
                if digest != sha || mine.content.count != expected.size {
                    note(.attachmentContentDiffers, "\(here) (\(mine.content.count) vs \(expected.size ?? -1) bytes)")
                }
            }
        }
        for extra in remaining {
            if extra.type.hasPrefix("message/"), extra.type != "message/rfc822" {
                note(.messageFieldsWithheld, "\(path) filed \(extra.type)")
                continue
            }
            if extra.type == "text/plain", namedTextParts > 0 {
                namedTextParts -= 1
                continue
            }
            note(.extraAttachment, "\(path) extra \(extra.type)")
        }
    }
}
