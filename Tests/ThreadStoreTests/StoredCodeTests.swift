import Testing
import ThreadStore

/// Codes that are written to disk keep their numbers: a renumbered case would silently change the meaning of
/// every stored row (STYLE.md, "Stored codes are explicit").
@Suite struct StoredCodeTests {
    @Test func signatureVerdictCodesKeepTheirStoredNumbers() {
        let pinned: [(SignatureVerdictCode, Int)] = [
            (.unsigned, 0), (.valid, 1), (.validButUntrusted, 2), (.bad, 3), (.missingKey, 4), (.notApplicable, 5),
            (.signerAddressMismatch, 6), (.unconfirmedKeyChange, 7), (.notForThisRecipient, 8), (.oldSignature, 9),
            (.keyNotCurrent, 10),
        ]
        for (code, number) in pinned {
            #expect(code.rawValue == number, "\(code)")
            #expect(SignatureVerdictCode(rawValue: number) == code)
        }
        // A new case must be added here with its own, new number.
        #expect(SignatureVerdictCode.allCases.count == pinned.count)
        #expect(SignatureVerdictCode(rawValue: 11) == nil)
    }

    @Test func outboxKindsAndTheReceiptEventKeepTheirStoredNumbers() {
        let kinds: [(OutboxKind, Int)] = [
            (.redirectReply, 0), (.counsellorReply, 1), (.notification, 2), (.deliveryStatus, 3), (.receipt, 4),
        ]
        for (kind, number) in kinds {
            #expect(kind.rawValue == number, "\(kind)")
            #expect(OutboxKind(rawValue: number) == kind)
        }
        #expect(AuditEvent.receiptQueued.rawValue == 42)
        #expect(AuditEvent(rawValue: 42) == .receiptQueued)
    }

    @Test func messageDirectionsKeepTheirStoredNumbers() {
        #expect(MessageDirection.inbound.rawValue == 0)
        #expect(MessageDirection.outbound.rawValue == 1)
    }
}
