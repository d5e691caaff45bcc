import Foundation

/// Builds the plain text for ``HTMLText``: whitespace collapsed outside `<pre>`, at most one blank line between
/// blocks, list markers, link targets. Pure.
struct HTMLTextWriter {
    /// Elements whose content is never text for a reader (RFC-less, by the HTML standard's content models).
    static let dropped: Set<String> = [
        "head", "script", "style", "template", "title", "noscript", "object", "embed", "iframe", "frame",
        "frameset", "applet", "svg", "math", "canvas", "audio", "video", "select", "datalist", "button", "meta",
        "link", "base",
    ]
    private static let blocks: Set<String> = [
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl", "dt", "dd",
        "section", "article", "header", "footer", "address", "nav", "aside", "main", "figure", "figcaption",
        "form", "fieldset", "center", "hr", "body", "html",
    ]

    private let maximumScalars: Int
    private var output = ""
    private var scalars = 0
    private var pendingSpace = false
    /// Line breaks owed before the next text (1: new line, 2: blank line).
    private var pendingBreaks = 0
    private var preDepth = 0
    private var lists: [(ordered: Bool, next: Int)] = []
    private var linkText: [String] = []
    private(set) var isFull = false

    init(maximumScalars: Int) { self.maximumScalars = maximumScalars }

    mutating func open(_ tag: String, alt: String?, start: String?) {
        switch tag {
        case "br": lineBreak(1, force: true)
        case "tr": lineBreak(1)
        case "td", "th":
            pendingSpace = false
            if !atLineStart, pendingBreaks == 0 { append("\t") }
        case "li":
            lineBreak(1)
            pendingSpace = false
            if var list = lists.popLast() {
                append(list.ordered ? "\(list.next). " : "• ")
                list.next += 1
                lists.append(list)
            } else {
                append("• ")
            }
        case "ul", "ol":
            lineBreak(lists.isEmpty ? 2 : 1)
            lists.append((tag == "ol", start.flatMap { Int($0.trimmingASCIIWhitespace()) } ?? 1))
        case "img": if let alt, !alt.isEmpty { text("[\(alt)]") }
        case "a": linkText.append("")
        case "pre":
            lineBreak(2)
            preDepth += 1
        case "hr":
            lineBreak(2)
            append("――――――――")
            lineBreak(2)
        default: if Self.blocks.contains(tag) { lineBreak(2) }
        }
    }

    mutating func close(_ tag: String, href: String?) {
        switch tag {
        case "a":
            let shown = linkText.popLast() ?? ""
            guard let href = href?.trimmingASCIIWhitespace(), !href.isEmpty else { return }
            let lower = href.lowercased()
            guard lower.hasPrefix("http:") || lower.hasPrefix("https:") || lower.hasPrefix("mailto:") else { return }
            let target = lower.hasPrefix("mailto:") ? String(href.dropFirst(7)) : href
            if shown.trimmingASCIIWhitespace() != target { text(" <\(target)>") }
        case "ul", "ol":
            _ = lists.popLast()
            lineBreak(lists.isEmpty ? 2 : 1)
        case "pre":
            preDepth -= 1
            lineBreak(2)
        default: if Self.blocks.contains(tag) { lineBreak(2) }
        }
    }

    mutating func text(_ raw: String) {
        if preDepth > 0 {
            append(raw.replacingOccurrences(of: "\r\n", with: "\n"))
            return
        }
        for scalar in raw.unicodeScalars {
            if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}" {
                pendingSpace = true
            } else {
                if pendingSpace, !atLineStart, pendingBreaks == 0 { append(" ") }
                pendingSpace = false
                append(String(scalar))
            }
        }
    }

    private var atLineStart: Bool { output.isEmpty || output.hasSuffix("\n") }

    private mutating func lineBreak(_ count: Int, force: Bool = false) {
        pendingSpace = false
        if force {
            flushBreaks()
            output += "\n"
            return
        }
        guard !output.isEmpty else { return }
        pendingBreaks = max(pendingBreaks, count)
    }

    private mutating func flushBreaks() {
        guard pendingBreaks > 0 else { return }
        var have = 0
        for character in output.reversed() {
            guard character == "\n" else { break }
            have += 1
        }
        if have < pendingBreaks { output += String(repeating: "\n", count: pendingBreaks - have) }
        pendingBreaks = 0
    }

    private mutating func append(_ piece: String) {
        guard !isFull else { return }
        flushBreaks()
        let count = piece.unicodeScalars.count
        if scalars + count > maximumScalars {
            output += String(String.UnicodeScalarView(piece.unicodeScalars.prefix(maximumScalars - scalars))) + "…"
            isFull = true
            return
        }
        scalars += count
        output += piece
        if !linkText.isEmpty { linkText[linkText.count - 1] += piece }
    }

    /// The text, without leading or trailing blank lines.
    mutating func finish() -> String {
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map {
            var line = Substring($0)
            while line.last == " " { line = line.dropLast() }
            return String(line)
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }
}
