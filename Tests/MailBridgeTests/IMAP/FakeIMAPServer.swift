import Foundation

/// A plain-text loopback "IMAP server" for refusal tests: sends `greeting`, then answers each tagged line with
/// `reply(tag, line)` and records every line it received. One connection, 5 s receive timeout, at most 20 lines.
final class FakeIMAPServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var lines: [String] = []
    private let done = DispatchSemaphore(value: 0)

    init(greeting: String, reply: @escaping @Sendable (_ tag: String, _ command: String) -> String) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 1) == 0 else { throw DovecotFailure(description: "fake server bind") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let greeting = greeting
        let fd = listener
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            send(client, greeting + "\r\n")
            var buffer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1024)
            var count = 0
            while count < 20 {
                let n = recv(client, &chunk, chunk.count, 0)
                guard n > 0 else { return }
                buffer += chunk[0..<n]
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[..<newline], as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    buffer.removeSubrange(...newline)
                    count += 1
                    lock.withLock { lines.append(line) }
                    let tag = String(line.prefix { $0 != " " })
                    send(client, reply(tag, String(line.dropFirst(tag.count + 1))) + "\r\n")
                }
            }
        }
    }

    private func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Waits (at most 10 s) for the connection to end and returns the lines received.
    func finish() -> [String] {
        _ = done.wait(timeout: .now() + 10)
        close(listener)
        return lock.withLock { lines }
    }
}
