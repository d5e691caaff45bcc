import MailBridge
import Testing

/// Reason codes written to the audit log keep their numbers: a renumbered case would silently change the meaning
/// of every stored row (STYLE.md, "Stored codes are explicit"; issue 19).
@Suite struct StoredReasonCodeTests {
    @Test func rejectionReasonsKeepTheirStoredNumbers() {
        let pinned: [(AcceptOutcome.RejectionReason, Int)] = [
            (.notForUs, 1), (.integrityProtectionMissing, 2), (.corrupted, 3), (.unsupportedAlgorithm, 4),
            (.tooLarge, 5), (.notEncrypted, 6), (.replayedCiphertext, 7), (.noClientKey, 8),
            (.malformedInnerMessage, 9), (.invalidSender, 10), (.noMailbox, 11), (.nestedEncryption, 12),
            (.ambiguousSigners, 13), (.unstorable, 14),
        ]
        for (reason, number) in pinned { #expect(reason.storedCode == number, "\(reason)") }
        // A new case must be added here with its own, new number.
        #expect(AcceptOutcome.RejectionReason.allCases.count == pinned.count)
        #expect(Set(AcceptOutcome.RejectionReason.allCases.map(\.storedCode)).count == pinned.count)
    }

    @Test func keyProblemsKeepTheirStoredNumbers() {
        let pinned: [(ReplyOutcome.KeyProblem, Int)] = [(.missing, 1), (.expired, 2), (.revoked, 3), (.unusable, 4)]
        for (problem, number) in pinned { #expect(problem.storedCode == number, "\(problem)") }
        #expect(ReplyOutcome.KeyProblem.allCases.count == pinned.count)
    }
}
