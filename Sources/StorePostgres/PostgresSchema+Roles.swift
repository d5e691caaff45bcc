// Security: the only way the gateway's role may remove audit rows once it runs without owning the schema
// (docs/postgresql.md, "Two roles"). The function runs with its owner's rights (SECURITY DEFINER), so its search
// path is pinned to the schema it was created in, with `pg_temp` last: a temporary table of the caller cannot stand
// in for `audit` or `audit_prune_gate`.

extension PostgresSchema {
    /// The youngest audit entries ``version4``'s `audit_prune` may delete, in days by the database's clock. The
    /// store keeps audit entries 730 days (`RetentionPolicy.auditDays`); a gateway role that is taken over can
    /// therefore not erase the last year's trail through the prune function.
    static let auditMinimumDays = 365

    /// Version 4, least privilege (issue 21): `audit_prune(cutoff)`, owned by the schema's owner, opens
    /// `audit_prune_gate`, deletes the audit rows older than `cutoff` (store milliseconds), closes the gate and
    /// returns how many it deleted, all inside the caller's transaction. A cutoff younger than
    /// ``auditMinimumDays`` is refused with SQLSTATE `MBA02`. `EXECUTE` is revoked from `PUBLIC`; the migration
    /// command grants it to the gateway's role (``PostgresPrivileges``), which itself has neither `DELETE` on
    /// `audit` nor any right on the gate.
    static let version4: [String] = [
        """
        DO $migration$
        BEGIN
            EXECUTE format($function$
                CREATE FUNCTION audit_prune(cutoff BIGINT) RETURNS BIGINT
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = %I, pg_temp AS $body$
                DECLARE
                    removed BIGINT;
                BEGIN
                    IF cutoff > (extract(epoch FROM statement_timestamp()) * 1000)::BIGINT
                                - %s::BIGINT * 86400000 THEN
                        RAISE EXCEPTION 'audit entries younger than %s days are kept' USING ERRCODE = 'MBA02';
                    END IF;
                    UPDATE audit_prune_gate SET open = TRUE WHERE id = 1;
                    DELETE FROM audit WHERE at < cutoff;
                    GET DIAGNOSTICS removed = ROW_COUNT;
                    UPDATE audit_prune_gate SET open = FALSE WHERE id = 1;
                    RETURN removed;
                END
                $body$
                $function$, current_schema(), \(auditMinimumDays), \(auditMinimumDays));
        END
        $migration$
        """,
        "REVOKE ALL ON FUNCTION audit_prune(BIGINT) FROM PUBLIC",
    ]
}
