#!/usr/bin/env python3
"""A real HTTPS webhook receiver on 127.0.0.1 for MailBridge's outbound webhook tests (Standard Webhooks).

Usage: webhook_receiver.py --cert FILE --key FILE --secret whsec_... [--secret ...] [--script SPEC] FOLDER

Started by Tests/TestSupport/WebhookReceiver.swift through Tests/TestSupport/PythonPeer.swift, whose contract it
follows: it listens on 127.0.0.1 on a free port, prints that port as its first line of standard output and exits
when its standard input closes.

SPEC is a comma list of answers, one per POST in the order they arrive: a number answers with that HTTP status,
`hang` sleeps 30 seconds without answering and then closes the connection. Once the list is used up every POST is
answered 204. Other methods are answered 405 and use up nothing.

For every POST one JSON line is appended to FOLDER/received.jsonl, and flushed and fsynced BEFORE the answer goes
out, so a test also sees the attempts that were answered 500 or never answered:
  id            the webhook-id header (null if missing)
  timestamp     the webhook-timestamp header as sent (null if missing)
  signature     the webhook-signature header as sent (null if missing)
  verified      true if standardwebhooks.Webhook(secret).verify(body, headers) accepts it for any --secret
  answer        what it answered: the status as text ("500", "204") or "hang"
  body          the raw body as UTF-8 text (undecodable bytes replaced; verification uses the raw bytes)
  path          the request path
  content_type  the Content-Type header (null if missing)

The body may come with Content-Length or chunked; the connection is kept alive (HTTP/1.1) unless the client or a
`hang` closes it. Needs the PyPI package standardwebhooks (scripts/install-deps --test, the test venv).
"""

import argparse
import http.server
import json
import os
import ssl
import sys
import threading
import time

import standardwebhooks

HANG_SECONDS = 30


def parse_arguments():
    parser = argparse.ArgumentParser(description="HTTPS Standard Webhooks receiver for tests")
    parser.add_argument("--cert", required=True, help="server certificate chain (PEM)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (repeatable; any may verify)")
    parser.add_argument("--script", default="", help="comma list of answers: a status or 'hang'")
    parser.add_argument("folder", help="where received.jsonl is written")
    arguments = parser.parse_args()
    script = [step.strip() for step in arguments.script.split(",") if step.strip()]
    for step in script:
        if step != "hang" and not (step.isdigit() and 100 <= int(step) <= 599):
            parser.error(f"--script: {step!r} is neither a status nor 'hang'")
    return arguments, script


arguments, script = parse_arguments()
webhooks = [standardwebhooks.Webhook(secret) for secret in arguments.secret]
record_path = os.path.join(arguments.folder, "received.jsonl")
# Guards the position in the script and the record file, so lines are in the order the answers were given.
lock = threading.Lock()
position = 0


def verified(body, headers):
    for webhook in webhooks:
        try:
            # json_parse=False: the signature is what is checked here, not whether the body is JSON.
            webhook.verify(body, headers, json_parse=False)
            return True
        except Exception:
            pass
    return False


def take_answer_and_record(entry):
    """The next answer from the script; the entry with that answer is on disk when this returns."""
    global position
    with lock:
        answer = script[position] if position < len(script) else "204"
        position += 1
        entry["answer"] = answer
        with open(record_path, "a", encoding="utf-8") as record:
            record.write(json.dumps(entry) + "\n")
            record.flush()
            os.fsync(record.fileno())
    return answer


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A silent client does not keep a thread forever.
    timeout = 60

    def setup(self):
        # The listening socket does not handshake in accept() (the main thread); each connection does it here.
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self):
        body = self.read_body()
        headers = {name: value for name, value in self.headers.items()}
        entry = {
            "id": self.headers.get("webhook-id"),
            "timestamp": self.headers.get("webhook-timestamp"),
            "signature": self.headers.get("webhook-signature"),
            "verified": verified(body, headers),
            "body": body.decode("utf-8", errors="replace"),
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
        }
        answer = take_answer_and_record(entry)
        if answer == "hang":
            time.sleep(HANG_SECONDS)
            self.close_connection = True
            return
        self.send_response(int(answer))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_other(self):
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_other


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A refused handshake (a client that does not trust the CA) is expected in tests: one line, no traceback.
        print(f"webhook_receiver: {client_address}: {sys.exc_info()[1]!r}", file=sys.stderr, flush=True)


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(arguments.cert, arguments.key)
server = Server(("127.0.0.1", 0), Handler)
server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
print(server.server_address[1], flush=True)
server.serve_forever()
