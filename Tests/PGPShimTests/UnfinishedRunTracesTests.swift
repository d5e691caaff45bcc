@testable import PGPShim
import Testing

/// The rule by which ``PGPService`` judges an unfinished gpg run: only when every run ended after the same status
/// lines, and after at least one. Killed runs end wherever the kill hit them, or before their first line.
@Suite struct UnfinishedRunTracesTests {
    static func run(_ keywords: [String]?) -> PGPError {
        var error = PGPError(.transient, GPGContext.unfinishedRun)
        error.unfinishedTrace = keywords
        return error
    }

    @Test func onlyTheSameNonEmptyEndingEveryTimeIsRepeated() {
        let cut = ["KEY_CONSIDERED", "ENC_TO", "BEGIN_DECRYPTION"]
        var same = UnfinishedRunTraces()
        for _ in 0..<3 { same.note(Self.run(cut)) }
        #expect(same.repeated == cut)

        var elsewhere = UnfinishedRunTraces()
        elsewhere.note(Self.run(cut))
        elsewhere.note(Self.run(Array(cut.prefix(2))))
        elsewhere.note(Self.run(cut))
        #expect(elsewhere.repeated == nil)

        var silent = UnfinishedRunTraces()
        for _ in 0..<3 { silent.note(Self.run([])) }
        #expect(silent.repeated == nil, "runs that died before their first line are never judged")

        var unknown = UnfinishedRunTraces()
        unknown.note(Self.run(nil))
        #expect(unknown.repeated == nil)
        #expect(UnfinishedRunTraces().repeated == nil)
    }

    /// gpgme's end-of-channel call (an empty keyword) is not a status line gpg wrote.
    @Test func theStatusChannelsEndIsNotALine() {
        var log = DecryptionStatusLog()
        log.observe(keyword: "", arguments: "")
        #expect(log.trace.isEmpty)
        log.observe(keyword: "NEWSIG", arguments: "")
        log.observe(keyword: "", arguments: "")
        #expect(log.trace == ["NEWSIG"])
    }
}
