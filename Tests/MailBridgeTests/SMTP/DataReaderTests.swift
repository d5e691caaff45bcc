import MailBridge
import NIOCore
import Testing

/// Splits raw bytes into the fragments the framing decoder produces: lines ending in LF, and long lines cut at
/// `limit` octets (never between CR and LF).
func framedFragments(_ bytes: [UInt8], limit: Int = 1000) -> [(ByteBuffer, Bool)] {
    var result: [(ByteBuffer, Bool)] = []
    var current: [UInt8] = []
    for byte in bytes {
        current.append(byte)
        if byte == UInt8(ascii: "\n") {
            result.append((ByteBuffer(bytes: current), true))
            current = []
        } else if current.count == limit {
            if current.last == UInt8(ascii: "\r") {
                current.removeLast()
                result.append((ByteBuffer(bytes: current), false))
                current = [UInt8(ascii: "\r")]
            } else {
                result.append((ByteBuffer(bytes: current), false))
                current = []
            }
        }
    }
    if !current.isEmpty { result.append((ByteBuffer(bytes: current), false)) }
    return result
}

/// Feeds `input` through a reader; returns the stored content, the rejection, and the bytes after end of data.
func readData(
    _ input: String,
    maximumMessageSize: Int = 10_000,
    maximumHeaderSize: Int = 10_000
) -> (content: String, rejection: DataReader.Rejection?, finished: Bool, rest: String) {
    var reader = DataReader(
        maximumMessageSize: maximumMessageSize,
        maximumLineLength: 1000,
        maximumHeaderSize: maximumHeaderSize
    )
    var content = ByteBuffer()
    var rest = ByteBuffer()
    for (fragment, endsLine) in framedFragments(Array(input.utf8)) {
        if reader.isFinished {
            var copy = fragment
            rest.writeBuffer(&copy)
            continue
        }
        if case .content(var bytes) = reader.consume(fragment, endsLine: endsLine) {
            content.writeBuffer(&bytes)
        }
    }
    return (String(buffer: content), reader.rejection, reader.isFinished, String(buffer: rest))
}

struct DataReaderTests {
    @Test func readsUntilTerminatorAndUnstuffs() {
        let result = readData("Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n")
        #expect(result.finished)
        #expect(result.rejection == nil)
        #expect(result.content == "Subject: x\r\n\r\n.leading dot\r\n")
        #expect(result.rest == "QUIT\r\n")
    }

    @Test func emptyMessageEndsAtOnce() {
        let result = readData(".\r\n")
        #expect(result.finished && result.content.isEmpty && result.rejection == nil)
    }

    @Test func dotLinesThatAreNotTerminators() {
        let result = readData("a\r\n.x\r\n. \r\n..\r\n.\r\n")
        #expect(result.content == "a\r\nx\r\n \r\n.\r\n")
        #expect(result.rejection == nil)
    }

    @Test func oversizeMessageIsRejectedButReadToTheEnd() {
        let body = String(repeating: "0123456789abcdefghi\r\n", count: 100)
        let result = readData(body + ".\r\nNOOP\r\n", maximumMessageSize: 1000)
        #expect(result.rejection == .messageTooLarge)
        #expect(result.finished)
        #expect(result.rest == "NOOP\r\n")
        #expect(result.content.utf8.count <= 1000)
    }

    @Test func overlongTextLineIsRejected() {
        let line = String(repeating: "x", count: 999) + "\r\n"  // 1001 octets with CRLF
        let result = readData("\r\n" + line + ".\r\nNOOP\r\n")
        #expect(result.rejection == .lineTooLong)
        #expect(result.rest == "NOOP\r\n")
        let fits = String(repeating: "x", count: 998) + "\r\n"
        #expect(readData("\r\n" + fits + ".\r\n").rejection == nil)
    }

    @Test func oversizeHeaderIsRejected() {
        let headers = String(repeating: "X-Pad: 0123456789\r\n", count: 20)
        let result = readData(headers + "\r\nbody\r\n.\r\n", maximumHeaderSize: 100)
        #expect(result.rejection == .headerTooLarge)
        #expect(readData("X: y\r\n\r\n" + headers + ".\r\n", maximumHeaderSize: 100).rejection == nil)
    }
}
