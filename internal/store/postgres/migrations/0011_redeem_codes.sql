-- 0011_redeem_codes: redeem codes, and the ledger's listing per account.
--
-- An account's ledger is listed newest first, a page at a time, by
-- (created_at, id) (GET /accounts/{id}/ledger). The index on (account_id,
-- created_at) finds an account's entries but not the order among entries
-- of the same instant (a batch's charges often share one), nor a cursor's
-- (created_at, id) bound: it is replaced by one on (account_id, created_at,
-- id). Ledger writes keep one index insert per entry, on a key 8 bytes
-- wider. Building it reads the table once and blocks ledger writes while
-- it runs (seconds per few million entries).
CREATE INDEX ledger_entries_account_created_id ON ledger_entries (account_id, created_at, id);
DROP INDEX IF EXISTS ledger_entries_account_created;

-- A batch of codes is made at once, each worth value_nanos until
-- expires_at (NULL: never). A code is stored only as the SHA-256 of its
-- text (hash) and a masked label; redeemed_by and redeemed_at are set once,
-- by the redemption that credits the account; voided_at by the admin.
CREATE TABLE redeem_batches (
    id          TEXT    PRIMARY KEY,
    memo        TEXT    NOT NULL DEFAULT '',
    value_nanos BIGINT  NOT NULL CHECK (value_nanos > 0),
    expires_at  BIGINT  NULL,
    created_at  BIGINT  NOT NULL
);
CREATE TABLE redeem_codes (
    hash        TEXT    PRIMARY KEY,
    label       TEXT    NOT NULL,
    batch_id    TEXT    NOT NULL REFERENCES redeem_batches (id),
    redeemed_by TEXT    NULL,
    redeemed_at BIGINT  NULL,
    voided_at   BIGINT  NULL
);
CREATE INDEX redeem_codes_batch ON redeem_codes (batch_id);
