import Foundation
import TestSupport

/// A scripted raw TCP server (Python, standard library only) on 127.0.0.1 for protocol edge cases a real server
/// will not produce: malformed replies, plaintext injected after STARTTLS, silence, a drop after DATA. Each step
/// optionally reads one client line, then sends bytes, then optionally closes. Everything the client sent is
/// recorded. One connection; exits when done, when stdin closes, or after 60 seconds.
final class OutboundScriptedServer: @unchecked Sendable {
    struct Step {
        /// Read one line from the client first (false only for the greeting).
        var read = true
        var send: String
        var close = false
    }

    private let peer: PythonPeer
    var port: Int { peer.port }

    private init(peer: PythonPeer) { self.peer = peer }

    static func start(_ steps: [Step]) throws -> OutboundScriptedServer {
        let json = try JSONSerialization.data(
            withJSONObject: steps.map { ["read": $0.read, "send": $0.send, "close": $0.close] as [String: Any] })
        return OutboundScriptedServer(peer: try PythonPeer(
            script: script, name: "outbound-raw", arguments: [String(decoding: json, as: UTF8.self)]))
    }

    /// Every byte the client sent, once the server is done.
    func received() -> String {
        peer.waitUntilExit()
        let data = (try? Data(contentsOf: peer.directory.appendingPathComponent("received.bin"))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    func stop() { peer.stop() }

    static let script = #"""
        import json, os, socket, sys, threading

        steps = json.loads(sys.argv[1])
        out = open(os.path.join(sys.argv[2], "received.bin"), "wb")
        threading.Timer(60, lambda: os._exit(0)).start()
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        print(listener.getsockname()[1], flush=True)
        conn, _ = listener.accept()
        conn.settimeout(30)
        buffer = b""

        def read_line():
            global buffer
            while b"\n" not in buffer:
                chunk = conn.recv(4096)
                if not chunk:
                    return False
                out.write(chunk)
                out.flush()
                buffer += chunk
            buffer = buffer.split(b"\n", 1)[1]
            return True

        try:
            for step in steps:
                if step["read"] and not read_line():
                    break
                if step["send"]:
                    conn.sendall(step["send"].encode())
                if step["close"]:
                    break
            else:
                while True:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    out.write(chunk)
                    out.flush()
        except OSError:
            pass
        out.close()
        conn.close()
        os._exit(0)
        """#
}
