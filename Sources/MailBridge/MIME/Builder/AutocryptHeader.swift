import Foundation
public import MailValues

/// The Autocrypt header (Autocrypt Level 1 §2.1): `addr`, optional `prefer-encrypt=mutual`, `keydata` in
/// base64, folded into continuation lines of at most 77 characters (whitespace inside keydata is ignored by
/// receivers, §2.1).
public struct AutocryptHeader: Sendable, Hashable, CustomStringConvertible {
    public let address: EmailAddress
    public let keyData: [UInt8]
    public let preferEncryptMutual: Bool

    /// - Parameter keyData: the binary OpenPGP transferable public key (not armored).
    public init(address: EmailAddress, keyData: [UInt8], preferEncryptMutual: Bool = true) {
        self.address = address
        self.keyData = keyData
        self.preferEncryptMutual = preferEncryptMutual
    }

    /// `Autocrypt: …\r\n` folded.
    public var rendered: String {
        var out = "Autocrypt: addr=\(address.unredactedDescription);"
        if preferEncryptMutual { out += " prefer-encrypt=mutual;" }
        out += " keydata=\r\n"
        for line in Base64Lines.lines(keyData, width: 76) { out += " \(line)\r\n" }
        return out
    }

    /// Parses an inbound `Autocrypt` field value (Autocrypt Level 1 §2.1): `addr` and `keydata` are required,
    /// `prefer-encrypt` is optional, attributes starting with `_` are ignored, and any other unknown attribute
    /// makes the whole header invalid (returns nil), as the specification requires.
    public init?(parsing value: String) {
        var address: EmailAddress?
        var keyData: [UInt8]?
        var mutual = false
        for attribute in value.split(separator: ";") {
            let pair = attribute.split(separator: "=", maxSplits: 1).map { String($0).trimmingASCIIWhitespace() }
            guard pair.count == 2 else { return nil }
            switch pair[0].lowercased() {
            case "addr":
                address = try? EmailAddress(pair[1])
            case "prefer-encrypt":
                mutual = pair[1].lowercased() == "mutual"
            case "keydata":
                let compact = String(pair[1].unicodeScalars.filter { !" \t\r\n".unicodeScalars.contains($0) })
                keyData = Data(base64Encoded: compact).map { [UInt8]($0) }
            case let name where name.hasPrefix("_"):
                continue
            default:
                return nil
            }
        }
        guard let address, let keyData, !keyData.isEmpty else { return nil }
        self.init(address: address, keyData: keyData, preferEncryptMutual: mutual)
    }

    public var description: String { "AutocryptHeader(\(keyData.count) bytes key)" }
}
