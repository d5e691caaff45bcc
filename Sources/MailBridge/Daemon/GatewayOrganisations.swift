// Security: keeps assignments within organisations when a gateway starts (issue 29). Which organisation owns a field
// is configuration; when a field changes hands (or an account's organisation is no longer configured), threads of
// the field may still be assigned to the old organisation's accounts, whose notices would then name the field and
// link the thread. Those assignments end here, each audited, before anything is served.

public import Logging
public import ThreadStore

/// The start-up check of assignments against the organisations (issue 29).
public enum GatewayOrganisations {
    /// With `[[organisation]]`: unassigns every thread assigned to an account whose organisation does not own the
    /// thread's field (all of an account's threads when its organisation is not configured). Returns how many.
    /// Without organisations: nothing (every account reaches every field).
    @discardableResult
    public static func reconcileAssignments(_ directory: OrganisationDirectory, stores: GatewayStores,
                                            logger: Logger) async throws -> Int {
        guard !directory.isImplicit else { return 0 }
        var unassigned = 0
        for account in try await stores.inbox.accounts() {
            let owned: Set<CounsellingField>
            switch directory.reach(of: account.organisation) {
            case .fields(let fields)?: owned = fields
            case .everyField?: continue
            case nil: owned = []
            }
            unassigned += try await stores.accounts.unassignThreads(of: account.id, outside: owned, actor: nil,
                                                                    via: nil)
        }
        if unassigned > 0 {
            logger.notice("threads unassigned from accounts of another organisation", metadata: [
                "count": "\(unassigned)",
            ])
        }
        return unassigned
    }

    /// Issue 29: the threads from before their organisation had its own key get that key's layer now (every
    /// organisation whose key is loaded; ``MaintenanceStore/sealThreadsUnderOrganisationKeys()``), so that from
    /// this start on nothing of the organisation opens without its key. Returns how many per organisation.
    @discardableResult
    public static func sealUnderOrganisationKeys(stores: GatewayStores, logger: Logger) async
        -> [OrganisationID: Int]
    {
        let sealed: [OrganisationID: Int]
        do {
            sealed = try await stores.maintenance.sealThreadsUnderOrganisationKeys()
        } catch {
            // One damaged row must not keep every organisation from starting: the pass runs again at next start.
            logger.error("sealing threads under their organisation's key failed; tried again at the next start",
                         metadata: ["error": "\(FailureExplanation.message(for: error))"])
            return [:]
        }
        for (organisation, count) in sealed.sorted(by: { $0.key < $1.key }) {
            logger.notice("threads sealed under their organisation's key", metadata: [
                "organisation": "\(organisation.rawValue)", "count": "\(count)",
            ])
        }
        return sealed
    }
}
