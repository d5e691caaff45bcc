// Security: starts the webhook sender (issue 29) from `[webhook]`: reads the signing secrets from their file (a
// problem is reported by file and line, never by a secret) and tells the store whether to record events.

public import Foundation
public import Logging
public import ThreadStore

extension OpenedStoreEngine {
    /// The name this process leases webhook events under: the node name on PostgreSQL, `local` on SQLite (one
    /// process owns the file).
    public var webhookLeaseOwner: String {
        guard case .postgresql(let opened) = self else { return "local" }
        return opened.node
    }
}

/// The webhook sender of a starting gateway (issue 29).
enum GatewayWebhooks {
    /// With `[webhook]`: reads the secrets, makes the sender, tells the store to record events, and returns the
    /// dispatcher. Without: on SQLite the store stops recording (this process is the only one); on PostgreSQL the
    /// subscription is left to the nodes that have `[webhook]` (docs/webhooks.md, "Several nodes").
    /// - Throws: ``GatewayError`` for a secret file that cannot be read or holds no valid secret.
    static func dispatcher(_ configuration: BridgeConfiguration, engine: OpenedStoreEngine, stores: GatewayStores,
                           metrics: GatewayMetrics, logger: Logger) async throws -> WebhookDispatcher? {
        guard let webhook = configuration.webhook else {
            // Events recorded before are deleted by maintenance (MaintenanceService) once they are old enough.
            if case .sqlite = engine { try await stores.webhooks.setWebhookSubscription(false, now: Date()) }
            return nil
        }
        let secrets: WebhookSecrets
        do {
            secrets = try WebhookSecrets.load(webhook.secretFile.string)
        } catch {
            throw GatewayError("[webhook] secret-file: \(error.description)")
        }
        let sender = try WebhookSender(url: webhook.url, secrets: secrets, secretFile: webhook.secretFile.string,
                                       caFile: webhook.caFile?.string,
                                       timeout: .seconds(webhook.timeoutSeconds))
        try await stores.webhooks.setWebhookSubscription(true, now: Date())
        logger.notice("webhook events are sent", metadata: ["secrets": "\(secrets.secrets.count)"])
        return WebhookDispatcher(store: stores.webhooks, sender: sender, owner: engine.webhookLeaseOwner,
                                 policy: WebhookRetryPolicy(giveUpAfter: .seconds(webhook.retryHours * 3600)),
                                 logger: logger, metrics: metrics)
    }
}
