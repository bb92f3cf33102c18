-- 0014_audit_log: every management action (store.AuditEntry), appended
-- only. Listings go newest first by id (time-ordered), for one account or
-- all of them.
CREATE TABLE audit_log (
    id          TEXT    PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    account_id  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    request_id  TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    before_json TEXT    NULL,
    after_json  TEXT    NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
