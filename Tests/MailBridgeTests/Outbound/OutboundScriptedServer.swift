import Foundation

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

    let directory: URL
    let port: Int
    private let process: Process
    private let input: Pipe

    private init(directory: URL, port: Int, process: Process, input: Pipe) {
        self.directory = directory
        self.port = port
        self.process = process
        self.input = input
    }

    static func start(_ steps: [Step]) throws -> OutboundScriptedServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbound-raw-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("server.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let json = try JSONSerialization.data(
            withJSONObject: steps.map { ["read": $0.read, "send": $0.send, "close": $0.close] as [String: Any] })
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, String(decoding: json, as: UTF8.self), directory.path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.terminate()
            throw OutboundSink.SinkError(message: "scripted server did not start")
        }
        return OutboundScriptedServer(directory: directory, port: port, process: process, input: input)
    }

    /// Every byte the client sent, once the server is done.
    func received() -> String {
        process.waitUntilExit()
        let data = (try? Data(contentsOf: directory.appendingPathComponent("received.bin"))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

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
