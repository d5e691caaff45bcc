extension MIMEHeaders {
    /// The Message-IDs this message answers: `In-Reply-To` first, then `References` newest first (RFC 5322
    /// §3.6.4), each `<…>` without spaces and at most 998 octets, without repeats, at most 32. Only for matching
    /// a reply to a message we sent; never shown or logged.
    var referencedMessageIDs: [String] {
        func ids(_ name: String) -> [String] {
            all(name).flatMap { field -> [String] in
                var found: [String] = []
                var rest = Substring(field.value)
                while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
                    let id = rest[open...close]
                    if id.count <= 998, !id.dropFirst().contains(where: { $0 == "<" || $0.isWhitespace }) {
                        found.append(String(id))
                    }
                    rest = rest[rest.index(after: close)...]
                }
                return found
            }
        }
        var seen = Set<String>()
        return Array((ids("In-Reply-To") + ids("References").reversed()).filter { seen.insert($0).inserted }.prefix(32))
    }
}
