// Fuzz target: what a browser sends the web inbox before it is authenticated. The input's first byte picks the
// parser; the rest is the attacker's text: an urlencoded login/CSRF form body (FormFields), Cookie header lines
// (Hummingbird's Cookies, as AuthMiddleware reads the session and device cookies), or a device cookie value
// (DeviceCookie, checked against a keyed MAC).
//
// Checked besides crashes: a form keeps at most FormFields.maximumFields fields and the first value of a name; a
// device cookie the fuzzer made up is never accepted (it cannot know the MAC key), while a freshly issued one
// always is.

import Foundation
import Hummingbird
@testable import MailBridge
@testable import ThreadStore

let account = Account(
    id: try! AccountID("0123456789abcdef0123456789abcdef"), username: "anna", displayName: "Anna",
    role: .counsellor, language: .german, fields: [], isDisabled: false, hasSecondFactor: true,
    createdAt: Date(timeIntervalSince1970: 1_700_000_000), passwordChangedAt: Date(timeIntervalSince1970: 1_700_000_000)
)
let now = Date(timeIntervalSince1970: 1_760_000_000)

/// A keyed stand-in for the store's HMAC-SHA256 (32 octets): only its unpredictability to the fuzzer matters.
func mac(_ message: Data) -> Data {
    var state: [UInt64] = [0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x27D4_EB2F_1656_67C5]
    for (index, byte) in message.enumerated() {
        state[index & 3] = (state[index & 3] ^ UInt64(byte)) &* 0x100_0000_01B3
        state[(index + 1) & 3] ^= state[index & 3] >> 29
    }
    return Data(state.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } })
}
import CFuzzDriver

/// SwiftPM links `main` to `FuzzWebForms_main`: start libFuzzer's driver with this target's input function.
@_cdecl("FuzzWebForms_main")
public func fuzzWebFormsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzWebForms(UnsafeRawPointer(data), size)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebForms(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    let text = String(decoding: input.dropFirst(), as: UTF8.self)
    switch selector % 3 {
    case 0:
        let form = FormFields(text)
        precondition(form.values.count <= FormFields.maximumFields, "more form fields than the limit")
        for name in [WebAuthNames.usernameField, WebAuthNames.passwordField, WebAuthNames.codeField,
                     WebAuthNames.csrfField] {
            if let value = form[name] {
                _ = ConstantTime.equals(value, "0123456789abcdef")
            }
        }
    case 1:
        let cookies = Cookies(from: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        for secure in [false, true] {
            if let session = cookies[WebAuthNames.sessionCookie(secure: secure)] { _ = session.value.utf8.count }
            if let device = cookies[WebAuthNames.deviceCookie(secure: secure)] {
                precondition(DeviceCookie(device.value, account: account, now: now, mac: mac) == nil,
                             "a made-up device cookie was accepted")
            }
        }
    default:
        precondition(DeviceCookie(text, account: account, now: now, mac: mac) == nil,
                     "a made-up device cookie was accepted")
        if selector & 0x80 != 0 {
            let issued = DeviceCookie.issue(for: account, now: now, mac: mac)
            precondition(DeviceCookie(issued, account: account, now: now + 60, mac: mac) != nil,
                         "an issued device cookie was refused")
        }
    }
    return 0
}
