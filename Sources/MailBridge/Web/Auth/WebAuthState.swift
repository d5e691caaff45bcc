// Security: the in-memory state of authentication shared by all requests of one router: the password hasher and
// the count of password checks running, the login rate limiter and TOTP secrets waiting for their confirming
// code. Nothing here is logged.

import Foundation
import Hummingbird
import Synchronization
import ThreadStore

/// State shared by the authentication middleware and routes of one router.
final class WebAuthState: Sendable {
    let services: WebServices
    let hasher: PasswordHasher
    private let limiter: Mutex<LoginRateLimit>
    /// Password checks running or waiting for the thread pool (bounded by `maximumConcurrentPasswordChecks`).
    let passwordChecks: AdmissionLimit
    /// Secrets shown on the enrolment page, per account, until confirmed (or 10 minutes pass).
    private let enrolments = Mutex<[AccountID: (secret: String, createdAt: Date)]>([:])
    static let enrolmentLifetime: TimeInterval = 10 * 60
    static let maximumPendingEnrolments = 1_000

    init(services: WebServices) {
        self.services = services
        hasher = PasswordHasher(cost: services.auth.bcryptCost)
        hasher.prepare()
        limiter = Mutex(LoginRateLimit(policy: services.auth.rateLimit))
        // A flood of logins gets quick refusals instead of a queue of 0.2-second bcrypt runs that delays every
        // login behind it.
        passwordChecks = AdmissionLimit(limit: services.auth.maximumConcurrentPasswordChecks)
    }

    var settings: WebAuthSettings { services.auth }
    var now: Date { services.now() }

    /// The trusted device of a login to `account`, from the request's device cookie.
    func device(_ request: Request, account: Account) -> DeviceCookie? {
        guard let value = request.cookies[settings.deviceCookieName]?.value else { return nil }
        let store = services.store
        return DeviceCookie(value, account: account, now: now, mac: { store.webDeviceMAC($0) })
    }

    /// A fresh device cookie for `account` (set at every completed login and after a password change).
    func deviceCookie(for account: Account) -> String {
        let store = services.store
        let value = DeviceCookie.issue(for: account, now: now, mac: { store.webDeviceMAC($0) })
        return AuthResponses.deviceCookie(value, secure: settings.secureCookies, maxAge: DeviceCookie.lifetime)
    }

    func isLocked(_ keys: [String]) -> Bool {
        let now = self.now
        return limiter.withLock { limit in keys.contains { limit.isLocked($0, now: now) } }
    }

    /// Whole seconds (at least 1) until none of `keys` is locked any more; nil if none is locked now. For
    /// `Retry-After` (RFC 9110 §10.2.3).
    func secondsLocked(_ keys: [String]) -> Int? {
        let now = self.now
        let until = limiter.withLock { limit in keys.compactMap { limit.lockedUntil($0, now: now) }.max() }
        return until.map { max(1, Int($0.timeIntervalSince(now).rounded(.up))) }
    }

    /// Records a failure for every key; returns whether one of them became locked by it.
    func recordFailure(_ keys: [String]) -> Bool {
        let now = self.now
        return limiter.withLock { limit in
            var locked = false
            for key in keys where !limit.isLocked(key, now: now) {
                if limit.recordFailure(key, now: now) { locked = true }
            }
            return locked
        }
    }

    func recordSuccess(_ keys: [String]) {
        let now = self.now
        limiter.withLock { limit in for key in keys { limit.recordSuccess(key, now: now) } }
    }

    /// The pending enrolment secret of `account`, created if missing or stale.
    func enrolmentSecret(for account: AccountID) -> String {
        let now = self.now
        return enrolments.withLock { table in
            if let entry = table[account], now.timeIntervalSince(entry.createdAt) < Self.enrolmentLifetime {
                return entry.secret
            }
            table = table.filter { now.timeIntervalSince($0.value.createdAt) < Self.enrolmentLifetime }
            if table.count >= Self.maximumPendingEnrolments,
                let oldest = table.min(by: { $0.value.createdAt < $1.value.createdAt })
            {
                table[oldest.key] = nil
            }
            let secret = TOTPAuthenticator.generateSecret()
            table[account] = (secret, now)
            return secret
        }
    }

    /// The pending secret of `account` if one is live (does not create one).
    func existingEnrolmentSecret(for account: AccountID) -> String? {
        let now = self.now
        return enrolments.withLock { table in
            guard let entry = table[account], now.timeIntervalSince(entry.createdAt) < Self.enrolmentLifetime else {
                return nil
            }
            return entry.secret
        }
    }

    func finishEnrolment(for account: AccountID) {
        _ = enrolments.withLock { $0.removeValue(forKey: account) }
    }
}
