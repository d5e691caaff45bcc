import CEtPan
import Foundation

/// How to reach and authenticate one IMAP server. `description` names no user or password.
struct IMAPConnectionSettings: Sendable {
    enum Security: Sendable { case implicitTLS, startTLS }

    var host: String
    var port: Int
    var security: Security
    /// The name the server certificate must be valid for (normally ``host``).
    var verifyHostName: String
    /// PEM trust anchors; nil means the system store.
    var caFile: String?
    /// Network timeout for connect and every read/write, in seconds (libetpan `mailimap_set_timeout`).
    var timeoutSeconds: Int = 30
}

/// Owns one libetpan `mailimap*` session (freed in `deinit` with `mailimap_free`). Every method is a blocking
/// libetpan call: use it from one thread at a time and never on an event loop or the cooperative pool
/// (``IMAPClient`` runs it on `NIOThreadPool`).
///
/// Security: everything the server sends is untrusted; libetpan parses it (a parse failure is
/// ``IMAPError/Code/malformedResponse`` and the caller closes the connection). No credential is sent before the
/// TLS peer has been verified by ``IMAPCertificateVerifier`` (``isTLSVerified``).
final class IMAPConnection {
    private let session: UnsafeMutablePointer<mailimap>
    private let settings: IMAPConnectionSettings
    /// True only after TLS is up and the peer chain and host name verified.
    private(set) var isTLSVerified = false
    /// Commands written to the server so far (LOGIN included); used by tests to prove nothing was sent.
    private(set) var commandsSent = 0

    init(settings: IMAPConnectionSettings) throws(IMAPError) {
        // "mailimap_new() creates a new IMAP session" (mailimap.h); 0/NULL: default progress reporting.
        guard let session = mailimap_new(0, nil) else { throw IMAPError(.connect) }
        self.session = session
        self.settings = settings
        mailimap_set_timeout(session, time_t(settings.timeoutSeconds))
    }

    deinit { mailimap_free(session) }

    /// Connects, brings up TLS (implicit or STARTTLS) and verifies the peer. Throws unless verified.
    func connect() throws(IMAPError) {
        guard (1...65535).contains(settings.port) else { throw IMAPError(.connect) }
        let port = UInt16(settings.port)
        switch settings.security {
        case .implicitTLS:
            let status = withServerName { callback, data in
                mailimap_ssl_connect_with_callback(session, settings.host, port, callback, data)
            }
            guard Int(status) == MAILIMAP_NO_ERROR_NON_AUTHENTICATED || Int(status) == MAILIMAP_NO_ERROR_AUTHENTICATED
            else { throw IMAPError(Int(status) == MAILIMAP_ERROR_PARSE ? .malformedResponse : .connect, status: status) }
        case .startTLS:
            let status = mailimap_socket_connect(session, settings.host, port)
            if Int(status) == MAILIMAP_NO_ERROR_AUTHENTICATED {
                throw IMAPError(.preauthWithoutTLS)
            }
            guard Int(status) == MAILIMAP_NO_ERROR_NON_AUTHENTICATED else {
                throw IMAPError(Int(status) == MAILIMAP_ERROR_PARSE ? .malformedResponse : .connect, status: status)
            }
            commandsSent += 1
            // RFC 9051 §6.2.1: STARTTLS; if the server refuses or the handshake fails, stop (no fallback).
            let tls = withServerName { callback, data in
                mailimap_socket_starttls_with_callback(session, callback, data)
            }
            guard Int(tls) == MAILIMAP_NO_ERROR else { throw IMAPError(.startTLSUnavailable, status: tls) }
        }
        try verifyPeer()
        isTLSVerified = true
    }

    /// Sets SNI in libetpan's SSL context callback (`mailstream_ssl_set_server_name`).
    private func withServerName(
        _ body: (
            @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer
        ) -> Int32
    ) -> Int32 {
        let name = strdup(settings.verifyHostName)!
        defer { free(name) }
        let callback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { context, data in
            guard let context, let data, !IMAPCertificateVerifier.isIPLiteral(String(cString: data.assumingMemoryBound(to: CChar.self)))
            else { return }
            _ = mailstream_ssl_set_server_name(context, data.assumingMemoryBound(to: CChar.self))
        }
        return body(callback, UnsafeMutableRawPointer(name))
    }

    private func verifyPeer() throws(IMAPError) {
        guard let stream = session.pointee.imap_stream,
            let chain = mailstream_get_certificate_chain(stream)
        else { throw IMAPError(.certificateRejected) }
        var certificates: [[UInt8]] = []
        for index in 0..<Int(chain.pointee.len) {
            guard let raw = chain.pointee.array[index] else { continue }
            let string = raw.assumingMemoryBound(to: MMAPString.self)
            if let bytes = string.pointee.str, string.pointee.len <= IMAPCertificateVerifier.maximumCertificateBytes {
                certificates.append(Array(UnsafeRawBufferPointer(start: bytes, count: string.pointee.len)))
            }
            mmap_string_free(string)
        }
        carray_free(chain)
        try IMAPCertificateVerifier(caFile: settings.caFile, hostName: settings.verifyHostName)
            .verify(chain: certificates)
    }

    /// LOGIN (RFC 9051 §6.2.3). Refused before anything is written unless TLS is up and verified.
    func login(username: String, password: String) throws(IMAPError) {
        guard isTLSVerified else { throw IMAPError.plaintextLoginRefused }
        commandsSent += 1
        try check(mailimap_login(session, username, password), as: .login)
    }

    /// SELECT (RFC 9051 §6.3.2); returns the number of messages (EXISTS).
    func select(_ folder: String) throws(IMAPError) -> Int {
        try requireTLS()
        commandsSent += 1
        try check(mailimap_select(session, folder), as: .select)
        return Int(session.pointee.imap_selection_info?.pointee.sel_exists ?? 0)
    }

    /// The folder's UIDVALIDITY from the last SELECT (RFC 9051 §2.3.1.1), 0 if the server sent none.
    var uidValidity: UInt32 {
        session.pointee.imap_selection_info?.pointee.sel_uidvalidity ?? 0
    }

    /// Every UID in the selected folder, ascending (`FETCH 1:* (UID)`). Asks for nothing the server must open a
    /// message for (Dovecot answers from its index), so one unreadable message cannot break the listing.
    func listUIDs() throws(IMAPError) -> [UInt32] {
        try requireTLS()
        guard (session.pointee.imap_selection_info?.pointee.sel_exists ?? 0) > 0 else { return [] }
        let set = mailimap_set_new_interval(1, 0)  // 0 = "*"
        defer { mailimap_set_free(set) }
        let type = mailimap_fetch_type_new_fetch_att_list_empty()
        defer { mailimap_fetch_type_free(type) }
        mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid())
        var result: UnsafeMutablePointer<clist>?
        commandsSent += 1
        try check(mailimap_fetch(session, set, type, &result), as: .fetch)
        defer { if let result { mailimap_fetch_list_free(result) } }
        var uids: [UInt32] = []
        for attribute in Self.items(result) {
            for item in Self.staticItems(attribute) where Int(item.pointee.att_type) == MAILIMAP_MSG_ATT_UID {
                uids.append(item.pointee.att_data.att_uid)
            }
        }
        return uids.filter { $0 > 0 }.sorted()
    }

    /// RFC822.SIZE of one message (`UID FETCH uid (UID RFC822.SIZE)`, RFC 9051 §7.5.2); nil if the UID is gone.
    func messageSize(uid: UInt32) throws(IMAPError) -> Int? {
        try requireTLS()
        let set = mailimap_set_new_single(uid)
        defer { mailimap_set_free(set) }
        let type = mailimap_fetch_type_new_fetch_att_list_empty()
        defer { mailimap_fetch_type_free(type) }
        mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid())
        mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_rfc822_size())
        var result: UnsafeMutablePointer<clist>?
        commandsSent += 1
        try check(mailimap_uid_fetch(session, set, type, &result), as: .fetch)
        defer { if let result { mailimap_fetch_list_free(result) } }
        for attribute in Self.items(result) {
            var matches = false
            var size: Int?
            for item in Self.staticItems(attribute) {
                switch Int(item.pointee.att_type) {
                case MAILIMAP_MSG_ATT_UID: matches = item.pointee.att_data.att_uid == uid
                case MAILIMAP_MSG_ATT_RFC822_SIZE: size = Int(item.pointee.att_data.att_rfc822_size)
                default: break
                }
            }
            if matches, let size { return size }
        }
        return nil
    }

    /// The full message `BODY.PEEK[]` (RFC 9051 §6.4.5; PEEK leaves \Seen alone). Nil if the server has no
    /// such UID any more. Throws if it is larger than `maximumSize`.
    ///
    /// Limit: libetpan reads the whole literal into memory before we see its length, so the caller checks
    /// RFC822.SIZE first; a server that lies about the size can still make libetpan buffer what it sends
    /// (until the network timeout).
    func fetchMessage(uid: UInt32, maximumSize: Int) throws(IMAPError) -> Data? {
        try requireTLS()
        let set = mailimap_set_new_single(uid)
        defer { mailimap_set_free(set) }
        let type = mailimap_fetch_type_new_fetch_att_list_empty()
        defer { mailimap_fetch_type_free(type) }
        mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid())
        mailimap_fetch_type_new_fetch_att_list_add(
            type, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(nil)))
        var result: UnsafeMutablePointer<clist>?
        commandsSent += 1
        try check(mailimap_uid_fetch(session, set, type, &result), as: .fetch)
        defer { if let result { mailimap_fetch_list_free(result) } }
        for attribute in Self.items(result) {
            var matchesUID = false
            var body: Data?
            for item in Self.staticItems(attribute) {
                switch Int(item.pointee.att_type) {
                case MAILIMAP_MSG_ATT_UID: matchesUID = item.pointee.att_data.att_uid == uid
                case MAILIMAP_MSG_ATT_BODY_SECTION:
                    guard let section = item.pointee.att_data.att_body_section else { continue }
                    let length = section.pointee.sec_length
                    guard length <= maximumSize else { throw IMAPError(.fetch) }
                    body = section.pointee.sec_body_part.map { Data(bytes: $0, count: length) } ?? Data()
                default: break
                }
            }
            if matchesUID, let body { return body }
        }
        return nil
    }

    /// Marks one message as imported: UID MOVE (RFC 6851) if offered, else UID COPY + STORE \Deleted + UID
    /// EXPUNGE (RFC 4315) or EXPUNGE; or, for `moveTo == nil`, STORE \Deleted + (UID) EXPUNGE.
    func markImported(uid: UInt32, moveTo folder: String?) throws(IMAPError) {
        try requireTLS()
        let set = mailimap_set_new_single(uid)
        defer { mailimap_set_free(set) }
        if let folder {
            if mailimap_has_extension(session, "MOVE") != 0 {
                commandsSent += 1
                try check(mailimap_uid_move(session, set, folder), as: .move)
                return
            }
            commandsSent += 1
            try check(mailimap_uid_copy(session, set, folder), as: .move)
        }
        let flags = mailimap_flag_list_new_empty()
        mailimap_flag_list_add(flags, mailimap_flag_new_deleted())
        let store = mailimap_store_att_flags_new_add_flags_silent(flags)
        defer { mailimap_store_att_flags_free(store) }
        commandsSent += 1
        try check(mailimap_uid_store(session, set, store), as: .store)
        commandsSent += 1
        if mailimap_has_uidplus(session) != 0 {
            try check(mailimap_uid_expunge(session, set), as: .expunge)
        } else {
            try check(mailimap_expunge(session), as: .expunge)
        }
    }

    /// How an IDLE ended.
    enum IdleResult: Sendable, Equatable {
        /// The server sent something (new mail, usually `* n EXISTS`).
        case woke
        /// The time was up, or the task was cancelled, without news.
        case quiet
        /// The server does not offer IDLE (RFC 2177); nothing was sent.
        case unsupported
    }

    /// IDLE (RFC 2177) for at most `seconds`. Checks `isCancelled` every 250 ms so a
    /// shutdown does not wait for the whole interval. The connection is out of IDLE (DONE sent) on return.
    func idle(seconds: Int, isCancelled: () -> Bool) throws(IMAPError) -> IdleResult {
        try requireTLS()
        guard mailimap_has_idle(session) != 0 else { return .unsupported }
        commandsSent += 1
        try check(mailimap_idle(session), as: .fetch)
        var woke = (session.pointee.imap_stream?.pointee.read_buffer_len ?? 0) > 0
        let fd = mailimap_idle_get_fd(session)
        var remaining = seconds * 1000
        while !woke && remaining > 0 && !isCancelled() && fd >= 0 {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let slice = min(250, remaining)
            let ready = poll(&descriptor, 1, Int32(slice))
            if ready < 0 && errno != EINTR { break }
            woke = ready > 0
            remaining -= slice
        }
        try check(mailimap_idle_done(session), as: .fetch)
        return woke ? .woke : .quiet
    }

    /// CREATE (RFC 9051 §6.3.4); an existing folder is not an error worth reporting (the server says NO).
    func createFolderIfMissing(_ folder: String) throws(IMAPError) {
        try requireTLS()
        commandsSent += 1
        let status = mailimap_create(session, folder)
        if Int(status) == MAILIMAP_ERROR_PARSE || Int(status) == MAILIMAP_ERROR_STREAM {
            throw IMAPError(Int(status) == MAILIMAP_ERROR_PARSE ? .malformedResponse : .stream, status: status)
        }
    }

    /// CAPABILITY (RFC 9051 §6.1.1): refreshes what libetpan knows (MOVE, UIDPLUS) after LOGIN.
    func refreshCapabilities() throws(IMAPError) {
        try requireTLS()
        var data: UnsafeMutablePointer<mailimap_capability_data>?
        commandsSent += 1
        try check(mailimap_capability(session, &data), as: .login)
        if let data { mailimap_capability_data_free(data) }
    }

    /// LOGOUT (RFC 9051 §6.1.3); errors are ignored, the session is closed anyway.
    func logout() {
        guard session.pointee.imap_stream != nil else { return }
        _ = mailimap_logout(session)
    }

    /// Closes the connection without a command (after an error, a refused STARTTLS or a malformed response:
    /// nothing more is said to that server). `mailimap_free` would close it too; this does it now.
    func disconnect() {
        guard let stream = session.pointee.imap_stream else { return }
        mailstream_close(stream)
        session.pointee.imap_stream = nil
        isTLSVerified = false
    }

    private func requireTLS() throws(IMAPError) {
        guard isTLSVerified else { throw IMAPError(.notConnected) }
    }

    private func check(_ status: Int32, as code: IMAPError.Code) throws(IMAPError) {
        switch Int(status) {
        case MAILIMAP_NO_ERROR, MAILIMAP_NO_ERROR_AUTHENTICATED, MAILIMAP_NO_ERROR_NON_AUTHENTICATED:
            return
        case MAILIMAP_ERROR_PARSE: throw IMAPError(.malformedResponse, status: status)
        case MAILIMAP_ERROR_STREAM: throw IMAPError(.stream, status: status)
        default: throw IMAPError(code, status: status)
        }
    }

    /// The `mailimap_msg_att*` entries of a FETCH result list.
    private static func items(_ list: UnsafeMutablePointer<clist>?) -> [UnsafeMutablePointer<mailimap_msg_att>] {
        var out: [UnsafeMutablePointer<mailimap_msg_att>] = []
        var cell = list?.pointee.first
        while let current = cell {
            cell = current.pointee.next
            if let data = current.pointee.data { out.append(data.assumingMemoryBound(to: mailimap_msg_att.self)) }
        }
        return out
    }

    /// The static items (UID, RFC822.SIZE, BODY[...]) of one message's attributes.
    private static func staticItems(
        _ attribute: UnsafeMutablePointer<mailimap_msg_att>
    ) -> [UnsafeMutablePointer<mailimap_msg_att_static>] {
        var out: [UnsafeMutablePointer<mailimap_msg_att_static>] = []
        var cell = attribute.pointee.att_list?.pointee.first
        while let current = cell {
            cell = current.pointee.next
            guard let item = current.pointee.data?.assumingMemoryBound(to: mailimap_msg_att_item.self),
                Int(item.pointee.att_type) == MAILIMAP_MSG_ATT_ITEM_STATIC,
                let value = item.pointee.att_data.att_static
            else { continue }
            out.append(value)
        }
        return out
    }
}

@available(*, unavailable)
extension IMAPConnection: Sendable {}
