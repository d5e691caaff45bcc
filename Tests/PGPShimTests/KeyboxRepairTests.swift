import Foundation
import Testing
@testable import PGPShim

/// A keyring torn by a gpg killed between its two renames (no `pubring.kbx`, only `.tmp` and `~`) is put back,
/// from the complete new file when it is a keybox, else from the backup (issue 28; seen in AgentKillTests as
/// "Cannot open keyring" for minutes). Real files; the keybox header as gpg writes it.
@Suite struct KeyboxRepairTests {
    /// A 32-octet keybox header blob: length, type 1, version 1, flags, "KBXf".
    private static let header: [UInt8] = [0, 0, 0, 32, 1, 1, 0, 0] + Array("KBXf".utf8)
        + [UInt8](repeating: 0, count: 20)

    private func home() throws -> String {
        let path = "/tmp/mb-kbx-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func theCompleteNewFileIsPutInPlace() throws {
        let home = try home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try Data(Self.header + [1]).write(to: URL(fileURLWithPath: home + "/pubring.kbx.tmp"))
        try Data(Self.header + [2]).write(to: URL(fileURLWithPath: home + "/pubring.kbx~"))
        #expect(KeyboxRepair.isTorn(home: home))
        #expect(KeyboxRepair.repair(home: home) == "pubring.kbx.tmp")
        #expect(try Data(contentsOf: URL(fileURLWithPath: home + "/pubring.kbx")).last == 1)
        #expect(!KeyboxRepair.isTorn(home: home))
        #expect(KeyboxRepair.repair(home: home) == nil)
    }

    @Test func anEmptyKeyboxMadeMeanwhileIsReplaced() throws {
        let home = try home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try Data(Self.header).write(to: URL(fileURLWithPath: home + "/pubring.kbx"))  // what a later gpg creates
        try Data(Self.header + [2]).write(to: URL(fileURLWithPath: home + "/pubring.kbx~"))
        #expect(KeyboxRepair.repair(home: home) == "pubring.kbx~")
        #expect(try Data(contentsOf: URL(fileURLWithPath: home + "/pubring.kbx")).last == 2)
    }

    @Test func aTruncatedNewFileLeavesTheBackup() throws {
        let home = try home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try Data([0, 0]).write(to: URL(fileURLWithPath: home + "/pubring.kbx.tmp"))
        try Data(Self.header + [2]).write(to: URL(fileURLWithPath: home + "/pubring.kbx~"))
        #expect(KeyboxRepair.repair(home: home) == "pubring.kbx~")
        #expect(try Data(contentsOf: URL(fileURLWithPath: home + "/pubring.kbx")).last == 2)
    }

    @Test func anIntactOrNewHomeIsLeftAlone() throws {
        let home = try home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(!KeyboxRepair.isTorn(home: home))  // a new home: no keyring yet, nothing left behind
        try Data(Self.header + [5]).write(to: URL(fileURLWithPath: home + "/pubring.kbx"))
        try Data(Self.header + [9]).write(to: URL(fileURLWithPath: home + "/pubring.kbx~"))
        #expect(KeyboxRepair.repair(home: home) == nil)
        #expect(try Data(contentsOf: URL(fileURLWithPath: home + "/pubring.kbx")) == Data(Self.header + [5]))
    }
}
