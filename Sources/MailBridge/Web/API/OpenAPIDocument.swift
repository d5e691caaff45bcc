/// The OpenAPI 3.1 description of API v1, served at `/api/v1/openapi.json`. Tests check that its paths and
/// methods are exactly the routes ``APIRoutes`` registers.
enum OpenAPIDocument {
    static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "MailBridge counsellor API",
            "version": "1.0.0",
            "description": "Threads of encrypted client mail for counselling platforms. Authenticate with an API token (Authorization: Bearer mbt_…); a browser session also works, and then PUT/POST need its CSRF token in X-CSRF-Token. Refused tokens are counted per client address: after a few, requests with a token from that address get 429 with Retry-After. Responses contain decrypted content: use TLS and keep them out of logs. Every thread fetch, reply, attachment download, assignment and state change is written to MailBridge's audit log with the token's account."
          },
          "servers": [{ "url": "/api/v1" }],
          "security": [{ "apiToken": [] }],
          "paths": {
            "/openapi.json": {
              "get": {
                "operationId": "getOpenAPIDocument",
                "summary": "This document. Public: no token needed (a token that is sent must be valid).",
                "security": [],
                "responses": {
                  "200": { "description": "The OpenAPI document.", "content": { "application/json": {} } },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" }
                }
              }
            },
            "/threads": {
              "get": {
                "operationId": "listThreads",
                "summary": "Threads of the account's counselling fields (team leads: all fields), most recent activity first. Metadata only.",
                "parameters": [
                  { "name": "state", "in": "query", "required": false, "schema": { "$ref": "#/components/schemas/InboxState" } },
                  { "name": "assigned", "in": "query", "required": false, "description": "me: only threads assigned to the token's account; none: only unassigned threads.", "schema": { "type": "string", "enum": ["me", "none"] } },
                  { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 } },
                  { "name": "order", "in": "query", "required": false, "description": "activity (default): most recent activity first; waiting: only threads waiting for an answer, the longest waiting (oldest waitingSince) first; waiting-first: every thread, those waiting for an answer (not closed) longest waiting first, then the rest by most recent activity. Pass the same order with cursor.", "schema": { "type": "string", "enum": ["activity", "waiting", "waiting-first"], "default": "activity" } },
                  { "name": "cursor", "in": "query", "required": false, "description": "nextCursor of the previous page. Empty: the first page, as without cursor.", "schema": { "$ref": "#/components/schemas/Cursor" } }
                ],
                "responses": {
                  "200": { "description": "A page of threads.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ThreadList" } } } },
                  "400": { "$ref": "#/components/responses/Problem" },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" }
                }
              }
            },
            "/threads/{id}": {
              "get": {
                "operationId": "getThread",
                "summary": "The decrypted thread with one page of messages (the newest by default), oldest first within the page; only that page is decrypted. Follow messagePage.earlierCursor (as before) or laterCursor (as after) for the others. Marks the messages of the page read; each call is audited as one export (first message and number of messages of the page).",
                "parameters": [
                  { "$ref": "#/components/parameters/ThreadID" },
                  { "name": "limit", "in": "query", "required": false, "description": "Messages per page.", "schema": { "type": "integer", "minimum": 1, "maximum": 200, "default": 50 } },
                  { "name": "before", "in": "query", "required": false, "description": "messagePage.earlierCursor of a previous response: the messages just before it. Not together with after (400). Empty: as without before.", "schema": { "$ref": "#/components/schemas/Cursor" } },
                  { "name": "after", "in": "query", "required": false, "description": "messagePage.laterCursor of a previous response: the messages just after it. Not together with before (400). Empty: as without after.", "schema": { "$ref": "#/components/schemas/Cursor" } }
                ],
                "responses": {
                  "200": { "description": "The thread.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thread" } } } },
                  "400": { "$ref": "#/components/responses/Problem" },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "404": { "$ref": "#/components/responses/Problem" }
                }
              }
            },
            "/threads/{id}/replies": {
              "post": {
                "operationId": "postReply",
                "summary": "Queues a reply, encrypted to the client's key. If the key cannot be used, the reply is stored and only a content-free notice goes to the client.",
                "parameters": [{ "$ref": "#/components/parameters/ThreadID" }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ReplyRequest" } } } },
                "responses": {
                  "201": { "description": "Queued.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ReplyResult" } } } },
                  "400": { "$ref": "#/components/responses/Problem" },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "403": { "$ref": "#/components/responses/Problem" },
                  "404": { "$ref": "#/components/responses/Problem" },
                  "413": { "$ref": "#/components/responses/Problem" },
                  "415": { "$ref": "#/components/responses/Problem" },
                  "422": { "$ref": "#/components/responses/Problem" }
                }
              }
            },
            "/threads/{id}/state": {
              "put": {
                "operationId": "setThreadState",
                "summary": "Sets the thread's state.",
                "parameters": [{ "$ref": "#/components/parameters/ThreadID" }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/StateRequest" } } } },
                "responses": {
                  "200": { "description": "The updated thread.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ThreadSummary" } } } },
                  "400": { "$ref": "#/components/responses/Problem" },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "403": { "$ref": "#/components/responses/Problem" },
                  "404": { "$ref": "#/components/responses/Problem" },
                  "415": { "$ref": "#/components/responses/Problem" },
                  "422": { "$ref": "#/components/responses/Problem" }
                }
              }
            },
            "/threads/{id}/assignment": {
              "put": {
                "operationId": "assignThread",
                "summary": "Assigns the thread (counsellors: only to themselves; team leads: to any active account) or unassigns it (null).",
                "parameters": [{ "$ref": "#/components/parameters/ThreadID" }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AssignmentRequest" } } } },
                "responses": {
                  "200": { "description": "The updated thread.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ThreadSummary" } } } },
                  "400": { "$ref": "#/components/responses/Problem" },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "403": { "$ref": "#/components/responses/Problem" },
                  "404": { "$ref": "#/components/responses/Problem" },
                  "415": { "$ref": "#/components/responses/Problem" },
                  "422": { "$ref": "#/components/responses/Problem" }
                }
              }
            },
            "/threads/{id}/messages/{message}/attachments/{position}": {
              "get": {
                "operationId": "getAttachment",
                "summary": "One attachment as application/octet-stream (never rendered). Audited.",
                "parameters": [
                  { "$ref": "#/components/parameters/ThreadID" },
                  { "name": "message", "in": "path", "required": true, "schema": { "$ref": "#/components/schemas/ID" } },
                  { "name": "position", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }
                ],
                "responses": {
                  "200": { "description": "The attachment.", "content": { "application/octet-stream": { "schema": { "type": "string", "contentEncoding": "binary" } } } },
                  "401": { "$ref": "#/components/responses/Problem" },
                  "429": { "$ref": "#/components/responses/TooManyRequests" },
                  "404": { "$ref": "#/components/responses/Problem" }
                }
              }
            }
          },
          "webhooks": {
            "threadEvent": {
              "post": {
                "operationId": "receiveThreadEvent",
                "summary": "Sent by the gateway to the platform's [webhook] url (docs/webhooks.md): that something happened in a thread, never what was written; fetch the thread with GET /threads/{id}. Signed as the Standard Webhooks specification describes: verify webhook-signature (HMAC-SHA256 over webhook-id, webhook-timestamp and the body, one v1 entry per secret) before trusting it. Delivered at least once: drop a repeated webhook-id.",
                "security": [],
                "parameters": [
                  { "name": "webhook-id", "in": "header", "required": true, "description": "The event's ID, the same in every attempt (and data.event_id).", "schema": { "$ref": "#/components/schemas/ID" } },
                  { "name": "webhook-timestamp", "in": "header", "required": true, "description": "When this attempt was signed, in Unix seconds.", "schema": { "type": "string", "pattern": "^[0-9]{1,12}$" } },
                  { "name": "webhook-signature", "in": "header", "required": true, "description": "Space-separated v1,<Base64 HMAC-SHA256> entries, one per signing secret.", "schema": { "type": "string" } }
                ],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/WebhookEvent" } } } },
                "responses": {
                  "2XX": { "description": "Received. Any other answer, or none within the gateway's timeout, is retried with growing waits until [webhook] retry-hours have passed." }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "apiToken": { "type": "http", "scheme": "bearer", "description": "An API token (mbt_…) created with `mailbridge tokens`." }
            },
            "parameters": {
              "ThreadID": { "name": "id", "in": "path", "required": true, "schema": { "$ref": "#/components/schemas/ID" } }
            },
            "responses": {
              "Problem": { "description": "An error.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Problem" } } } },
              "TooManyRequests": {
                "description": "Too many refused API tokens from this client address (an IPv6 address counts per /64): every request with a token from it is refused, valid tokens too, until Retry-After seconds have passed.",
                "headers": { "Retry-After": { "required": true, "schema": { "type": "integer", "minimum": 1 } } },
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
              }
            },
            "schemas": {
              "ID": { "type": "string", "pattern": "^[0-9a-f]{32}$" },
              "Cursor": { "type": "string", "pattern": "^([0-9]{1,16}\\.[0-9a-f]{32})?$", "description": "A cursor from a previous response (milliseconds, a dot, an ID), or empty for none." },
              "InboxState": { "type": "string", "enum": ["new", "open", "awaiting_client", "closed"], "description": "new: open, never opened by a counsellor and not answered yet." },
              "ThreadSummary": {
                "type": "object",
                "required": ["id", "field", "state", "createdAt", "lastActivityAt", "messageCount", "unreadCount"],
                "properties": {
                  "id": { "$ref": "#/components/schemas/ID" },
                  "field": { "type": "string" },
                  "state": { "$ref": "#/components/schemas/InboxState" },
                  "createdAt": { "type": "string", "format": "date-time" },
                  "lastActivityAt": { "type": "string", "format": "date-time" },
                  "messageCount": { "type": "integer" },
                  "unreadCount": { "type": "integer" },
                  "assignedTo": { "$ref": "#/components/schemas/ID" },
                  "waitingSince": { "type": "string", "format": "date-time", "description": "When the oldest client message after the last counsellor message arrived; absent when every client message is answered." }
                }
              },
              "WebhookEvent": {
                "type": "object",
                "additionalProperties": false,
                "required": ["type", "timestamp", "data"],
                "properties": {
                  "type": { "type": "string", "enum": ["thread.created", "message.received", "reply.sent", "reply.held", "key.changed"] },
                  "timestamp": { "type": "string", "format": "date-time", "description": "When the event happened." },
                  "data": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["event_id", "thread_id"],
                    "properties": {
                      "event_id": { "$ref": "#/components/schemas/ID" },
                      "thread_id": { "$ref": "#/components/schemas/ID" },
                      "message_id": { "$ref": "#/components/schemas/ID", "description": "For message.received, reply.sent, reply.held, and key.changed caused by a message." }
                    }
                  }
                }
              },
              "ThreadList": {
                "type": "object",
                "required": ["threads"],
                "properties": {
                  "threads": { "type": "array", "items": { "$ref": "#/components/schemas/ThreadSummary" } },
                  "nextCursor": { "type": "string" }
                }
              },
              "Thread": {
                "type": "object",
                "required": ["thread", "clientKeyFingerprint", "awaitingClientKey", "messages", "messagePage"],
                "properties": {
                  "thread": { "$ref": "#/components/schemas/ThreadSummary" },
                  "clientKeyFingerprint": { "type": ["string", "null"], "description": "The thread's client key; null while the thread has no key to reply to yet (awaitingClientKey)." },
                  "awaitingClientKey": { "type": "boolean", "description": "True for a thread whose client key the gateway does not have yet: encrypted mail signed by an unknown key (signature unknown_key) or unsigned. Replies are held until the key arrives in a later message signed by that key; the client was asked for it." },
                  "keyChange": { "$ref": "#/components/schemas/KeyChange" },
                  "messages": { "type": "array", "description": "One page of messages, oldest first.", "items": { "$ref": "#/components/schemas/Message" } },
                  "messagePage": { "$ref": "#/components/schemas/MessagePage" }
                }
              },
              "MessagePage": {
                "type": "object",
                "description": "Where the returned messages stand in the thread. Unread counts are as before this call. A cursor past either end gives an empty page with zero counts: start again without before/after.",
                "required": ["earlierCount", "earlierUnreadCount", "laterCount", "laterUnreadCount"],
                "properties": {
                  "earlierCount": { "type": "integer", "description": "Messages older than this page." },
                  "earlierUnreadCount": { "type": "integer" },
                  "laterCount": { "type": "integer", "description": "Messages newer than this page." },
                  "laterUnreadCount": { "type": "integer" },
                  "earlierCursor": { "type": "string", "description": "Pass as before for the previous page; absent if there is none." },
                  "laterCursor": { "type": "string", "description": "Pass as after for the next page; absent if there is none." }
                }
              },
              "KeyChange": {
                "type": "object",
                "description": "Other threads of the same field from the same client address with another key.",
                "required": ["needsConfirmation", "otherThreads"],
                "properties": {
                  "needsConfirmation": { "type": "boolean" },
                  "confirmedAt": { "type": "string", "format": "date-time" },
                  "otherThreads": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": ["id", "createdAt", "earlier"],
                      "properties": { "id": { "$ref": "#/components/schemas/ID" }, "createdAt": { "type": "string", "format": "date-time" }, "earlier": { "type": "boolean" } }
                    }
                  }
                }
              },
              "Message": {
                "type": "object",
                "required": ["id", "direction", "receivedAt", "subject", "signer", "text", "withheldParts", "attachments", "wasRead"],
                "properties": {
                  "id": { "$ref": "#/components/schemas/ID" },
                  "direction": { "type": "string", "enum": ["inbound", "outbound"] },
                  "receivedAt": { "type": "string", "format": "date-time" },
                  "subject": { "type": "string", "description": "As the client wrote it, with control characters (line breaks included) and invisible formatting characters (bidirectional overrides, isolates and marks among them) replaced by U+FFFD; a longer one is cut after 998 characters and ends in …. Plain text: never render it as HTML." },
                  "signature": { "$ref": "#/components/schemas/Signature" },
                  "held": { "type": "boolean", "description": "Outbound messages only: true if the reply could not be encrypted (client key missing, expired, revoked, or none yet) and has not been sent. It is kept sealed and sent, encrypted, when a usable key for the thread arrives; show it as held: waiting for a usable client key, never as sent." },
                  "authorId": { "$ref": "#/components/schemas/ID", "description": "Outbound messages only: the account that wrote the reply; absent when unknown (written on the command line, or stored before schema v17 without its audit entry)." },
                  "delivery": { "type": "string", "enum": ["queued", "sent", "held", "failed"], "description": "Outbound messages only: how far the reply got, from the outbox: queued (waiting for its next attempt), sent (handed to the mail server), held (not sent: no usable client key yet), failed (the outbox gave up; ask the administrator). Absent when unknown (stored before schema v17)." },
                  "signer": { "oneOf": [{ "$ref": "#/components/schemas/Signer" }, { "type": "null" }], "description": "Who made the signature: set for inbound messages whose signing key is known (also when the verdict is not valid), null otherwise and for messages stored before signers were recorded. Show it beside the signature verdict, outside the message text." },
                  "subjectSigned": { "type": "boolean", "description": "Inbound messages with a signer: whether the signature covers subject (it came from the signed, encrypted inner headers). false: the subject travelled in clear outside the signature and may have been changed on the way; show it as not signed. Absent otherwise and for messages stored before this was recorded." },
                  "text": { "type": "string", "description": "The text/plain parts in order, separated by a blank line; an HTML part without a text/plain alternative is included as text converted on the server (no markup, link targets written out). A forwarded message (message/rfc822) is framed by a line '---------- Forwarded message ----------', then its own 'From: ', 'Date: ' and 'Subject: ' lines and one 'Attachment: name (type, size bytes)' line per attachment, a blank line, its text, and the line '---------- End of forwarded message ----------'; a client's own text can contain the same lines, so do not parse them as structure. Plain text: never render it as HTML." },
                  "withheldParts": {
                    "type": "array",
                    "description": "Body parts that are not shown in text, each with the index the web inbox downloads it by (/threads/{thread}/messages/{message}/parts/{index}): HTML originals (also of an HTML-only part shown converted in text), other non-text parts, and for a forwarded message its original as message/rfc822 (an .eml download) followed by its attachments and withheld parts, depth first.",
                    "items": { "type": "object", "required": ["index", "mediaType", "size"], "properties": { "index": { "type": "integer" }, "mediaType": { "type": "string" }, "size": { "type": "integer" } } }
                  },
                  "attachments": {
                    "type": "array",
                    "description": "The client's attachments. name and mediaType are cleaned like subject (name: at most 200 characters, never empty; mediaType: at most 100).",
                    "items": { "type": "object", "required": ["position", "name", "mediaType", "size"], "properties": { "position": { "type": "integer" }, "name": { "type": "string", "minLength": 1 }, "mediaType": { "type": "string" }, "size": { "type": "integer" } } }
                  },
                  "wasRead": { "type": "boolean" }
                }
              },
              "Signature": {
                "type": "string",
                "enum": ["valid", "unsigned", "bad", "unknown_key", "valid_other_key", "signer_address_mismatch", "unconfirmed_key_change", "not_for_this_recipient", "old_signature", "key_not_current", "not_applicable"],
                "description": "Inbound messages only; show it outside the message text, with signer. Only valid means that the client of this thread wrote the message to this mailbox, recently. unsigned: no signature. bad: the signature does not verify (content may have been altered). unknown_key: signed by a key the gateway does not have. valid_other_key: good signature by a key that is not the thread's. signer_address_mismatch: the key has no user ID with the From address (or the signed headers name another sender). unconfirmed_key_change: the address wrote with another key before and no counsellor has confirmed the change (see keyChange). not_for_this_recipient: the signature names other recipients (a forwarded message). old_signature: made long before the message arrived (possibly sent again). key_not_current: the thread's key has expired or was revoked. not_applicable: not used for inbound messages. Treat unknown values like bad."
              },
              "Signer": {
                "type": "object",
                "required": ["fingerprint", "userId"],
                "properties": {
                  "fingerprint": { "type": "string", "pattern": "^([0-9A-F]{40}|[0-9A-F]{64})$", "description": "The signing key's primary fingerprint, upper-case hex." },
                  "userId": { "type": "string", "description": "A user ID of the signing key (the one with the From address, else the first; may be empty). Chosen by whoever made the key: control and bidirectional formatting characters are replaced by U+FFFD; a longer one is cut after 256 characters and ends in …. Plain text: never render it as HTML." }
                }
              },
              "ReplyRequest": {
                "type": "object",
                "required": ["text"],
                "properties": { "text": { "type": "string", "minLength": 1, "description": "Plain text, at most 1 MiB (UTF-8)." } }
              },
              "ReplyResult": {
                "type": "object",
                "required": ["outcome", "messageId"],
                "properties": {
                  "outcome": { "type": "string", "enum": ["queued", "key_unusable"], "description": "queued: encrypted to the client and queued. key_unusable: the reply is held (sealed) until a usable client key arrives; only the fixed notice that a reply is waiting and how to send a current key went to the client." },
                  "keyProblem": { "type": "string", "enum": ["missing", "expired", "revoked", "unusable"] },
                  "messageId": { "$ref": "#/components/schemas/ID" }
                }
              },
              "StateRequest": {
                "type": "object",
                "required": ["state"],
                "properties": { "state": { "type": "string", "enum": ["open", "awaiting_client", "closed"] } }
              },
              "AssignmentRequest": {
                "type": "object",
                "properties": { "assignedTo": { "oneOf": [{ "$ref": "#/components/schemas/ID" }, { "type": "null" }] } }
              },
              "Problem": {
                "type": "object",
                "required": ["error"],
                "properties": {
                  "error": { "type": "string", "enum": ["unauthenticated", "forbidden", "not_found", "method_not_allowed", "bad_request", "bad_parameter", "unsupported_media_type", "payload_too_large", "unprocessable", "internal", "too_many_requests", "password_change_required"] },
                  "message": { "type": "string", "description": "A fixed text (absent on authentication and CSRF failures); never contains content or request data." }
                }
              }
            }
          }
        }
        """#
}
