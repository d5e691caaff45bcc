// Security: TOTP codes arrive from the second login step and the enrolment form (untrusted, six digits). The
// shared secret comes from the store (sealed at rest) or is generated here; it is shown once to its own account
// on the enrolment page and never logged. Codes are compared without early exit; the caller marks the accepted
// time step as used so a code cannot be replayed (RFC 6238 §5.2).

public import Foundation
import HummingbirdOTP

/// TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) with one step of clock drift either way.
///
/// ```swift
/// let secret = TOTPAuthenticator.generateSecret()
/// if let step = TOTPAuthenticator.verify(code: "123456", secret: secret, at: Date()),
///    try tx.acceptTOTPStep(step, for: account) { /* logged in */ }
/// ```
public enum TOTPAuthenticator {
    /// RFC 6238 §5.2 recommends 30 seconds.
    public static let timeStep = 30
    /// Six digits (the authenticator apps' default).
    public static let digits = 6
    /// Accepted drift in steps (RFC 6238 §5.2: "at most one time step").
    public static let allowedDrift = 1

    /// A new shared secret: 32 random characters of `A-Z a-z 0-9` (about 190 bits; RFC 4226 §4 asks for at
    /// least 128). HummingbirdOTP keys the HMAC with the secret's UTF-8 bytes, and so do authenticator apps
    /// after decoding ``base32(_:)``.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in
            secretAlphabet[Int(generator.next(upperBound: UInt64(secretAlphabet.count)))]
        })
    }

    /// The characters of a secret (``generateSecret()``; 32 of them).
    static let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// The time step of `date` (RFC 6238 §4.2: T = floor((now - T0) / X)).
    public static func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / Double(timeStep)).rounded(.down))
    }

    /// The code of `secret` for time step `step`, zero-padded to six digits.
    public static func code(secret: String, step: Int64) -> String {
        let value = TOTP(secret: secret, length: digits, timeStep: timeStep)
            .compute(date: Date(timeIntervalSince1970: TimeInterval(step) * TimeInterval(timeStep)))
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// The time step whose code equals `code` (within ±1 step of `date`), or nil. Whitespace inside the code is
    /// ignored; anything but six digits fails. Checks every candidate step without stopping at a match.
    public static func verify(code: String, secret: String, at date: Date) -> Int64? {
        let digitsOnly = code.filter { !$0.isWhitespace }
        guard digitsOnly.utf8.count == digits, digitsOnly.utf8.allSatisfy({ (48...57).contains($0) }) else {
            return nil
        }
        let now = step(at: date)
        var matched: Int64?
        for offset in Int64(-allowedDrift)...Int64(allowedDrift) {
            if ConstantTime.equals(self.code(secret: secret, step: now + offset), digitsOnly) { matched = now + offset }
        }
        return matched
    }

    /// The `otpauth://totp/…` URI for authenticator apps (label `issuer:username`).
    public static func provisioningURI(secret: String, username: String, issuer: String) -> String {
        TOTP(secret: secret, length: digits, timeStep: timeStep)
            .createAuthenticatorURL(label: "\(issuer):\(username)", issuer: issuer)
    }

    /// RFC 4648 §6 base32 (no padding) of the secret's UTF-8 bytes: what a user types into an authenticator app.
    public static func base32(_ secret: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var output = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in secret.utf8 {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return output
    }
}
