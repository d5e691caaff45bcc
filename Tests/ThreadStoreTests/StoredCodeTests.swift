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

    /// The webhook tables' codes (issue 29): the schema's trigger writes the type numbers from audit event numbers
    /// in SQL (WebhookSchema, PostgresSchema+Webhooks), so neither side may be renumbered.
    @Test func webhookCodesKeepTheirStoredNumbersAndNames() {
        let types: [(WebhookEventType, Int, String)] = [
            (.threadCreated, 1, "thread.created"), (.messageReceived, 2, "message.received"),
            (.replySent, 3, "reply.sent"), (.replyHeld, 4, "reply.held"), (.keyChanged, 5, "key.changed"),
        ]
        for (type, number, name) in types {
            #expect(type.rawValue == number && type.name == name && WebhookEventType(name: name) == type, "\(type)")
        }
        #expect(types.count == WebhookEventType.allCases.count)
        #expect(WebhookDeliveryState.allCases.map(\.rawValue) == [0, 1, 2])
        #expect(WebhookAttemptProblem.allCases.map(\.rawValue) == [-1, -2, -3, -4, -5])
        // The audit events the trigger reads.
        #expect([AuditEvent.threadCreated, .messageStored, .outboxDelivered, .clientKeyChangeConfirmed, .replyHeld,
                 .threadKeyReceived].map(\.rawValue) == [1, 2, 8, 24, 38, 41])
        #expect(SignatureVerdictCode.unconfirmedKeyChange.rawValue == 7)
    }
}

/// Every audit event keeps its stored number (issue 19): the audit log is append-only, so a renumbered case would
/// rewrite history. A new event is added to this list with a new number; a number is never reused.
@Suite struct AuditEventCodeTests {
    static let pinned: [(AuditEvent, Int)] = [
        (.threadCreated, 1), (.messageStored, 2), (.duplicateIgnored, 3), (.replayRejected, 4), (.threadDeleted, 5),
        (.threadDeletedByRetention, 6), (.outboxQueued, 7), (.outboxDelivered, 8), (.outboxFailed, 9),
        (.threadStateChanged, 10), (.retentionApplied, 11), (.backupWritten, 12), (.auditPruned, 13),
        (.outboxDeletedByRetention, 14), (.inboundRedirected, 15), (.inboundRedirectSuppressed, 16),
        (.inboundEncryptedRejected, 17), (.replyKeyUnusable, 18), (.threadViewed, 19), (.replyQueued, 20),
        (.attachmentDownloaded, 21), (.threadExported, 22), (.threadAssigned, 23), (.clientKeyChangeConfirmed, 24),
        (.loginSucceeded, 25), (.loginFailed, 26), (.loggedOut, 27), (.accountCreated, 28), (.accountDisabled, 29),
        (.accountReset, 30), (.apiTokenCreated, 31), (.apiTokenRevoked, 32), (.secondFactorEnrolled, 33),
        (.accountFieldsChanged, 34), (.accountEnabled, 35), (.accountDeleted, 36), (.passwordChanged, 37),
        (.replyHeld, 38), (.heldReplyReleased, 39), (.clientKeyRequested, 40), (.threadKeyReceived, 41),
        (.receiptQueued, 42), (.notificationSettingsChanged, 45), (.noticeDigestQueued, 46),
        (.rejectedMessageReinjected, 52), (.rejectedMessageDeleted, 53), (.rejectedMessagesExpired, 54),
        (.gatewayKeyRotated, 60), (.gatewayKeyRetired, 61), (.gatewayKeyRevoked, 62),
        (.gatewayKeyExpiryExtended, 63),
        (.masterKeyRotated, 64), (.backupRestored, 65), (.accountOrganisationChanged, 66),
        (.organisationShredded, 67), (.organisationGatewayKeysRetired, 68),
        (.threadKeysSealedForOrganisation, 69), (.accountRoleChanged, 70),
    ]

    @Test func everyAuditEventKeepsItsStoredNumber() {
        for (event, number) in Self.pinned {
            #expect(event.rawValue == number, "\(event)")
            #expect(AuditEvent(rawValue: number) == event)
        }
        #expect(Set(Self.pinned.map(\.1)).count == Self.pinned.count, "a number is pinned twice")
        let unpinned = AuditEvent.allCases.filter { event in !Self.pinned.contains { $0.0 == event } }
        #expect(unpinned.isEmpty, "events without a pinned number: \(unpinned)")
    }
}
