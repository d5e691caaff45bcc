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
        // `[webhook]` carries every field; with organisations (issue 29) each `[organisation.webhook]` carries its
        // organisation's fields only (the configuration refuses both at once).
        func route(_ table: String, _ webhook: BridgeConfiguration.Webhook, fields: Set<CounsellingField>?,
                   organisation: String?) throws -> WebhookRoute {
            let secrets: WebhookSecrets
            do {
                secrets = try WebhookSecrets.load(webhook.secretFile.string)
            } catch {
                throw GatewayError("\(table) secret-file: \(error.description)")
            }
            let sender = try WebhookSender(url: webhook.url, secrets: secrets, secretFile: webhook.secretFile.string,
                                           caFile: webhook.caFile?.string,
                                           timeout: .seconds(webhook.timeoutSeconds))
            return WebhookRoute(fields: fields, sender: sender,
                                policy: WebhookRetryPolicy(giveUpAfter: .seconds(webhook.retryHours * 3600)),
                                organisation: organisation)
        }
        let directory = configuration.organisationDirectory
        var routes: [WebhookRoute] = []
        if let webhook = configuration.webhook {
            routes.append(try route("[webhook]", webhook, fields: nil, organisation: nil))
        }
        for organisation in configuration.organisations {
            guard let webhook = organisation.webhook else { continue }
            routes.append(try route("[organisation.webhook] of \(organisation.id.rawValue)", webhook,
                                    fields: directory.fields(of: organisation.id) ?? [],
                                    organisation: organisation.id.rawValue))
        }
        guard !routes.isEmpty else {
            // Events recorded before are deleted by maintenance (MaintenanceService) once they are old enough.
            if case .sqlite = engine { try await stores.webhooks.setWebhookSubscription(false, now: Date()) }
            return nil
        }
        try await stores.webhooks.setWebhookSubscription(true, now: Date())
        logger.notice("webhook events are sent", metadata: ["endpoints": "\(routes.count)"])
        return WebhookDispatcher(store: stores.webhooks, routes: routes, owner: engine.webhookLeaseOwner,
                                 logger: logger, metrics: metrics)
    }
}
