// Fuzz target: the MIME side of an inbound message and of a decrypted one. The input is a message (or a decrypted
// entity). It goes through MIMEParser (libetpan underneath), MessageClassifier, DecryptedEntity, every part's
// decoded body, text (charset allow-list, iconv) and file name, the inbox display path (MessageDisplay:
// DisplayWalk, format=flowed, HTMLText over libxml2) and the withheld-part downloads. The first byte picks small
// limits (nesting, parts, header block) or the defaults.
//
// Checked besides crashes: the parser's limits hold on what it returns (depth, parts), a shape's payload is
// part of the input, every display download is part of the input or a decoded body within the decoded limit.

@testable import MailBridge
import CFuzzDriver

/// SwiftPM links `main` to `FuzzMIME_main`: start libFuzzer's driver with this target's input function.
@_cdecl("FuzzMIME_main")
public func fuzzMIMEMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzMIME(UnsafeRawPointer(data), size)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let selector = input.first else { return 0 }
    let bytes = Array(input.dropFirst())
    var limits = MIMELimits.default
    if selector & 1 != 0 {
        limits.maximumNestingDepth = 4
        limits.maximumParts = 8
        limits.maximumHeaderBlockBytes = 512
        limits.maximumHeaderFields = 16
        limits.maximumDecodedBytes = 4096
        limits.maximumParameterSections = 4
    }

    if let message = try? MIMEParser(limits: limits).parse(bytes) {
        check(message, limits: limits)
        switch MessageClassifier.classify(message) {
        case .pgpMIME(let payload):
            precondition(payload.count <= limits.maximumDecodedBytes, "PGP/MIME payload beyond the decoded limit")
        case .inlinePGP(let armored):
            precondition(armored.count <= bytes.count, "inline armor longer than the message")
            _ = InlinePlaintext.utf8(Array(bytes.prefix(64)), armored: armored)
        case .plain, .quarantine:
            break
        }
    }

    switch DecryptedEntity(bytes, limits: limits) {
    case .entity(let message): check(message, limits: limits)
    case .bareText, .unparseable: break
    }
    let display = MessageDisplay(body: bytes)
    var index = 0
    while let download = MessageDisplay.withheldContent(bytes, index: index) {
        precondition(download.count <= max(bytes.count, MIMELimits.default.maximumDecodedBytes))
        index += 1
    }
    precondition(index <= 2 * MIMELimits.hardCeilingParts + 1, "more downloads than parts")
    _ = display.parts.count
    if selector & 2 != 0 {
        _ = HTMLText.convert(bytes)
    }
    return 0
}

func check(_ message: MIMEMessage, limits: MIMELimits) {
    let parts = message.allParts
    precondition(parts.count <= max(limits.maximumParts, 1) + 1, "more parts than the limit: \(parts.count)")
    for part in parts {
        precondition(part.depth <= limits.maximumNestingDepth + 1, "deeper than the limit: \(part.depth)")
        precondition(part.rawBytes.count <= message.rawBytes.count)
        if let decoded = part.decodedBody {
            precondition(decoded.count <= limits.maximumDecodedBytes, "decoded body beyond the limit")
        }
        _ = try? part.text(lossy: false)
        if let text = try? part.text(lossy: true) {
            _ = FlowedText.decode(text, deleteSpace: part.rawBytes.count & 1 == 0)
        }
        _ = part.fileName
        _ = part.isAttachment
        _ = part.description
    }
    _ = message.description
}
