// Security: public routes. They are registered on their own route group with only the security-headers
// middleware, before (inbox server) or instead of (own listener) the authentication middleware, so they never
// read or set a session cookie and never touch the store. Untrusted input: the `lang` query parameter, the
// Accept-Language header, the `organisation` query parameter and the path parameters, each only compared with
// fixed values.

public import Hummingbird
import NIOCore
import ThreadStore

/// The help page routes: `/help` (the page), `/help/help.css`, `/help/keys/<FINGERPRINT>.asc` (the armored
/// public key) and the Web Key Directory paths (`/.well-known/openpgpkey/…`, both methods of
/// draft-koch-openpgp-webkey-service §3.1), for the files `mailbridge keys wkd` would write.
public enum HelpRoutes {
    /// The page's path.
    public static let path = "/help"
    /// The help page's Content-Security-Policy: nothing but its own stylesheet, no forms, never framed.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; "
        + "base-uri 'none'"

    /// Adds the routes to `router`; with `atRoot` (the page's own listener) `/` serves the page too. On the inbox
    /// server, call this before any authentication middleware is added.
    public static func install<Context: RequestContext>(on router: Router<Context>, directory: HelpDirectory,
                                                        atRoot: Bool = false) {
        let page: @Sendable (Request, Context) async throws -> Response = { request, _ in
            let language = LoginPages.language(of: request)
            // `?organisation=ID` (issue 29): one organisation's page; an ID not on this page is the whole page.
            let organisation = request.uri.queryParameters.get("organisation").flatMap { directory.organisation(id: $0) }
            var response = WebResponses.html(HelpPage.render(directory, language: language, base: path,
                                                             keys: "\(path)/keys", organisation: organisation))
            response.headers[.contentSecurityPolicy] = contentSecurityPolicy
            response.headers[.contentLanguage] = language.rawValue
            response.headers[.vary] = "Accept-Language"
            return response
        }
        let help = router.group(RouterPath(path)).add(middleware: SecurityHeadersMiddleware<Context>())
        help.get(use: page)
        help.get("help.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: HelpPage.stylesheet)))
        }
        help.get("keys/:file") { _, context in
            guard let name = context.parameters.get("file"), let entry = directory.entry(keyFile: name) else {
                throw HTTPError(.notFound)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/pgp-keys",
                          .contentDisposition: WebResponses.contentDisposition(
                              fileName: "\(entry.address.unredactedDescription).asc")],
                body: .init(byteBuffer: ByteBuffer(bytes: entry.armoredKey)))
        }
        if atRoot {
            router.group().add(middleware: SecurityHeadersMiddleware<Context>()).get("/", use: page)
        }

        // WKD: the key in binary, and the (empty) policy file; readable from any origin (draft §3.1, §4.2).
        let wkd = router.group(".well-known/openpgpkey").add(middleware: SecurityHeadersMiddleware<Context>())
        let key: @Sendable (String?, String?) throws -> Response = { hash, domain in
            guard let hash, let entry = directory.entry(wkdHash: hash, domain: domain) else {
                throw HTTPError(.notFound)
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream",
                                                   .accessControlAllowOrigin: "*"],
                            body: .init(byteBuffer: ByteBuffer(bytes: entry.binaryKey)))
        }
        let policy: @Sendable (String?) throws -> Response = { domain in
            if let domain, !directory.entries.contains(where: { $0.address.domain == domain.lowercased() }) {
                throw HTTPError(.notFound)
            }
            return Response(status: .ok, headers: [.contentType: "text/plain", .accessControlAllowOrigin: "*"])
        }
        wkd.get("hu/:hash") { _, context in try key(context.parameters.get("hash"), nil) }
        wkd.get("policy") { _, _ in try policy(nil) }
        wkd.get(":domain/hu/:hash") { _, context in
            try key(context.parameters.get("hash"), context.parameters.get("domain") ?? "")
        }
        wkd.get(":domain/policy") { _, context in try policy(context.parameters.get("domain") ?? "") }
    }
}
