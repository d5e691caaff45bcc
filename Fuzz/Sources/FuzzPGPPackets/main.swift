// Fuzz target: PGPShim's own readers of untrusted OpenPGP bytes, the ones that run before or beside gpg (no gpg
// engine call here). The input is an armored or binary message, or a decrypted packet stream. It goes through
// CiphertextShape/OuterPackets (armor decoding, the leading key-packet walk, key-packet removal),
// OpenPGPSniffer, SignedMessageInspector (packet walk, nested compressed data) and Decompressor (zip, zlib,
// bzip2) with a small output cap.
//
// Checked besides crashes: every decompression respects its cap, removing key packets never makes the message
// longer and keeps an integrity-protected shape, and a key ID is 16 upper-case hex digits.

@testable import PGPShim

let decompressionLimit = 64 * 1024
import CFuzzDriver

/// SwiftPM links `main` to `FuzzPGPPackets_main`: start libFuzzer's driver with this target's input function.
@_cdecl("FuzzPGPPackets_main")
public func fuzzPGPPacketsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzPGPPackets(UnsafeRawPointer(data), size)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPGPPackets(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))

    let shape = CiphertextShape.of(bytes)
    let keyIDs = CiphertextShape.keyPacketIDs(bytes)
    for keyID in keyIDs {
        let hex = keyID.utf8.allSatisfy { (48...57).contains($0) || (65...70).contains($0) }
        precondition(keyID.utf8.count == 16 && hex, "malformed key ID")
    }
    if let binary = CiphertextShape.binaryPackets(bytes), let first = keyIDs.first {
        if let stripped = CiphertextShape.removingKeyPackets(bytes, keyIDs: [first]) {
            precondition(stripped.count < binary.count, "removing a key packet did not shorten the message")
            // The pipeline decrypts only integrity-protected messages: stripping must keep that shape.
            if shape == .integrityProtected {
                precondition(CiphertextShape.of(stripped) == shape, "removing key packets changed the shape")
            }
            precondition(!CiphertextShape.keyPacketIDs(stripped).contains(first), "the removed key ID is still there")
        }
    }

    _ = OpenPGPSniffer.looksLikeOpenPGPMessage(prefix: Array(bytes.prefix(OpenPGPSniffer.prefixLength)),
                                               totalLength: bytes.count)

    if let inspection = try? SignedMessageInspector.inspect(bytes, limit: decompressionLimit) {
        for signature in inspection.signatures {
            _ = signature.issuerFingerprint
            _ = signature.intendedRecipients.count
        }
    }

    if let algorithm = bytes.first {
        if let output = try? Decompressor.decompress(Array(bytes.dropFirst())[...], algorithm: algorithm % 5,
                                                     limit: decompressionLimit) {
            precondition(output.count <= decompressionLimit, "decompression beyond its limit")
        }
    }
    return 0
}
