-- 0011_redeem_codes: redeem codes, and the ledger's listing per account.
--
-- An account's ledger is listed newest first, a page at a time, by
-- (created_at, id) (GET /accounts/{id}/ledger). The index
-- ledger_entries_account_created (0001) on (account_id, created_at) serves
-- it as it is: a SQLite index ends with the rowid, which is id, so it is
-- ordered by (account_id, created_at, id) already. Nothing changes for
-- ledger writes.
--
-- A batch of codes is made at once, each worth value_nanos until
-- expires_at (NULL: never). A code is stored only as the SHA-256 of its
-- text (hash) and a masked label; redeemed_by and redeemed_at are set once,
-- by the redemption that credits the account; voided_at by the admin.
CREATE TABLE redeem_batches (
    id          TEXT    PRIMARY KEY,
    memo        TEXT    NOT NULL DEFAULT '',
    value_nanos INTEGER NOT NULL CHECK (value_nanos > 0),
    expires_at  INTEGER NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE redeem_codes (
    hash        TEXT    PRIMARY KEY,
    label       TEXT    NOT NULL,
    batch_id    TEXT    NOT NULL REFERENCES redeem_batches (id),
    redeemed_by TEXT    NULL,
    redeemed_at INTEGER NULL,
    voided_at   INTEGER NULL
);
CREATE INDEX redeem_codes_batch ON redeem_codes (batch_id);
