/// Decodes `format=flowed` text (RFC 3676 §4): a line ending in a space is soft-broken and joins the next line of
/// the same quote depth; a leading space added for stuffing is removed (§4.4); with `delsp=yes` the trailing
/// space of a soft break is deleted (§4.2). The signature separator `-- ` is never flowed (§4.3). Pure; output
/// is never longer than the input.
enum FlowedText {
    static func decode(_ text: String, deleteSpace: Bool) -> String {
        var output: [String] = []
        var paragraph: String?
        var paragraphDepth = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            var depth = 0
            while line.first == ">" {
                depth += 1
                line = line.dropFirst()
            }
            if line.first == " " { line = line.dropFirst() }  // stuffing (§4.4), also after quote marks (§4.5)
            let isSignature = line == "-- "
            let soft = !isSignature && line.last == " "
            if let open = paragraph, depth != paragraphDepth {
                output.append(quoted(open, paragraphDepth))  // a depth change ends the paragraph (§4.5)
                paragraph = nil
            }
            var content = String(line)
            if soft, deleteSpace { content.removeLast() }
            let joined = (paragraph ?? "") + content
            if soft {
                paragraph = joined
                paragraphDepth = depth
            } else {
                output.append(quoted(joined, depth))
                paragraph = nil
            }
        }
        if let open = paragraph { output.append(quoted(open, paragraphDepth)) }
        return output.joined(separator: "\n")
    }

    private static func quoted(_ line: String, _ depth: Int) -> String {
        depth == 0 ? line : String(repeating: ">", count: depth) + " " + line
    }
}
