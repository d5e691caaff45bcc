import CEtPan

/// Owns one libetpan `mailimf_address_list` (RFC 5322 §3.4 address-list), freed in `deinit` with
/// `mailimf_address_list_free` (mailimf_types.h). Values are copied out by ``entries``; never shared.
final class EtPanAddressList {
    /// One parsed address, copied into Swift.
    enum Entry {
        case mailbox(displayName: [UInt8]?, addrSpec: [UInt8])
        case group(mailboxCount: Int)
    }

    private let list: UnsafeMutablePointer<mailimf_address_list>
    /// True if the parser stopped before the end (only CFWS may follow a valid list).
    let consumedAll: Bool

    /// `mailimf_address_list_parse(message, length, &index, &result)`: "(* indx) is modified to point at the
    /// end of the parsed data" (mailimf.h); returns nil if it fails.
    init?(_ value: [UInt8]) {
        var index = 0
        var result: UnsafeMutablePointer<mailimf_address_list>?
        let status = value.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                mailimf_address_list_parse(chars.baseAddress, chars.count, &index, &result)
            }
        }
        guard status == Int32(MAILIMF_NO_ERROR), let result else {
            if let result { mailimf_address_list_free(result) }
            return nil
        }
        list = result
        consumedAll = Self.isCFWS(value[min(index, value.count)...])
    }

    /// True if `rest` is only whitespace and (nested, escaped) comments: RFC 5322 §3.2.2 CFWS, which may
    /// follow an angle-addr but which libetpan leaves unparsed.
    static func isCFWS(_ rest: ArraySlice<UInt8>) -> Bool {
        var depth = 0
        var escaped = false
        for byte in rest {
            if escaped {
                escaped = false
                continue
            }
            switch byte {
            case UInt8(ascii: "\\") where depth > 0: escaped = true
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                guard depth > 0 else { return false }
                depth -= 1
            case 0x20, 0x09, 0x0D, 0x0A: continue
            default: if depth == 0 { return false }
            }
        }
        return depth == 0 && !escaped
    }

    deinit { mailimf_address_list_free(list) }

    var entries: [Entry] {
        var out: [Entry] = []
        var cell = list.pointee.ad_list?.pointee.first
        while let current = cell {
            cell = current.pointee.next
            guard let address = current.pointee.data?.assumingMemoryBound(to: mailimf_address.self).pointee else {
                continue
            }
            switch Int(address.ad_type) {
            case MAILIMF_ADDRESS_MAILBOX:
                if let mailbox = address.ad_data.ad_mailbox?.pointee, let spec = mailbox.mb_addr_spec {
                    out.append(
                        .mailbox(displayName: mailbox.mb_display_name.map(Self.bytes), addrSpec: Self.bytes(spec)))
                }
            default:
                let count = address.ad_data.ad_group?.pointee.grp_mb_list?.pointee.mb_list?.pointee.count ?? 0
                out.append(.group(mailboxCount: Int(count)))
            }
        }
        return out
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>) -> [UInt8] {
        var n = 0
        while pointer[n] != 0 { n += 1 }
        return Array(UnsafeRawBufferPointer(start: pointer, count: n))
    }
}

@available(*, unavailable)
extension EtPanAddressList: Sendable {}
