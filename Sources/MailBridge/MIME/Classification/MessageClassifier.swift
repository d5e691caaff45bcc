// Security: decides from untrusted structure whether a message may be decrypted into a thread. Only two
// shapes are accepted (top-level RFC 3156 multipart/encrypted, or a text/plain body that is exactly one armor
// block); every other appearance of encryption markers is quarantined, so content can never be half-encrypted
// (plain text mixed in next to ciphertext would otherwise be stored as if it had been sent encrypted).

/// Classifies a parsed message. Pure: reads the value tree only.
///
/// ```swift
/// switch MessageClassifier.classify(message) {
/// case .pgpMIME(let payload): …        // hand to PGPShim
/// case .inlinePGP(let armored): …
/// case .plain: …                       // redirect template only
/// case .quarantine(let reason): …
/// }
/// ```
public enum MessageClassifier {
    public static func classify(_ message: MIMEMessage) -> MessageShape {
        let root = message.root
        let parts = root.allParts
        if parts.contains(where: { $0.contentType.mimeType == "message/partial" }) {
            return .quarantine(.messagePartial)
        }
        if isSMIME(parts) { return .quarantine(.sMIME) }
        if root.contentType.mimeType == "multipart/encrypted" { return classifyPGPMIME(root) }

        let below = parts.dropFirst()
        if below.contains(where: {
            ["multipart/encrypted", "application/pgp-encrypted"].contains($0.contentType.mimeType)
        }) {
            return .quarantine(.encryptedPartNested)
        }
        if parts.contains(where: isBinaryOpenPGPAttachment) { return .quarantine(.encryptedAttachment) }

        if case .single(let bytes) = root.body {
            return classifySingle(root, bytes)
        }
        let armored = parts.filter { part in part.decodedBody.map(ArmorScanner.containsBegin) ?? false }
        if armored.contains(where: { $0.contentType.mimeType == "text/html" }) { return .quarantine(.armorInHTML) }
        if !armored.isEmpty { return .quarantine(.encryptedPartNested) }
        return .plain
    }

    /// RFC 3156 §4: protocol parameter, exactly two parts, "Version: 1", then octet-stream with the armor.
    private static func classifyPGPMIME(_ root: MIMEPart) -> MessageShape {
        guard let proto = root.contentType.parameters["protocol"] else {
            return .quarantine(.malformedMultipartEncrypted)
        }
        guard proto.lowercased() == "application/pgp-encrypted" else {
            return .quarantine(.unsupportedEncryptionProtocol)
        }
        let children = root.children
        guard children.count == 2,
            children[0].contentType.mimeType == "application/pgp-encrypted",
            let control = children[0].decodedBody,
            children[1].contentType.mimeType == "application/octet-stream",
            let payload = children[1].decodedBody
        else { return .quarantine(.malformedMultipartEncrypted) }
        let lines = String(decoding: control, as: UTF8.self).split(whereSeparator: \.isNewline)
        guard lines.contains(where: { $0.trimmingCharacters() == "Version: 1" }) else {
            return .quarantine(.malformedMultipartEncrypted)
        }
        guard case .single(let range, true) = ArmorScanner.scan(payload) else {
            return .quarantine(.malformedMultipartEncrypted)
        }
        return .pgpMIME(encryptedPayload: Array(payload[range]))
    }

    private static func classifySingle(_ root: MIMEPart, _ bytes: [UInt8]) -> MessageShape {
        let result = ArmorScanner.scan(bytes)
        if result == .none { return .plain }
        switch root.contentType.mimeType {
        case "text/plain":
            switch result {
            case .single(let range, true): return .inlinePGP(armored: Array(bytes[range]))
            case .single: return .quarantine(.textAroundArmor)
            case .multiple: return .quarantine(.multipleArmorBlocks)
            case .malformed, .none: return .quarantine(.malformedArmor)
            }
        case "text/html":
            return .quarantine(.armorInHTML)
        default:
            return .quarantine(.encryptedAttachment)
        }
    }

    /// S/MIME anywhere (RFC 8551 §3.2 media types and `smime.p7m`), or a pkcs7 `multipart/signed` wrapping
    /// anything encrypted.
    private static func isSMIME(_ parts: [MIMEPart]) -> Bool {
        let pkcs7Mime: Set<String> = ["application/pkcs7-mime", "application/x-pkcs7-mime"]
        if parts.contains(where: { pkcs7Mime.contains($0.contentType.mimeType) }) { return true }
        if parts.contains(where: { ($0.fileName?.lowercased().hasSuffix(".p7m")) ?? false }) { return true }
        for part in parts where part.contentType.mimeType == "multipart/signed" {
            let proto = part.contentType.parameters["protocol"]?.lowercased() ?? ""
            guard proto.hasSuffix("pkcs7-signature") else { continue }
            let inner = part.allParts.dropFirst()
            let encrypted = inner.contains { p in
                ["multipart/encrypted", "application/pgp-encrypted"].contains(p.contentType.mimeType)
                    || (p.decodedBody.map(ArmorScanner.containsBegin) ?? false)
            }
            if encrypted { return true }
        }
        return false
    }

    /// A `.pgp`/`.gpg` file that is not declared as a key or signature (RFC 3156 §7 `application/pgp-keys`,
    /// §5 `application/pgp-signature`): binary OpenPGP ciphertext we must not treat as plain.
    private static func isBinaryOpenPGPAttachment(_ part: MIMEPart) -> Bool {
        let declared: Set<String> = ["application/pgp-keys", "application/pgp-signature"]
        guard !declared.contains(part.contentType.mimeType), let name = part.fileName?.lowercased() else {
            return false
        }
        return name.hasSuffix(".pgp") || name.hasSuffix(".gpg")
    }
}
