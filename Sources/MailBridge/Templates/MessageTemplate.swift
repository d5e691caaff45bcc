// Security: templates are written by the administrator and rendered into plain (unencrypted) mail. Plain mail
// must never carry personal data, so a template may only use the placeholders its kind allows, and none of them
// stands for personal data: the platform link, the counselling field and an opaque thread reference. A template
// file that names any other placeholder is rejected when it is loaded, not when mail is sent.

import Foundation

/// A fixed text with `{{placeholder}}` slots, checked against the placeholder policy of its ``Kind``.
///
/// ```swift
/// let template = MessageTemplate.builtIn(.redirect, language: .de)
/// let body = try template.render([.link: mailbox.redirectLink.string])
/// ```
///
/// The grammar is deliberately tiny (no sections, loops or escaping, unlike Mustache): `{{`, optional spaces, a
/// placeholder name, optional spaces, `}}`. Values are inserted once and never re-scanned, so a value cannot
/// inject another placeholder.
public struct MessageTemplate: Sendable, Equatable {
    /// What a template is for, and so which placeholders it may use.
    public enum Kind: String, Sendable, CaseIterable {
        /// The fixed reply to plain (unencrypted) mail: may use only `{{link}}`, and must use it.
        case redirect
        /// The notice to the counselling team about a new encrypted message: only `{{field}}` and `{{thread}}`.
        case notify
        /// The notice to a client that a reply waits on the platform: only `{{link}}`, and must use it.
        case replyWaiting = "reply-waiting"
        /// The notice to a client whose encrypted mail came without a key we know (issue 17): please send your
        /// public key. Only `{{link}}`, and must use it.
        case keyRequest = "key-request"
        /// The built-in redirect text used when a help link is configured (`help-link`): `{{link}}` and
        /// `{{help-link}}`, both required. A custom `redirect-template` may use `{{help-link}}` too.
        case redirectHelp = "redirect-help"
        /// The receipt to a client whose validly signed message arrived (sent only encrypted and signed): fixed
        /// text, no placeholder at all.
        case receipt

        /// The placeholders this kind may use.
        public var allowedPlaceholders: Set<Placeholder> {
            switch self {
            case .redirect, .redirectHelp: [.link, .helpLink]
            case .replyWaiting, .keyRequest: [.link]
            case .notify: [.field, .thread]
            case .receipt: []
            }
        }

        /// The placeholders this kind must use.
        public var requiredPlaceholders: Set<Placeholder> {
            switch self {
            case .redirect, .replyWaiting, .keyRequest: [.link]
            case .redirectHelp: [.link, .helpLink]
            case .notify, .receipt: []
            }
        }
    }

    /// Every placeholder that exists. None stands for personal data.
    public enum Placeholder: String, Sendable, CaseIterable, Hashable {
        /// The platform's login page (`mailbox.redirect-link`).
        case link
        /// The counselling field's name (`mailbox.field`).
        case field
        /// An opaque thread reference, never a subject or an address.
        case thread
        /// The public page explaining how to write encrypted mail (`help-link`, per mailbox or in `[help]`).
        case helpLink = "help-link"
    }

    enum Segment: Sendable, Equatable {
        case text(String)
        case placeholder(Placeholder)
    }

    /// The largest template accepted.
    public static let maximumSize = 64 * 1024

    /// What the template is for.
    public let kind: Kind
    let segments: [Segment]

    /// The placeholders the text uses.
    public var placeholders: Set<Placeholder> {
        Set(segments.compactMap { if case .placeholder(let p) = $0 { p } else { nil } })
    }

    /// Parses `text` and enforces the placeholder policy of `kind`.
    public init(kind: Kind, text: String) throws(TemplateError) {
        guard text.utf8.count <= Self.maximumSize else { throw TemplateError(.tooLarge, kind: kind) }
        guard !text.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw TemplateError(.invalidText, kind: kind)
        }
        var segments: [Segment] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else { throw TemplateError(.unclosedPlaceholder, kind: kind) }
            let name = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard let placeholder = Placeholder(rawValue: name), kind.allowedPlaceholders.contains(placeholder) else {
                throw TemplateError(.forbiddenPlaceholder(String(name.prefix(40))), kind: kind)
            }
            segments.append(.placeholder(placeholder))
            rest = afterOpen[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        self.kind = kind
        self.segments = segments
        let missing = kind.requiredPlaceholders.subtracting(placeholders)
        if let first = missing.sorted(by: { $0.rawValue < $1.rawValue }).first {
            throw TemplateError(.missingPlaceholder(first.rawValue), kind: kind)
        }
    }

    /// Reads a template file (UTF-8, at most ``maximumSize`` octets) and checks it.
    public static func load(kind: Kind, file: String) throws(TemplateError) -> MessageTemplate {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maximumSize + 1) ?? Data()
        } catch {
            throw TemplateError(.unreadableFile, kind: kind, file: file)
        }
        guard data.count <= maximumSize else { throw TemplateError(.tooLarge, kind: kind, file: file) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TemplateError(.invalidText, kind: kind, file: file)
        }
        do {
            return try MessageTemplate(kind: kind, text: text)
        } catch {
            var located = error
            located.file = file
            throw located
        }
    }

    /// The text with each placeholder replaced by its value. Every placeholder used must have a value.
    public func render(_ values: [Placeholder: String]) throws(TemplateError) -> String {
        var output = ""
        for segment in segments {
            switch segment {
            case .text(let text): output += text
            case .placeholder(let placeholder):
                guard let value = values[placeholder] else {
                    throw TemplateError(.missingValue(placeholder.rawValue), kind: kind)
                }
                output += value
            }
        }
        return output
    }
}

/// Why a template was refused. Names the template kind, the file and at most a placeholder's name; never values.
public struct TemplateError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// `{{name}}` is not allowed in this kind of template (only the kind's allowed placeholders are).
        case forbiddenPlaceholder(String)
        /// The kind requires `{{name}}` and the text lacks it.
        case missingPlaceholder(String)
        /// `{{` without `}}`.
        case unclosedPlaceholder
        /// Rendering without a value for a placeholder the text uses.
        case missingValue(String)
        case unreadableFile, tooLarge, invalidText
    }

    public var code: Code
    public var kind: MessageTemplate.Kind
    public var file: String?

    public init(_ code: Code, kind: MessageTemplate.Kind, file: String? = nil) {
        self.code = code
        self.kind = kind
        self.file = file
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        let allowed = kind.allowedPlaceholders.map { "{{\($0.rawValue)}}" }.sorted().joined(separator: ", ")
        let source = "\(file ?? "built-in") (\(kind.rawValue) template)"
        switch code {
        case .forbiddenPlaceholder(let name):
            return "\(source): placeholder {{\(name)}} is not allowed; allowed: \(allowed)"
        case .missingPlaceholder(let name): return "\(source): must contain {{\(name)}}"
        case .unclosedPlaceholder: return "\(source): '{{' without a closing '}}'"
        case .missingValue(let name): return "\(source): no value given for {{\(name)}}"
        case .unreadableFile: return "\(source): cannot be read"
        case .tooLarge: return "\(source): larger than \(MessageTemplate.maximumSize) octets"
        case .invalidText: return "\(source): not UTF-8 text"
        }
    }
}
