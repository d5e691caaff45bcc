import Foundation
import TestSupport

/// One raw HTTP/1.1 exchange over loopback, written byte for byte (python3's socket module), for requests no HTTP
/// client library would send: an oversized header, a malformed request line, a body larger than allowed.
struct RawHTTPResponse: Sendable {
    /// The status code of the status line (0 if the server closed without answering).
    var status: Int
    /// The header fields, names lower-cased (the last value of a repeated field).
    var fields: [String: String]
    var statusLine: String
}

enum RawHTTP {
    /// Sends `head` (CRLF line ends added), then `bodyBytes` octets of `x` (not more: the server may answer and
    /// close before the declared length), and reads the response head.
    static func exchange(port: Int, _ head: [String], bodyBytes: Int = 0) async throws -> RawHTTPResponse {
        let script = """
            import socket, sys
            port, body = int(sys.argv[1]), int(sys.argv[2])
            head = sys.stdin.buffer.read()
            s = socket.create_connection(('127.0.0.1', port), timeout=20)
            try:
                s.sendall(head)
                sent = 0
                while sent < body:
                    chunk = b'x' * min(65536, body - sent)
                    s.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            data = b''
            try:
                while b'\\r\\n\\r\\n' not in data:
                    more = s.recv(65536)
                    if not more:
                        break
                    data += more
            except OSError:
                pass
            sys.stdout.buffer.write(data.split(b'\\r\\n\\r\\n')[0])
            """
        let request = Array((head.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        let output = try await offCooperativePool {
            try Shell.run("python3", ["-c", script, "\(port)", "\(bodyBytes)"], stdin: request).stdout
        }
        let lines = String(decoding: output, as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.first ?? ""
        let parts = statusLine.split(separator: " ")
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return RawHTTPResponse(status: parts.count > 1 ? Int(parts[1]) ?? 0 : 0, fields: fields,
                               statusLine: statusLine)
    }
}
