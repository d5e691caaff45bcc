import Foundation
import Testing

@testable import ThreadStore

/// The SQLite engine's in-memory login-lock records (``ThreadStoreWebState``): bounded, and a flood of fresh keys
/// pushes out neither a running lock nor the memory of an earlier one, as the web inbox's limiter kept them.
@Suite struct LoginLockTableTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func key(_ name: String) -> Data { Data(name.utf8) }

    @Test func aFloodOfFreshKeysKeepsLocksAndTheirMemory() {
        let table = LoginLockTable()
        let running = table.update(Self.key("user:anna"), now: t0) { $0.lockedUntil = self.t0 + 900; $0.locks = 1 }
        // A lock that ended an hour ago but may still escalate the next one.
        let ended = table.update(Self.key("ip:192.0.2.1"), now: t0) { $0.lockedUntil = self.t0 - 3600; $0.locks = 2 }
        for index in 0..<(LoginLockTable.capacity + 20) {
            let now = t0 + 1 + Double(index) / 1000
            _ = table.update(Self.key("ip:flood\(index)"), now: now) { $0.failures.append(now) }
        }
        #expect(table.record(Self.key("user:anna")) == running)
        #expect(table.record(Self.key("ip:192.0.2.1")) == ended)
        // The oldest fresh keys went first; the newest stay.
        #expect(table.record(Self.key("ip:flood0")) == nil)
        #expect(table.record(Self.key("ip:flood\(LoginLockTable.capacity + 19)")) != nil)
    }

    @Test func whenEveryRecordLocksTheLeastRecentlyChangedGoes() {
        let table = LoginLockTable()
        for index in 0..<LoginLockTable.capacity {
            _ = table.update(Self.key("ip:\(index)"), now: t0 + Double(index)) { $0.lockedUntil = self.t0 + 86_400 }
        }
        _ = table.update(Self.key("user:anna"), now: t0 + 20_000) { $0.failures.append(self.t0) }
        #expect(table.record(Self.key("ip:0")) == nil)
        #expect(table.record(Self.key("ip:1")) != nil && table.record(Self.key("user:anna")) != nil)
    }
}
