import Foundation
import MailValues

/// Reads Autocrypt headers (Autocrypt Level 1 §2.1) of an inbound message: `addr=…; [prefer-encrypt=mutual;]
/// keydata=<base64>`. Only a header whose `addr` is the sender's own address counts; unknown critical
/// attributes (those not starting with `_`) make the header invalid, as the spec requires.
enum Autocrypt {
    static let maximumKeyBytes = 64 * 1024

    static func keyData(in headers: MIMEHeaders, for sender: EmailAddress) -> [[UInt8]] {
        headers.all("Autocrypt").compactMap { field in
            var address: String?
            var keydata: String?
            for attribute in field.value.split(separator: ";") {
                let pair = attribute.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { return nil }
                let name = pair[0].trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
                let value = String(pair[1])
                switch name {
                case "addr": address = value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
                case "keydata": keydata = value.filter { !$0.isWhitespace }
                case "prefer-encrypt": continue
                default: if !name.hasPrefix("_") { return nil }
                }
            }
            guard let address, (try? EmailAddress(address))?.canonical == sender.canonical, let keydata,
                keydata.count <= maximumKeyBytes * 4 / 3 + 4,
                let bytes = Data(base64Encoded: keydata)
            else { return nil }
            return Array(bytes)
        }
    }
}
