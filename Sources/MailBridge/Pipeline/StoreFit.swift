// Security: fits a decrypted message to ThreadStore's per-field limits before it is imported, so a value the
// sender chose (a 3,000-character file name, a 20 KiB subject) cannot make the import fail again and again and
// leave the message stuck in the spool (issue 25). Pure: nothing here logs, and the fitted values go only into
// the sealed store. What cannot be shortened without losing the client's words (the body, an attachment's
// content, the number of attachments) is not cut: such a message is refused as ``StoreFit/Unstorable`` and kept
// sealed as rejected (``Pipeline/refuseUnstorable(_:_:)``).

import Crypto
import Foundation
import ThreadStore

/// Fits a ``NewMessage`` to the store's limits (``ThreadStore/Configuration``):
///
/// - a subject over `maximumSubjectBytes` is cut and ends in " […]";
/// - a file name over `maximumAttachmentNameBytes` is cut and ends in "[…]" followed by its extension (so the
///   download keeps its type); a media type over `maximumMediaTypeBytes` becomes `application/octet-stream`;
/// - a Message-ID over `maximumMessageIDBytes` becomes `<sha256-hex@mailbridge.invalid>` of itself (the same
///   for every copy, so duplicates are still recognised);
/// - a body, an attachment or an attachment count over its limit makes the message ``Unstorable``.
///
/// Cuts fall between characters (grapheme clusters), never inside one.
///
/// ```swift
/// let fitted = try StoreFit(store.configuration).fit(message)   // throws StoreFit.Unstorable
/// ```
struct StoreFit: Sendable {
    var maximumSubjectBytes: Int
    var maximumMessageIDBytes: Int
    var maximumAttachments: Int
    var maximumAttachmentBytes: Int
    var maximumAttachmentNameBytes: Int
    var maximumMediaTypeBytes: Int
    var maximumBodyBytes: Int

    init(_ limits: ThreadStore.Configuration) {
        maximumSubjectBytes = limits.maximumSubjectBytes
        maximumMessageIDBytes = limits.maximumMessageIDBytes
        maximumAttachments = limits.maximumAttachments
        maximumAttachmentBytes = limits.maximumAttachmentBytes
        maximumAttachmentNameBytes = limits.maximumAttachmentNameBytes
        maximumMediaTypeBytes = limits.maximumMediaTypeBytes
        maximumBodyBytes = limits.maximumBodyBytes
    }

    /// A field of a message that had to be changed, or that made it unstorable. Content-free: safe to log.
    enum Field: String, Sendable, Hashable, CaseIterable {
        case subject, messageID = "message-id", attachmentName = "attachment-name", mediaType = "media-type"
        case body, attachmentSize = "attachment-size", attachmentCount = "attachment-count"
    }

    /// A message that exceeds a limit nothing can be cut from without losing the client's words.
    struct Unstorable: Error, Hashable, CustomStringConvertible {
        var field: Field
        var description: String { "StoreFit.Unstorable(\(field.rawValue))" }
    }

    /// What marks a cut.
    static let marker = "[…]"
    static let replacementMediaType = "application/octet-stream"

    /// `message` within the limits, and the fields that were changed.
    func fit(_ message: NewMessage) throws(Unstorable) -> (message: NewMessage, changed: Set<Field>) {
        guard message.body.count <= maximumBodyBytes else { throw Unstorable(field: .body) }
        guard message.attachments.count <= maximumAttachments else { throw Unstorable(field: .attachmentCount) }
        guard message.attachments.allSatisfy({ $0.content.count <= maximumAttachmentBytes }) else {
            throw Unstorable(field: .attachmentSize)
        }
        var fitted = message
        var changed = Set<Field>()
        if fitted.subject.utf8.count > maximumSubjectBytes {
            fitted.subject = Self.cut(fitted.subject, toBytes: maximumSubjectBytes, suffix: " " + Self.marker)
            changed.insert(.subject)
        }
        if fitted.messageID.utf8.count > maximumMessageIDBytes {
            let digest = SHA256.hash(data: Array(fitted.messageID.utf8)).map { String(format: "%02x", $0) }.joined()
            fitted.messageID = "<\(digest)@mailbridge.invalid>"
            guard fitted.messageID.utf8.count <= maximumMessageIDBytes else { throw Unstorable(field: .messageID) }
            changed.insert(.messageID)
        }
        for index in fitted.attachments.indices {
            if fitted.attachments[index].name.utf8.count > maximumAttachmentNameBytes {
                fitted.attachments[index].name = Self.cutFileName(fitted.attachments[index].name,
                                                                  toBytes: maximumAttachmentNameBytes)
                changed.insert(.attachmentName)
            }
            if fitted.attachments[index].mediaType.utf8.count > maximumMediaTypeBytes {
                fitted.attachments[index].mediaType = Self.replacementMediaType
                changed.insert(.mediaType)
            }
        }
        return (fitted, changed)
    }

    /// `text` cut so that it and `suffix` take at most `limit` UTF-8 octets, then `suffix`; only `suffix` (cut
    /// between characters too) if even that does not fit.
    static func cut(_ text: String, toBytes limit: Int, suffix: String) -> String {
        let room = limit - suffix.utf8.count
        guard room >= 0 else { return suffix.isEmpty ? "" : cut(suffix, toBytes: max(0, limit), suffix: "") }
        var kept = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            guard used + size <= room else { break }
            kept.append(character)
            used += size
        }
        return kept + suffix
    }

    /// A file name cut like ``cut(_:toBytes:suffix:)``, keeping its extension (the part after the last dot, if
    /// it is 1–16 letters or digits) after the marker: `aaaa…[…].pdf`.
    static func cutFileName(_ name: String, toBytes limit: Int) -> String {
        var suffix = marker
        if let dot = name.lastIndex(of: ".") {
            let ext = name[name.index(after: dot)...]
            if (1...16).contains(ext.count), ext.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                suffix += "." + ext
            }
        }
        return cut(name, toBytes: limit, suffix: suffix)
    }
}
