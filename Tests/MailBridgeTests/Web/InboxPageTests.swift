import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// The HTML inbox through Hummingbird's router test client, over real GnuPG, a real store file and real client
/// mail imported by the pipeline.
@Suite struct InboxPageTests {
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy",
         "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    static func expectSecurityHeaders(_ response: TestResponse, _ what: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, value) in securityHeaders {
            #expect(response.headers[HTTPFields.Element.Name(name)!] == value, "\(name) on \(what)",
                    sourceLocation: sourceLocation)
        }
    }

    static func canary() -> String { "CANARY\(UUID().uuidString.prefix(8))" }

    @Test func listShowsOnlyMyFieldsAndOtherFieldsAreNotFound() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let mine = try await harness.importClientMail(inner: "Content-Type: text/plain; charset=utf-8\n\nHallo \(canary)\n")
        let foreign = try await harness.importForeignThread(canary: canary)
        let mineID = mine.unredactedDescription, foreignID = foreign.unredactedDescription
        try await harness.test { client in
            let list = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("berater"))
            #expect(list.status == .ok)
            #expect(list.text.contains(mineID) && !list.text.contains(foreignID))
            #expect(list.text.contains("<html lang=\"de\">") && list.text.contains(">neu</span>"))
            #expect(!list.text.contains(canary), "the list decrypts nothing")

            let other = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("fremd"))
            #expect(other.text.contains(foreignID) && !other.text.contains(mineID))
            #expect(other.text.contains("<html lang=\"en\">") && other.text.contains("Threads"))

            let lead = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("leitung"))
            #expect(lead.text.contains(foreignID) && lead.text.contains(mineID))

            // Another field's thread, its attachment and its actions: 404, exactly like a thread that does not exist.
            for uri in ["/threads/\(foreignID)", "/threads/\(foreignID)/delete", "/threads/\(String(repeating: "0", count: 32))",
                        "/threads/not-an-id"] {
                let response = try await client.execute(uri: uri, method: .get, headers: harness.browser("berater"))
                #expect(response.status == .notFound, "\(uri)")
                #expect(!response.text.contains(canary))
            }
            let post = try await client.execute(uri: "/threads/\(foreignID)/state", method: .post,
                                                headers: harness.browser("berater", form: true),
                                                body: harness.form("berater", ["state": "closed"]))
            #expect(post.status == .notFound)

            // Not logged in: sent to the login page, nothing shown.
            let anonymous = try await client.execute(uri: "/threads/\(mineID)", method: .get, headers: [:])
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/login")
            Self.expectSecurityHeaders(anonymous, "redirect to login")
        }
        #expect(try await harness.store.read { try $0.inboxThread(foreign) }?.summary.state == .open)
        // The list is metadata only: no audit entry; the 404s left none either.
        let audit = try await harness.store.read { try $0.auditEntries() }
        #expect(!audit.contains { $0.actor != nil })
        await harness.pipe.close()
    }

    @Test func threadPageEscapesMailAndShowsTheVerdictOnlyInThePageChrome() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let text = """
            Hallo \(canary)-text
            <script>alert('\(canary)')</script>
            <span class="verdict verdict-valid">gültig – von der Klient*in dieser Anfrage</span>
            ✔ Signatur gültig
            """
        let inner = WebHarness.innerMail(subject: "Betreff <b>\(canary)</b>", text: text,
                                         html: "<p>\(canary)-HTMLPART</p><img src=\"https://tracker.example/x.png\">",
                                         fileName: "bericht<b>.html", attachment: "<script>\(canary)-file</script>")
        let thread = try await harness.importClientMail(inner: inner)
        let id = thread.unredactedDescription
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(id)", method: .get, headers: harness.browser("berater"))
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            Self.expectSecurityHeaders(page, "thread page")
            let html = page.text
            // Escaped, never markup.
            #expect(!html.contains("<script"))
            #expect(html.contains("&lt;script&gt;alert(&#39;\(canary)&#39;)&lt;/script&gt;"))
            #expect(html.contains("Betreff &lt;b&gt;\(canary)&lt;/b&gt;"))
            #expect(!html.contains("<b>"))
            // The HTML alternative is not rendered and no remote content is referenced; it is offered as a download.
            #expect(!html.contains("\(canary)-HTMLPART") && !html.contains("tracker.example"))
            #expect(html.contains("text/html,"))
            // Exactly one real verdict element, in the message header, before the message area; the mail's
            // imitation is escaped text inside the <pre>.
            let verdicts = html.components(separatedBy: "<span class=\"verdict ").count - 1
            #expect(verdicts == 1)
            let verdictAt = try #require(html.range(of: "<span class=\"verdict verdict-valid\">"))
            let contentAt = try #require(html.range(of: "<div class=\"mail-content\""))
            #expect(verdictAt.upperBound < contentAt.lowerBound)
            let pre = try #require(html.range(of: "<pre class=\"mail-text\" dir=\"auto\">"))
            let preEnd = try #require(html.range(of: "</pre>", range: pre.upperBound..<html.endIndex))
            let inside = html[pre.upperBound..<preEnd.lowerBound]
            #expect(inside.contains("&lt;span class=&quot;verdict verdict-valid&quot;&gt;"))
            #expect(inside.contains("✔ Signatur gültig"))
            // Every POST form carries the session's CSRF token; there is no script at all.
            let forms = html.components(separatedBy: "<form method=\"post\"").count - 1
            let tokens = html.components(
                separatedBy: "<input type=\"hidden\" name=\"csrf_token\" value=\"\(harness.csrf("berater"))\">"
            ).count - 1
            #expect(forms >= 4 && forms == tokens)
            // Accessibility basics.
            #expect(html.contains("<html lang=\"de\">") && html.contains("<main id=\"main\""))
            #expect(html.contains("<label for=\"reply-text\">") && html.contains("<textarea id=\"reply-text\""))

            // Downloads: never rendered by the browser.
            let attachmentPath = try #require(Self.links(in: html, containing: "/attachments/").first)
            let attachment = try await client.execute(uri: attachmentPath, method: .get,
                                                      headers: harness.browser("berater"))
            #expect(attachment.status == .ok)
            #expect(attachment.headers[.contentType] == "application/octet-stream")
            #expect(attachment.headers[.contentDisposition]
                    == "attachment; filename=\"bericht_b_.html\"; filename*=UTF-8''bericht%3Cb%3E.html")
            #expect(attachment.text == "<script>\(canary)-file</script>")
            Self.expectSecurityHeaders(attachment, "attachment")
            let partPath = try #require(Self.links(in: html, containing: "/parts/").first)
            let part = try await client.execute(uri: partPath, method: .get, headers: harness.browser("berater"))
            #expect(part.headers[.contentType] == "application/octet-stream")
            #expect(part.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            #expect(part.text.contains("\(canary)-HTMLPART"))
            // A position that does not exist.
            let missing = try await client.execute(uri: attachmentPath.replacingOccurrences(of: "/attachments/0", with: "/attachments/7"),
                                                   method: .get, headers: harness.browser("berater"))
            #expect(missing.status == .notFound)

            // The stylesheet and a 404 carry the headers too.
            let css = try await client.execute(uri: "/static/app.css", method: .get, headers: [:])
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            Self.expectSecurityHeaders(css, "stylesheet")
            let notFound = try await client.execute(uri: "/no/such/page", method: .get, headers: harness.browser("berater"))
            #expect(notFound.status == .notFound)
            Self.expectSecurityHeaders(notFound, "404")
        }
        // Viewing marked the thread read and ended "new"; view and downloads are audited with the actor.
        let summary = try #require(try await harness.store.read { try $0.inboxThread(thread) })
        #expect(summary.summary.unreadCount == 0 && summary.state == .open)
        let actor = harness.counsellor("berater").id
        let audit = try await harness.store.read { try $0.auditEntries() }.filter { $0.actor == actor }
        #expect(audit.map(\.event) == [.threadViewed, .attachmentDownloaded, .threadExported])
        #expect(audit.allSatisfy { $0.thread == thread && $0.channel == .browser })
        #expect(!(try await harness.auditTableDump()).contains(canary))
        for line in harness.pipe.logs.all { #expect(!line.contains(canary), "canary in a log line") }
        await harness.pipe.close()
    }

    /// A long reply in a non-Latin script (800 KB of UTF-8, 2.4 MB once percent-encoded) passes the CSRF check's
    /// form limit and is queued; it was refused with 413 while that limit was 2 MiB.
    @Test func longNonASCIIReplyFitsTheFormLimits() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importClientMail(
            inner: "Content-Type: text/plain; charset=utf-8\nSubject: Frage\n\nEine Frage\n")
        let id = thread.unredactedDescription
        let text = String(repeating: "ü", count: 400_000)
        try await harness.test { client in
            let posted = try await client.execute(uri: "/threads/\(id)/reply", method: .post,
                                                  headers: harness.browser("berater", form: true),
                                                  body: harness.form("berater", ["text": text]))
            #expect(posted.status == .seeOther)
        }
        #expect(try await harness.pipe.outbox().filter { $0.kind == .counsellorReply }.count == 1)
        await harness.pipe.close()
    }

    @Test func replyIsQueuedEncryptedToTheClientWithoutQuoting() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let thread = try await harness.importClientMail(
            inner: "Content-Type: text/plain; charset=utf-8\nSubject: Frage\n\nMeine Frage \(canary)-client\n")
        let id = thread.unredactedDescription
        let replyText = "Liebe Klientin,\r\nhier ist meine Antwort \(canary)-reply.\r\nÄ ö ü & <ok>"
        try await harness.test { client in
            // Without the CSRF token the CSRF middleware refuses before the route runs.
            let forged = try await client.execute(uri: "/threads/\(id)/reply", method: .post,
                                                  headers: harness.browser("berater", form: true),
                                                  body: ByteBuffer(string: "text=forged"))
            #expect(forged.status == .forbidden)

            // A browser under our `Referrer-Policy: no-referrer` sends `Origin: null` with `Sec-Fetch-Site:
            // same-origin` (as Chromium does in BrowserInboxTests): accepted. `null` alone or a cross-site post: not.
            var nullOrigin = harness.browser("berater", form: true)
            nullOrigin[.origin] = "null"
            let refusedNull = try await client.execute(uri: "/threads/\(id)/reply", method: .post, headers: nullOrigin,
                                                       body: harness.form("berater", ["text": replyText]))
            #expect(refusedNull.status == .forbidden)
            var crossSite = harness.browser("berater", form: true)
            crossSite[HTTPFields.Element.Name("Sec-Fetch-Site")!] = "cross-site"
            let refusedCrossSite = try await client.execute(uri: "/threads/\(id)/reply", method: .post,
                                                            headers: crossSite,
                                                            body: harness.form("berater", ["text": replyText]))
            #expect(refusedCrossSite.status == .forbidden)
            nullOrigin[HTTPFields.Element.Name("Sec-Fetch-Site")!] = "same-origin"
            let posted = try await client.execute(uri: "/threads/\(id)/reply", method: .post, headers: nullOrigin,
                                                  body: harness.form("berater", ["text": replyText]))
            #expect(posted.status == .seeOther)
            #expect(posted.headers[.location] == "/threads/\(id)?notice=reply-queued")
            Self.expectSecurityHeaders(posted, "POST redirect")
            let page = try await client.execute(uri: "/threads/\(id)?notice=reply-queued", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.text.contains("Die Antwort wurde verschlüsselt in den Versand gegeben."))
            #expect(page.text.contains("hier ist meine Antwort \(canary)-reply."))
            #expect(page.text.contains(">wartet auf Klient*in</span>"))

            let empty = try await client.execute(uri: "/threads/\(id)/reply", method: .post,
                                                 headers: harness.browser("berater", form: true),
                                                 body: harness.form("berater", ["text": "  \r\n "]))
            #expect(empty.status == .badRequest)

            // The page's logout form (POST with the CSRF token) ends the session.
            let logout = try await client.execute(uri: WebAuthNames.logoutPath, method: .post,
                                                  headers: harness.browser("berater", form: true),
                                                  body: harness.form("berater", [:]))
            #expect(logout.status == .seeOther)
            let afterLogout = try await client.execute(uri: "/threads", method: .get, headers: harness.browser("berater"))
            #expect(afterLogout.status == .seeOther && afterLogout.headers[.location] == WebAuthNames.loginPath)
        }
        // The outbox holds one encrypted reply to the client; the client's gpg decrypts it; nothing is quoted.
        let replies = try await harness.pipe.outbox().filter { $0.kind == .counsellorReply }
        #expect(replies.count == 1)
        let reply = try #require(replies.first)
        #expect(reply.recipient.unredactedDescription == WebHarness.clientAddress)
        let mail = String(decoding: reply.payload, as: UTF8.self)
        #expect(mail.contains("multipart/encrypted") && !mail.contains(canary))
        let start = try #require(mail.range(of: "-----BEGIN PGP MESSAGE-----"))
        let end = try #require(mail.range(of: "-----END PGP MESSAGE-----"))
        let armored = String(mail[start.lowerBound..<end.upperBound]).replacingOccurrences(of: "\r\n", with: "\n")
        let gpgClient = harness.pipe.client
        let decrypted = try await offCooperativePool {
            try gpgClient.gpg(["--decrypt"], stdin: Array(armored.utf8)).stdout.text
        }
        let unfolded = decrypted.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "")
        #expect(unfolded.contains("\(canary)-reply"))
        #expect(!decrypted.contains("\(canary)-client"), "the client's text is not quoted")
        // Audited with the actor, without content.
        let actor = harness.counsellor("berater").id
        let audit = try await harness.store.read { try $0.auditEntries() }.filter { $0.actor == actor }
        #expect(audit.map(\.event) == [.threadStateChanged, .replyQueued, .threadAssigned, .threadViewed, .loggedOut])
        #expect(!(try await harness.auditTableDump()).contains(canary))
        for line in harness.pipe.logs.all { #expect(!line.contains(canary), "canary in a log line") }
        await harness.pipe.close()
    }

    @Test func aReplyToAnUnusableKeyTellsThatOnlyTheNoticeWasSent() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let thread = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nFrage \(canary)\n")
        let id = thread.unredactedDescription
        // The gateway no longer has the client's key.
        let key = try #require(harness.clientKey)
        let gatewayHome = harness.pipe.root.appendingPathComponent("gw").path
        try await offCooperativePool {
            try Shell.run("gpg", ["--homedir", gatewayHome, "--batch", "--yes", "--delete-keys", key.hex])
        }
        try await harness.test { client in
            let posted = try await client.execute(uri: "/threads/\(id)/reply", method: .post,
                                                  headers: harness.browser("berater", form: true),
                                                  body: harness.form("berater", ["text": "Antwort \(canary)-reply"]))
            #expect(posted.headers[.location] == "/threads/\(id)?notice=reply-key-missing")
            let page = try await client.execute(uri: posted.headers[.location]!, method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.text.contains("<div class=\"notice notice-warning\" role=\"status\">Der Schlüssel der "
                                       + "Klient*in ist nicht nutzbar (fehlt). Die Antwort wird zurückgehalten, bis "
                                       + "ein nutzbarer Schlüssel da ist; an die Klient*in ging nur der Hinweis, dass "
                                       + "eine Antwort wartet und wie sie einen aktuellen Schlüssel sendet.</div>"))
            // Issue 17: the reply is marked held, not shown as sent, and the form says replies are held.
            #expect(page.text.contains("<span class=\"badge badge-held\">Zurückgehalten: wartet auf einen nutzbaren "
                                       + "Schlüssel der Klient*in</span>"))
            #expect(page.text.contains("Ihre Antwort (wird zurückgehalten, bis ein nutzbarer Schlüssel da ist)"))
            #expect(!page.text.contains("Ihre Antwort (wird verschlüsselt gesendet)"))
            #expect(page.text.contains("Für diese Anfrage liegt kein Schlüssel der Klient*in vor."))
            let api = try await client.execute(uri: "/api/v1/threads/\(id)/replies", method: .post,
                                               headers: harness.api("berater", json: true),
                                               body: ByteBuffer(string: #"{"text": "Noch eine Antwort"}"#))
            #expect(api.status == .created)
            #expect(api.text.contains(#""keyProblem":"missing""#) && api.text.contains(#""outcome":"key_unusable""#))
            let fetched = try await client.execute(uri: "/api/v1/threads/\(id)", method: .get,
                                                   headers: harness.api("berater"))
            #expect(fetched.text.components(separatedBy: #""held":true"#).count - 1 == 2)
            #expect(fetched.text.contains(#""awaitingClientKey":false"#))
        }
        let queued = try await harness.pipe.outbox().filter { $0.thread == thread }
        #expect(queued.map(\.kind) == [.notification, .notification])
        #expect(queued.allSatisfy { !String(decoding: $0.payload, as: UTF8.self).contains(canary) })
        await harness.pipe.close()
    }

    @Test func deleteNeedsATeamLeadAndAConfirmationAndShreds() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let thread = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nText \(canary)\n")
        let id = thread.unredactedDescription
        try await harness.test { client in
            // A counsellor of the field may not delete.
            let page = try await client.execute(uri: "/threads/\(id)/delete", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.status == .forbidden)
            let counsellorPost = try await client.execute(uri: "/threads/\(id)/delete", method: .post,
                                                          headers: harness.browser("berater", form: true),
                                                          body: harness.form("berater", ["confirm": "yes"]))
            #expect(counsellorPost.status == .forbidden)
            // A team lead without the confirmation field is sent to the confirmation page.
            let unconfirmed = try await client.execute(uri: "/threads/\(id)/delete", method: .post,
                                                       headers: harness.browser("leitung", form: true),
                                                       body: harness.form("leitung", [:]))
            #expect(unconfirmed.status == .seeOther && unconfirmed.headers[.location] == "/threads/\(id)/delete")
            let confirmPage = try await client.execute(uri: "/threads/\(id)/delete", method: .get,
                                                       headers: harness.browser("leitung"))
            #expect(confirmPage.status == .ok)
            #expect(confirmPage.text.contains("<input type=\"hidden\" name=\"confirm\" value=\"yes\">"))
            #expect(try await harness.store.read { try $0.inboxThread(thread) } != nil)

            let confirmed = try await client.execute(uri: "/threads/\(id)/delete", method: .post,
                                                     headers: harness.browser("leitung", form: true),
                                                     body: harness.form("leitung", ["confirm": "yes"]))
            #expect(confirmed.status == .seeOther && confirmed.headers[.location] == "/threads?notice=deleted")
            let gone = try await client.execute(uri: "/threads/\(id)", method: .get,
                                                headers: harness.browser("leitung"))
            #expect(gone.status == .notFound)
        }
        #expect(try await harness.store.read { try $0.inboxThread(thread) } == nil)
        #expect(try harness.pipe.rawDatabaseBytes().firstRange(of: Array(canary.utf8)) == nil)
        let deletion = try await harness.store.read { try $0.auditEntries() }.filter { $0.event == .threadDeleted }
        #expect(deletion.count == 1 && deletion[0].actor == harness.counsellor("leitung").id)
        await harness.pipe.close()
    }

    @Test func assignCloseReopenAndConfirmAKeyChange() async throws {
        let harness = try await WebHarness()
        let old = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nErste Anfrage\n")
        // The same address writes with a new key: the pipeline starts a new thread.
        let new = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nNeuer Schlüssel\n",
                                                     newKey: true)
        #expect(old != new)
        let id = new.unredactedDescription
        let me = harness.counsellor("berater")
        try await harness.test { client in
            let headers = harness.browser("berater", form: true)
            let assign = try await client.execute(uri: "/threads/\(id)/assignment", method: .post, headers: headers,
                                                  body: harness.form("berater", ["assignee": "me"]))
            #expect(assign.headers[.location] == "/threads/\(id)?notice=assigned")
            let close = try await client.execute(uri: "/threads/\(id)/state", method: .post, headers: headers,
                                                 body: harness.form("berater", ["state": "closed"]))
            #expect(close.headers[.location] == "/threads/\(id)?notice=state-changed")
            let bad = try await client.execute(uri: "/threads/\(id)/state", method: .post, headers: headers,
                                               body: harness.form("berater", ["state": "deleted"]))
            #expect(bad.status == .badRequest)

            let page = try await client.execute(uri: "/threads/\(id)", method: .get, headers: harness.browser("berater"))
            #expect(page.text.contains("<dd>Name berater</dd>"))  // the assignee
            #expect(page.text.contains(">geschlossen</span>") && page.text.contains("Wieder öffnen"))
            #expect(page.text.contains("eine frühere Anfrage mit einem anderen Schlüssel"))
            #expect(page.text.contains("href=\"/threads/\(old.unredactedDescription)\""))
            let confirm = try await client.execute(uri: "/threads/\(id)/key-change", method: .post, headers: headers,
                                                   body: harness.form("berater", [:]))
            #expect(confirm.headers[.location] == "/threads/\(id)?notice=key-change-confirmed")
            let again = try await client.execute(uri: "/threads/\(id)/key-change", method: .post, headers: headers,
                                                 body: harness.form("berater", [:]))
            #expect(again.status == .badRequest)
            let after = try await client.execute(uri: "/threads/\(id)", method: .get, headers: harness.browser("berater"))
            #expect(after.text.contains("Schlüsselwechsel bestätigt am"))
            #expect(!after.text.contains("Ich habe geprüft"))
            // The older thread points to the newer one.
            let older = try await client.execute(uri: "/threads/\(old.unredactedDescription)", method: .get,
                                                 headers: harness.browser("berater"))
            #expect(older.text.contains("eine spätere Anfrage mit einem anderen Schlüssel"))
        }
        let summary = try #require(try await harness.store.read { try $0.inboxThread(new) })
        #expect(summary.assignedTo == me.id && summary.state == .closed)
        let audit = try await harness.store.read { try $0.auditEntries() }.filter { $0.actor == me.id }
        #expect(audit.map(\.event) == [.threadAssigned, .threadStateChanged, .threadViewed, .clientKeyChangeConfirmed,
                                       .threadViewed, .threadViewed])
        await harness.pipe.close()
    }

    @Test func teamLeadsAssignToAccountsThatSeeTheField() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nBitte um Hilfe\n")
        let id = thread.unredactedDescription
        let berater = harness.counsellor("berater").id.unredactedDescription
        let fremd = harness.counsellor("fremd").id.unredactedDescription
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(id)", method: .get, headers: harness.browser("leitung"))
            #expect(page.text.contains("<label for=\"assignee\">Zuweisen an</label>"))
            #expect(page.text.contains("<option value=\"\(berater)\">Name berater</option>"))
            #expect(!page.text.contains(fremd), "an account of another field is not offered")
            let assigned = try await client.execute(uri: "/threads/\(id)/assignment", method: .post,
                                                    headers: harness.browser("leitung", form: true),
                                                    body: harness.form("leitung", ["assignee": berater]))
            #expect(assigned.headers[.location] == "/threads/\(id)?notice=reassigned")
            let refused = try await client.execute(uri: "/threads/\(id)/assignment", method: .post,
                                                   headers: harness.browser("leitung", form: true),
                                                   body: harness.form("leitung", ["assignee": fremd]))
            #expect(refused.status == .badRequest)
            // A counsellor cannot hand a thread to someone else.
            let lead = harness.counsellor("leitung").id.unredactedDescription
            let byCounsellor = try await client.execute(uri: "/threads/\(id)/assignment", method: .post,
                                                        headers: harness.browser("berater", form: true),
                                                        body: harness.form("berater", ["assignee": lead]))
            #expect(byCounsellor.status == .forbidden)
            let counsellorPage = try await client.execute(uri: "/threads/\(id)", method: .get,
                                                          headers: harness.browser("berater"))
            #expect(!counsellorPage.text.contains("<select id=\"assignee\""))
            #expect(counsellorPage.text.contains("Zuweisung aufheben"))  // assigned to berater: can unassign
        }
        #expect(try await harness.store.read { try $0.inboxThread(thread) }?.assignedTo == harness.counsellor("berater").id)
        await harness.pipe.close()
    }

    /// The `href` values of `<a>` elements that contain `fragment`.
    static func links(in html: String, containing fragment: String) -> [String] {
        html.components(separatedBy: "href=\"").dropFirst().compactMap { rest in
            guard let end = rest.firstIndex(of: "\"") else { return nil }
            let link = String(rest[..<end])
            return link.contains(fragment) ? link : nil
        }
    }
}
