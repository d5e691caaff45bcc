import Foundation
import MailBridge
import Testing

struct MIMELimitsTests {
    /// `levels` nested multipart/mixed around one text leaf.
    static func nested(_ levels: Int) -> [UInt8] {
        var body = "Content-Type: text/plain\n\nleaf\n"
        for i in 0..<levels {
            body = "Content-Type: multipart/mixed; boundary=\"b\(i)\"\n\n--b\(i)\n\(body)\n--b\(i)--\n"
        }
        return .crlf("From: a@example.org\n" + body)
    }

    @Test func nestingWithinLimitParses() throws {
        var limits = MIMELimits()
        limits.maximumNestingDepth = 10
        let message = try MIMEParser(limits: limits).parse(Self.nested(10))
        #expect(message.allParts.count == 11)
        #expect(message.allParts.last?.depth == 10)
        #expect(try message.allParts.last?.text() == "leaf\r\n")
    }

    @Test func nestingOverLimitThrows() {
        var limits = MIMELimits()
        limits.maximumNestingDepth = 10
        #expect(throws: MIMEError.nestingTooDeep) { try MIMEParser(limits: limits).parse(Self.nested(11)) }
        #expect(throws: MIMEError.nestingTooDeep) { try MIMEParser().parse(Self.nested(20)) }
    }

    @Test func nestedMessageRFC822CountsAsDepth() {
        var body = "Subject: inner\n\nleaf\n"
        for _ in 0..<20 { body = "Content-Type: message/rfc822\n\n" + body }
        #expect(throws: MIMEError.nestingTooDeep) { try MIMEParser().parse(.crlf("From: a@example.org\n" + body)) }
    }

    /// Without the pre-scan, libetpan recurses 5000 levels deep and overflows the stack (measured: segfault).
    @Test func pathologicalNestingIsStoppedBeforeLibetpan() {
        #expect(throws: MIMEError.tooManyParts) { try MIMEParser().parse(Self.nested(5000)) }
    }

    /// The deepest message the pre-scan lets through (255 multipart levels, 256 Content-Type lines) is parsed
    /// by libetpan on a thread with only 256 KiB of stack, then rejected by our depth limit.
    @Test func deepestAllowedNestingIsSafeOnSmallStack() {
        let raw = Self.nested(MIMELimits.hardCeilingParts - 1)
        var limits = MIMELimits()
        limits.maximumParts = MIMELimits.hardCeilingParts
        let parser = MIMEParser(limits: limits)
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        let thread = Thread {
            do {
                _ = try parser.parse(raw)
                outcome.set("parsed")
            } catch {
                outcome.set("\(error)")
            }
            done.signal()
        }
        thread.stackSize = 256 * 1024
        thread.start()
        done.wait()
        #expect(outcome.get() == "\(MIMEError.nestingTooDeep)")
        #expect(throws: MIMEError.tooManyParts) {
            try MIMEParser(limits: limits).parse(Self.nested(MIMELimits.hardCeilingParts))
        }
    }

    @Test func tooManyParts() {
        var raw = "From: a@example.org\nContent-Type: multipart/mixed; boundary=XX\n\n"
        for i in 0..<40 { raw += "--XX\n\npart \(i)\n" }
        raw += "--XX--\n"
        var limits = MIMELimits()
        limits.maximumParts = 30
        #expect(throws: MIMEError.tooManyParts) { try MIMEParser(limits: limits).parse(.crlf(raw)) }
        limits.maximumParts = 41
        #expect((try? MIMEParser(limits: limits).parse(.crlf(raw)))?.root.children.count == 40)
    }

    @Test func partLimitIsClampedToHardCeiling() {
        var limits = MIMELimits()
        limits.maximumParts = 1_000_000
        #expect(limits.maximumParts == MIMELimits.hardCeilingParts)
    }

    @Test func headerBlockTooLarge() {
        var limits = MIMELimits()
        limits.maximumHeaderBlockBytes = 1024
        let raw = [UInt8].crlf("From: a@example.org\nX-Big: \(String(repeating: "x", count: 2000))\n\nbody\n")
        #expect(throws: MIMEError.headerTooLarge) { try MIMEParser(limits: limits).parse(raw) }
    }

    @Test func tooManyHeaderFields() {
        var limits = MIMELimits()
        limits.maximumHeaderFields = 10
        let fields = (0..<11).map { "X-F\($0): v\n" }.joined()
        #expect(throws: MIMEError.tooManyHeaderFields) {
            try MIMEParser(limits: limits).parse(.crlf("From: a@example.org\n" + fields + "\nbody\n"))
        }
    }

    @Test func decodedSizeLimit() {
        var limits = MIMELimits()
        limits.maximumDecodedBytes = 100
        let raw = [UInt8].crlf("From: a@example.org\n\n" + String(repeating: "y", count: 200) + "\n")
        #expect(throws: MIMEError.decodedSizeExceeded) { try MIMEParser(limits: limits).parse(raw) }
    }

    @Test func messageTooLarge() {
        var limits = MIMELimits()
        limits.maximumMessageBytes = 50
        #expect(throws: MIMEError.messageTooLarge) {
            try MIMEParser(limits: limits).parse(.crlf("From: a@example.org\n\n" + String(repeating: "z", count: 60)))
        }
    }

    @Test func errorDescriptionsCarryNoContent() {
        let error = MIMEError(.malformedHeader)
        #expect("\(error)" == "MIMEError(malformed header line)")
    }
}

/// A lock-protected result slot for the small-stack thread.
final class OutcomeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func set(_ v: String) { lock.withLock { value = v } }
    func get() -> String { lock.withLock { value } }
}
