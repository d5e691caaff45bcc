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

    public var description: String { "AutocryptHeader(\(keyData.count) bytes key)" }
}
