// Security: parses attacker-written HTML (the text/html part of a decrypted message) with libxml2's HTML parser
// to show it as plain text. Nothing is fetched: HTML_PARSE_NONET, no entity substitution option, no DTD
// loading, and the tree is only read, never rendered; images, styles and scripts are never requested. Script,
// style and other non-text elements are dropped with their content; only text nodes, link targets and image
// alt texts reach the output, which the page escapes like any mail text. Input and output are capped
// (HTMLText.Limits), the tree is walked without recursion, and parser errors go to a no-op handler, so no
// content reaches stderr or a log. The libxml2 document is freed before `convert` returns.

internal import CLibXML2
import Foundation

/// Converts an HTML document to readable plain text: paragraphs and headings as blocks, `<br>` as line breaks,
/// list items with `•` or their number, table cells separated by tabs, links as `text <target>`.
///
/// ```swift
/// let text = HTMLText.convert(Array("<p>Hallo <a href=\"https://x.example\">hier</a></p>".utf8))
/// // "Hallo hier <https://x.example>"
/// ```
enum HTMLText {
    struct Limits: Sendable {
        /// Larger HTML parts are not converted (offered as a download only).
        var maximumInputBytes = 4 << 20
        /// Output beyond this many scalars is cut and ends in "…".
        var maximumOutputScalars = 1 << 20
        /// Nodes visited at most; libxml2 bounds nesting depth itself (256, `xmlParserMaxDepth`).
        var maximumNodes = 500_000
    }

    /// Nil if the input exceeds the limit or libxml2 builds no document.
    static func convert(_ utf8: [UInt8], limits: Limits = Limits()) -> String? {
        guard utf8.count <= limits.maximumInputBytes else { return nil }
        guard !utf8.isEmpty else { return "" }
        // htmlNewParserCtxt + htmlCtxtReadMemory (HTMLparser.h): one context per call; `serror` set to a no-op so
        // parse errors (which quote the input) are never printed.
        guard let context = htmlNewParserCtxt() else { return nil }
        defer { htmlFreeParserCtxt(context) }
        context.pointee.sax?.pointee.serror = { _, _ in }
        let options = Int32(HTML_PARSE_NONET.rawValue | HTML_PARSE_NOERROR.rawValue | HTML_PARSE_NOWARNING.rawValue
                            | HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOBLANKS.rawValue)
        let document = utf8.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                htmlCtxtReadMemory(context, $0, Int32(buffer.count), nil, "UTF-8", options)
            }
        }
        guard let document else { return nil }
        defer { xmlFreeDoc(document) }
        var writer = HTMLTextWriter(maximumScalars: limits.maximumOutputScalars)
        walk(xmlDocGetRootElement(document), writer: &writer, maximumNodes: limits.maximumNodes)
        return writer.finish()
    }

    /// Depth-first, iterative: an element is entered (`open`), its children visited, then left (`close`).
    private static func walk(_ root: xmlNodePtr?, writer: inout HTMLTextWriter, maximumNodes: Int) {
        var stack: [(node: xmlNodePtr, entered: Bool)] = root.map { [($0, false)] } ?? []
        var visited = 0
        while let (node, entered) = stack.popLast(), visited < maximumNodes, !writer.isFull {
            let element = node.pointee
            if entered {
                writer.close(name(element.name), href: attribute(node, "href"))
                continue
            }
            visited += 1
            switch element.type {
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = element.content { writer.text(String(cString: content)) }
            case XML_ELEMENT_NODE:
                let tag = name(element.name)
                guard !HTMLTextWriter.dropped.contains(tag) else { continue }
                writer.open(tag, alt: tag == "img" ? attribute(node, "alt") : nil,
                            start: tag == "ol" ? attribute(node, "start") : nil)
                stack.append((node, true))
                var children: [xmlNodePtr] = []
                var child = element.children
                while let current = child {
                    children.append(current)
                    child = current.pointee.next
                }
                stack += children.reversed().map { ($0, false) }
            default:
                continue  // comments, processing instructions, DTD nodes
            }
        }
    }

    private static func name(_ pointer: UnsafePointer<xmlChar>?) -> String {
        pointer.map { String(cString: $0).lowercased() } ?? ""
    }

    /// An attribute's text (from its child text nodes, no allocation by libxml2), at most 2000 scalars.
    private static func attribute(_ node: xmlNodePtr, _ wanted: String) -> String? {
        var property = node.pointee.properties
        while let current = property {
            defer { property = current.pointee.next }
            guard name(current.pointee.name) == wanted else { continue }
            var value = ""
            var child = current.pointee.children
            while let text = child {
                if let content = text.pointee.content { value += String(cString: content) }
                child = text.pointee.next
            }
            return String(value.unicodeScalars.prefix(2000))
        }
        return nil
    }
}
