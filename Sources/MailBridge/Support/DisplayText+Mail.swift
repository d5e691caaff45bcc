// Security: the one step every string taken from a client's mail passes before it is shown anywhere: on an inbox
// page, in a JSON field of the API, in a download's Content-Disposition, in `mailbridge thread show` (issue 25).
// Each function here is ``DisplayText/line(_:limit:)`` with the field's length limit, so there is one rule for
// controls (C0 with TAB, CR and LF, DEL, C1) and invisible formatting characters (the bidirectional embeddings,
// overrides, isolates and marks U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C among them): each becomes
// U+FFFD. The raw value stays sealed in the store as it arrived.

extension DisplayText {
    /// Most Unicode scalars of a shown subject (an RFC 5322 line); a longer one ends in "…".
    static let subjectLimit = 998
    /// Most Unicode scalars of a shown file name.
    static let fileNameLimit = 200
    /// Most Unicode scalars of a shown media type.
    static let mediaTypeLimit = 100

    /// A subject (of a message, or of a message forwarded inside it), cleaned for display.
    static func subject(_ text: String) -> String { line(text, limit: subjectLimit) }

    /// An attachment's file name, cleaned for display and for headers; `attachment` for a name that is empty.
    static func fileName(_ text: String) -> String {
        let result = line(text, limit: fileNameLimit)
        return result.isEmpty ? "attachment" : result
    }

    /// A media type as the sender declared it, cleaned for display.
    static func mediaType(_ text: String) -> String { line(text, limit: mediaTypeLimit) }
}
