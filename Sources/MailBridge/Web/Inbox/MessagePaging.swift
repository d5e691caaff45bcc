// Security: parses the message-page query parameters of the thread page and the API (`before`, `after`: keyset
// cursors of digits and a 128-bit hex ID, validated by `MessageCursor`). Nothing is echoed; a bad value is named
// by its parameter only.

import Hummingbird
import ThreadStore

/// The `before`/`after` query parameters shared by `GET /threads/{id}` and `GET /api/v1/threads/{id}`.
enum MessagePaging {
    /// A query parameter that is malformed, or `before` and `after` together (named `before`).
    struct BadParameter: Error {
        let name: String
    }

    /// The anchor the query asks for: the newest page without parameters. With `emptyIsAbsent` (the API, issue 25)
    /// an empty value counts as absent, as clients send `?before=` for "no cursor".
    static func anchor(_ query: Parameters, emptyIsAbsent: Bool = false) throws(BadParameter)
        -> MessagePageRequest.Anchor
    {
        func value(_ name: String) -> String? { query.get(name).flatMap { emptyIsAbsent && $0.isEmpty ? nil : $0 } }
        switch (value("before"), value("after")) {
        case (nil, nil):
            return .newest
        case (let text?, nil):
            guard let cursor = MessageCursor(text) else { throw BadParameter(name: "before") }
            return .before(cursor)
        case (nil, let text?):
            guard let cursor = MessageCursor(text) else { throw BadParameter(name: "after") }
            return .after(cursor)
        case (_?, _?):
            throw BadParameter(name: "before")
        }
    }
}
