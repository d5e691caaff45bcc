// Security: the JSON API for platform integrations (issue 8). Untrusted input: path parameters (validated IDs and
// small integers), query parameters (state, assigned, limit, cursors; bounded and validated) and JSON bodies
// (size-capped, decoded into fixed shapes; an undecodable body gets a fixed message, never the decoder's
// description). Authentication is done by the accounts side's middleware (bearer API token, or a browser session
// whose POST/PUT requests it checks for the CSRF token; unauthenticated requests get its 401 before any route
// runs); these handlers only require that an account was established. Errors are
// `{"error": code, "message": fixed text}` and never contain content or echoed input. Access control and audit
// live in CounsellorInbox: a thread of a field the account may not see is 404.

import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ThreadStore

/// `/api/v1/…` (see ``OpenAPIDocument``).
struct APIRoutes: Sendable {
    let services: WebServices
    var inbox: CounsellorInbox { CounsellorInbox(services: services) }

    static let prefix = "/api/v1"
    /// Largest JSON body: a maximal reply, JSON-escaped (`\uXXXX` is 6 octets for 1–3 UTF-8 octets).
    static let maximumBodyBytes = 2 * ReplyComposer.maximumTextBytes + (4 << 10)
    static let defaultPageSize = 50
    static let maximumPageSize = 200

    /// An API failure with its HTTP status and a fixed message.
    struct Problem: Error {
        let status: HTTPResponse.Status
        let code: String
        let message: String

        static let unauthorized = Problem(status: .unauthorized, code: "unauthenticated",
                                          message: "Authentication required.")
        static let notFound = Problem(status: .notFound, code: "not_found",
                                      message: "No such resource, or no access to it.")
        static let forbidden = Problem(status: .forbidden, code: "forbidden",
                                       message: "This account may not do this.")
        static let badJSON = Problem(status: .badRequest, code: "bad_request",
                                     message: "The body is not a valid JSON document of the expected shape.")
        static let badRequest = Problem(status: .badRequest, code: "bad_request",
                                        message: "The request is not valid HTTP.")
        static let unsupportedMediaType = Problem(status: .unsupportedMediaType, code: "unsupported_media_type",
                                                  message: "The body must be application/json.")
        static let tooLarge = Problem(status: .contentTooLarge, code: "payload_too_large",
                                      message: "The body is too large.")
        static func badParameter(_ name: String) -> Problem {
            Problem(status: .badRequest, code: "bad_parameter", message: "Invalid query parameter '\(name)'.")
        }
        static func unprocessable(_ message: String) -> Problem {
            Problem(status: .unprocessableContent, code: "unprocessable", message: message)
        }
        static let methodNotAllowed = Problem(status: .methodNotAllowed, code: "method_not_allowed",
                                              message: "This method is not allowed here.")
        static let internalError = Problem(status: .internalServerError, code: "internal",
                                           message: "The request failed; try again later.")
    }

    /// Answers requests below `/api/` that match no route (or no method of a route) with a JSON problem instead
    /// of an empty page, so API clients get one error format: 405 with `Allow` for a method a documented path does
    /// not have (``APIRouteTable``), else 404.
    struct UnmatchedRouteMiddleware: RouterMiddleware {
        typealias Context = WebRequestContext

        func handle(_ request: Request, context: Context,
                    next: (Request, Context) async throws -> Response) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let error as HTTPError
                where request.uri.path.hasPrefix(APIRoutes.prefix + "/")
                && (error.status == .notFound || error.status == .methodNotAllowed)
            {
                guard let allowed = APIRouteTable.allowedMethods(forPath: request.uri.path) else {
                    return APIRoutes.problemResponse(.notFound)
                }
                var response = APIRoutes.problemResponse(.methodNotAllowed)
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            }
        }
    }

    func register(on router: Router<WebRequestContext>) {
        router.add(middleware: UnmatchedRouteMiddleware())
        let api = router.group(RouterPath(stringLiteral: Self.prefix))
        api.get("openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        api.get("threads") { request, context -> Response in
            await handle(context) { counsellor in try await listThreads(request, counsellor) }
        }
        api.get("threads/{id}") { request, context -> Response in
            await handle(context) { counsellor in
                let id = try threadID(context)
                let page = try messagePage(request.uri.queryParameters)
                let view = try await inbox.open(id, for: counsellor, event: .threadExported, page: page)
                return try json(APIModels.Thread(view))
            }
        }
        api.post("threads/{id}/replies") { request, context -> Response in
            await handle(context) { counsellor in
                let id = try threadID(context)
                let body = try await decode(APIModels.ReplyRequest.self, request)
                guard !body.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                    body.text.utf8.count <= ReplyComposer.maximumTextBytes
                else { throw Problem.unprocessable("The reply text is empty or too long.") }
                let result: APIModels.ReplyResult
                switch try await inbox.reply(id, text: body.text, for: counsellor) {
                case .queued(_, let message):
                    result = .init(outcome: "queued", keyProblem: nil, messageId: message.unredactedDescription)
                case .keyUnusable(let problem, _, let message):
                    result = .init(outcome: "key_unusable", keyProblem: problem.rawValue,
                                   messageId: message.unredactedDescription)
                }
                return try json(result, status: .created)
            }
        }
        api.put("threads/{id}/state") { request, context -> Response in
            await handle(context) { counsellor in
                let id = try threadID(context)
                let body = try await decode(APIModels.StateRequest.self, request)
                let state: ThreadState
                switch body.state {
                case "open": state = .open
                case "awaiting_client": state = .awaitingClient
                case "closed": state = .closed
                default: throw Problem.unprocessable("state must be open, awaiting_client or closed.")
                }
                return try json(APIModels.ThreadSummary(try await inbox.setState(state, of: id, for: counsellor)))
            }
        }
        api.put("threads/{id}/assignment") { request, context -> Response in
            await handle(context) { counsellor in
                let id = try threadID(context)
                let body = try await decode(APIModels.AssignmentRequest.self, request)
                var account: AccountID?
                if let text = body.assignedTo {
                    guard let parsed = try? AccountID(text) else {
                        throw Problem.unprocessable("assignedTo must be an account ID or null.")
                    }
                    account = parsed
                }
                return try json(APIModels.ThreadSummary(try await inbox.assign(id, to: account, for: counsellor)))
            }
        }
        api.get("threads/{id}/messages/{message}/attachments/{position}") { request, context -> Response in
            await handle(context) { counsellor in
                guard let messageText = context.parameters.get("message"),
                    let message = try? StoredMessageID(messageText),
                    let positionText = context.parameters.get("position"), positionText.utf8.count <= 4,
                    let position = Int(positionText), position >= 0
                else { throw Problem.notFound }
                let attachment = try await inbox.attachment(try threadID(context), message: message,
                                                            position: position, for: counsellor)
                return WebResponses.download(attachment.content, fileName: attachment.name)
            }
        }
    }

    // MARK: Handlers

    private func listThreads(_ request: Request, _ counsellor: Counsellor) async throws -> Response {
        let query = request.uri.queryParameters
        var state: InboxState?
        if let text = query.get("state") {
            guard let parsed = InboxState(rawValue: text) else { throw Problem.badParameter("state") }
            state = parsed
        }
        var assignment: InboxAssignmentFilter?
        switch query.get("assigned") {
        case nil: break
        case "me": assignment = .assignedTo(counsellor.id)
        case "none": assignment = .unassigned
        default: throw Problem.badParameter("assigned")
        }
        let limit = try Self.limit(query, default: Self.defaultPageSize, maximum: Self.maximumPageSize)
        var order = InboxOrder.lastActivity
        if let text = query.get("order") {
            guard let parsed = InboxOrder(rawValue: text) else { throw Problem.badParameter("order") }
            order = parsed
        }
        var cursor: InboxCursor?
        // An empty cursor is the first page, as no cursor (issue 25).
        if let text = query.get("cursor"), !text.isEmpty {
            guard let parsed = InboxCursor(text) else { throw Problem.badParameter("cursor") }
            cursor = parsed
        }
        var threads = try await inbox.list(for: counsellor, state: state, assignment: assignment, order: order,
                                           limit: limit + 1, after: cursor)
        var next: String?
        if threads.count > limit {
            threads.removeLast()
            next = threads.last.map { InboxCursor(after: $0, order: order).text }
        }
        return try json(APIModels.ThreadList(threads: threads.map(APIModels.ThreadSummary.init), nextCursor: next))
    }

    /// The page of a thread fetch: `limit` (1…200, default 50) and at most one of `before`/`after` (a cursor
    /// from the previous response's `messagePage`).
    private func messagePage(_ query: Parameters) throws -> MessagePageRequest {
        let limit = try Self.limit(query, default: MessagePageRequest.defaultLimit,
                                   maximum: MessagePageRequest.maximumLimit)
        do {
            return MessagePageRequest(try MessagePaging.anchor(query, emptyIsAbsent: true), limit: limit)
        } catch {
            throw Problem.badParameter(error.name)
        }
    }

    /// The `limit` query parameter: 1…`maximum`, `fallback` if absent.
    private static func limit(_ query: Parameters, default fallback: Int, maximum: Int) throws -> Int {
        guard let text = query.get("limit") else { return fallback }
        guard text.utf8.count <= 4, let parsed = Int(text), (1...maximum).contains(parsed) else {
            throw Problem.badParameter("limit")
        }
        return parsed
    }

    // MARK: Helpers

    /// Runs `body` for an authenticated request and maps every failure to a JSON problem.
    private func handle(_ context: WebRequestContext,
                        _ body: (Counsellor) async throws -> Response) async -> Response {
        guard let counsellor = context.counsellor, context.authentication != nil else {
            var response = problem(.unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        do {
            return try await body(counsellor)
        } catch let failure as Problem {
            return problem(failure)
        } catch let failure as CounsellorInbox.Failure {
            switch failure.code {
            case .notFound: return problem(.notFound)
            case .forbidden: return problem(.forbidden)
            case .invalid: return problem(.unprocessable("The request cannot be carried out for this thread."))
            }
        } catch is NIOTooManyBytesError {
            return problem(.tooLarge)
        } catch is HTTPParserError {
            // The body broke off malformed (a bad chunk): the client's fault, not a 500 (issue 25).
            return problem(.badRequest)
        } catch {
            services.logger.error("API request failed", metadata: ["error": "\(WebResponses.loggable(error))"])
            return problem(.internalError)
        }
    }

    private func problem(_ problem: Problem) -> Response { Self.problemResponse(problem) }

    static func problemResponse(_ problem: Problem) -> Response {
        let body = (try? Self.encoder.encode(APIModels.Problem(error: problem.code, message: problem.message)))
            ?? Data()
        return Response(status: problem.status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try Self.encoder.encode(value))))
    }

    private func decode<Body: Decodable>(_ type: Body.Type, _ request: Request) async throws -> Body {
        guard let contentType = request.headers[.contentType],
            contentType.lowercased().split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
                == "application/json"
        else { throw Problem.unsupportedMediaType }
        var request = request
        let buffer = try await request.collectBody(upTo: Self.maximumBodyBytes)
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
        } catch {
            throw Problem.badJSON
        }
    }

    private func threadID(_ context: WebRequestContext) throws -> ThreadID {
        guard let text = context.parameters.get("id"), let id = try? ThreadID(text) else { throw Problem.notFound }
        return id
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
