// Security: the state of authentication shared by all requests of one router: the password hasher and the count of
// password checks running and TOTP secrets waiting for their confirming code (in memory), and the login rate
// limiter, whose records live in the web state store (``WebStateStore``: in memory on SQLite, shared by every node
// on PostgreSQL) while its rule stays here. Nothing here is logged.

import Foundation
import Hummingbird
import Synchronization
import ThreadStore

/// State shared by the authentication middleware and routes of one router.
final class WebAuthState: Sendable {
    let services: WebServices
    let hasher: PasswordHasher
    /// The limiter's rule; its records are the store's (``WebStateStore/updateLoginLock(_:now:_:)``).
    let limiter: LoginRateLimit
    /// Password checks running or waiting for the thread pool (bounded by `maximumConcurrentPasswordChecks`).
    let passwordChecks: AdmissionLimit

    init(services: WebServices) {
        self.services = services
        hasher = PasswordHasher(cost: services.auth.bcryptCost)
        hasher.prepare()
        limiter = LoginRateLimit(policy: services.auth.rateLimit)
        // A flood of logins gets quick refusals instead of a queue of 0.2-second bcrypt runs that delays every
        // login behind it.
        passwordChecks = AdmissionLimit(limit: services.auth.maximumConcurrentPasswordChecks)
    }

    var settings: WebAuthSettings { services.auth }
    var webState: any WebStateStore { services.webState }
    var now: Date { services.now() }

    /// The trusted device of a login to `account`, from the request's device cookie.
    func device(_ request: Request, account: Account) -> DeviceCookie? {
        guard let value = request.cookies[settings.deviceCookieName]?.value else { return nil }
        let webState = services.webState
        return DeviceCookie(value, account: account, now: now, mac: { webState.webDeviceMAC($0) })
    }

    /// A fresh device cookie for `account` (set at every completed login and after a password change).
    func deviceCookie(for account: Account) -> String {
        let webState = services.webState
        let value = DeviceCookie.issue(for: account, now: now, mac: { webState.webDeviceMAC($0) })
        return AuthResponses.deviceCookie(value, secure: settings.secureCookies, maxAge: DeviceCookie.lifetime)
    }

    func isLocked(_ keys: [String]) async throws -> Bool { try await secondsLocked(keys) != nil }

    /// Whole seconds (at least 1) until none of `keys` is locked any more; nil if none is locked now. For
    /// `Retry-After` (RFC 9110 §10.2.3).
    func secondsLocked(_ keys: [String]) async throws -> Int? {
        let now = self.now
        var until: Date?
        for key in keys {
            let record = try await webState.loginLock(key)
            if let end = LoginRateLimit.lockedUntil(record, now: now) {
                until = max(until ?? end, end)
            }
        }
        return until.map { max(1, Int($0.timeIntervalSince(now).rounded(.up))) }
    }

    /// Records a failure for every key not locked yet, each atomically in the store (a failure on another node
    /// counts towards the same lock); returns whether one of them became locked by it.
    func recordFailure(_ keys: [String]) async throws -> Bool {
        let now = self.now
        let limiter = self.limiter
        var locked = false
        for key in keys {
            let outcome = RuleOutcome()
            _ = try await webState.updateLoginLock(key, now: now) { record in
                // Set, not or-ed: the store may run the rule again on a fresher record, and its last run counts.
                let result = limiter.countFailure(in: &record, key: key, now: now)
                outcome.locked.withLock { $0 = result }
            }
            if outcome.locked.withLock({ $0 }) { locked = true }
        }
        return locked
    }

    /// Forgets the failures of `keys` (a running lock stays); keys the store remembers nothing of are not written.
    func recordSuccess(_ keys: [String]) async throws {
        let now = self.now
        let limiter = self.limiter
        for key in keys {
            guard let record = try await webState.loginLock(key), LoginRateLimit.remembersAnything(record) else {
                continue
            }
            _ = try await webState.updateLoginLock(key, now: now) { limiter.countSuccess(in: &$0, now: now) }
        }
    }

    /// The TOTP secret the enrolment page of the pending login `token` shows and its confirmation checks.
    ///
    /// Derived, not stored: the MAC under the store's web key (``WebStateStore/webDeviceMAC(_:)``, derived from the
    /// master key, the same on every node) of a label of its own, the account and the pending session's token (the
    /// cookie, secret to its browser). So the page may be shown by one node and confirmed on another (issue 21),
    /// a reload shows the same secret, a new login shows a new one, and no table of pending secrets in any node's
    /// memory can be filled up. The secret is a random-looking 32-character string as ``TOTPAuthenticator``
    /// makes them (about 190 bits); once confirmed it is sealed into the account like any other.
    func enrolmentSecret(for account: AccountID, pendingToken token: String) -> String {
        let message = ["mailbridge totp enrolment v1", account.unredactedDescription, token].joined(separator: "\0")
        let mac = webState.webDeviceMAC(Data(message.utf8))
        let alphabet = TOTPAuthenticator.secretAlphabet
        return String(mac.prefix(32).map { alphabet[Int($0) % alphabet.count] })
    }
}

/// What the limiter's rule answered in the store's transaction (the last run counts if the store ran it again).
private final class RuleOutcome: Sendable {
    let locked = Mutex(false)
}
