-- 0001_init: the schema of store/sqlite's 0001_init, in PostgreSQL's
-- dialect. Each version here means what the same version means there.
--
-- Conventions (see package postgres's documentation):
--   * Every time is a BIGINT of unix nanoseconds, UTC, as on SQLite:
--     nanoseconds keep comparisons such as api_keys.updated_at > $1 exact
--     (timestamptz holds microseconds).
--   * Every amount of money is a BIGINT of nano-USD (money.Nanos); no
--     floating-point column holds money.
--   * A NULL limit or balance means "none" (unmetered), never zero.

CREATE TABLE accounts (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    credits_nanos BIGINT  NULL,
    spent_nanos   BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

INSERT INTO accounts (id, name, credits_nanos, spent_nanos, created_at, updated_at)
VALUES ('acct-default', 'default', NULL, 0,
        (extract(epoch FROM clock_timestamp()) * 1000000000)::BIGINT,
        (extract(epoch FROM clock_timestamp()) * 1000000000)::BIGINT);

-- seq is the insertion order, which SQLite's rowid gives: keys created in
-- the same nanosecond list in the order they were created.
CREATE TABLE api_keys (
    hash               TEXT    PRIMARY KEY,
    seq                BIGINT  GENERATED ALWAYS AS IDENTITY,
    label              TEXT    NOT NULL,
    name               TEXT    NOT NULL DEFAULT '',
    kind               TEXT    NOT NULL CHECK (kind IN ('api', 'management', 'admin')),
    account_id         TEXT    NOT NULL REFERENCES accounts (id),
    limit_nanos        BIGINT  NULL,
    limit_reset        TEXT    NOT NULL DEFAULT '',
    usage_nanos        BIGINT  NOT NULL DEFAULT 0,
    usage_period_start BIGINT  NULL,
    expires_at         BIGINT  NULL,
    disabled           BOOLEAN NOT NULL DEFAULT false,
    allowed_models     TEXT    NOT NULL DEFAULT '[]',
    rate_limit         TEXT    NOT NULL DEFAULT '',
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    deleted_at         BIGINT  NULL
);
CREATE INDEX api_keys_updated_at ON api_keys (updated_at);
CREATE INDEX api_keys_account_id ON api_keys (account_id);

CREATE TABLE ledger_entries (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    TEXT    NOT NULL REFERENCES accounts (id),
    key_hash      TEXT    NULL REFERENCES api_keys (hash),
    kind          TEXT    NOT NULL,
    amount_nanos  BIGINT  NOT NULL,
    memo          TEXT    NOT NULL DEFAULT '',
    generation_id TEXT    NULL,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX ledger_entries_account_created ON ledger_entries (account_id, created_at);
CREATE INDEX ledger_entries_generation ON ledger_entries (generation_id)
    WHERE generation_id IS NOT NULL;

CREATE TABLE generations (
    id                TEXT    PRIMARY KEY,
    key_hash          TEXT    NOT NULL REFERENCES api_keys (hash),
    account_id        TEXT    NOT NULL REFERENCES accounts (id),
    model_requested   TEXT    NOT NULL,
    provider          TEXT    NOT NULL DEFAULT '',
    upstream_model    TEXT    NOT NULL DEFAULT '',
    tokens_prompt     BIGINT  NOT NULL DEFAULT 0,
    tokens_completion BIGINT  NOT NULL DEFAULT 0,
    tokens_cached     BIGINT  NOT NULL DEFAULT 0,
    tokens_reasoning  BIGINT  NOT NULL DEFAULT 0,
    cost_nanos        BIGINT  NOT NULL DEFAULT 0,
    usage_estimated   BOOLEAN NOT NULL DEFAULT false,
    status            INTEGER NOT NULL,
    error_code        TEXT    NOT NULL DEFAULT '',
    finish_reason     TEXT    NOT NULL DEFAULT '',
    streamed          BOOLEAN NOT NULL DEFAULT false,
    cancelled         BOOLEAN NOT NULL DEFAULT false,
    latency_ms        BIGINT  NOT NULL DEFAULT 0,
    ttft_ms           BIGINT  NULL,
    generation_ms     BIGINT  NULL,
    origin            TEXT    NOT NULL DEFAULT '',
    app_title         TEXT    NOT NULL DEFAULT '',
    attempts          TEXT    NOT NULL DEFAULT '[]',
    created_at        BIGINT  NOT NULL
);
-- created_at serves PruneGenerations' range scans; the per-key and
-- per-account ones serve lookups of one key's or account's recent records.
CREATE INDEX generations_created ON generations (created_at);
CREATE INDEX generations_key_created ON generations (key_hash, created_at);
CREATE INDEX generations_account_created ON generations (account_id, created_at);

-- usage_rollups sums generations per UTC day (unix time / 86400), kept by
-- the ledger writer in the transaction that inserts them: usage reports
-- read these rows, never generations, however many generations there are.
CREATE TABLE usage_rollups (
    day               BIGINT  NOT NULL,
    account_id        TEXT    NOT NULL,
    key_hash          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    requests          BIGINT  NOT NULL DEFAULT 0,
    tokens_prompt     BIGINT  NOT NULL DEFAULT 0,
    tokens_completion BIGINT  NOT NULL DEFAULT 0,
    tokens_cached     BIGINT  NOT NULL DEFAULT 0,
    tokens_reasoning  BIGINT  NOT NULL DEFAULT 0,
    cost_nanos        BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, account_id, key_hash, model, provider)
);

CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
