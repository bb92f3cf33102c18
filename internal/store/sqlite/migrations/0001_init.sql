-- 0001_init: the whole product's schema, ahead of the code that uses all of it.
--
-- Conventions (see package sqlite's documentation):
--   * Every time is an INTEGER of unix nanoseconds, UTC. Nanoseconds make
--     comparisons such as api_keys.updated_at > ? exact.
--   * Every amount of money is an INTEGER of nano-USD (money.Nanos); no REAL
--     column holds money.
--   * Booleans are INTEGER 0/1.
--   * A NULL limit or balance means "none" (unmetered), never zero.
--   * Enumerations other than api_keys.kind are checked in Go, not with CHECK,
--     so that adding a value does not need SQLite's table rebuild.

-- accounts hold credits. credits_nanos is the balance left; NULL means the
-- account is unmetered (usage recorded, no balance enforced). spent_nanos is
-- the running total of settled charges.
CREATE TABLE accounts (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    credits_nanos INTEGER NULL,
    spent_nanos   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- The unmetered account that holds keys created without one
-- (store.DefaultAccountID).
INSERT INTO accounts (id, name, credits_nanos, spent_nanos, created_at, updated_at)
VALUES ('acct-default', 'default', NULL, 0,
        CAST(unixepoch('subsec') * 1000000000 AS INTEGER),
        CAST(unixepoch('subsec') * 1000000000 AS INTEGER));

-- api_keys are stored by the lowercase hex SHA-256 of the full key; the
-- plaintext is never stored. Deleted keys keep their row (deleted_at set) so
-- that ledger rows stay attributable and other instances' caches learn of the
-- delete through updated_at.
--   limit_nanos        the key's spending limit; NULL = none
--   limit_reset        '', 'daily', 'weekly' or 'monthly'
--   usage_nanos        spend counted against limit_nanos in the current period
--   usage_period_start start of that period (unix ns); NULL = never reset
--   allowed_models     JSON array of model names; '[]' = all models
--   rate_limit         rate limit specification; '' = none
CREATE TABLE api_keys (
    hash               TEXT    PRIMARY KEY,
    label              TEXT    NOT NULL,
    name               TEXT    NOT NULL DEFAULT '',
    kind               TEXT    NOT NULL CHECK (kind IN ('api', 'management', 'admin')),
    account_id         TEXT    NOT NULL REFERENCES accounts (id),
    limit_nanos        INTEGER NULL,
    limit_reset        TEXT    NOT NULL DEFAULT '',
    usage_nanos        INTEGER NOT NULL DEFAULT 0,
    usage_period_start INTEGER NULL,
    expires_at         INTEGER NULL,
    disabled           INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    allowed_models     TEXT    NOT NULL DEFAULT '[]',
    rate_limit         TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    deleted_at         INTEGER NULL
);
CREATE INDEX api_keys_updated_at ON api_keys (updated_at);
CREATE INDEX api_keys_account_id ON api_keys (account_id);

-- ledger_entries is the append-only money journal of accounts: kind is
-- 'topup' (amount > 0), 'charge' (amount < 0, the settled cost of a
-- generation) or 'adjust' (either sign). generation_id has no foreign key on
-- purpose: generations may be pruned for retention, ledger rows never are.
CREATE TABLE ledger_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT    NOT NULL REFERENCES accounts (id),
    key_hash      TEXT    NULL REFERENCES api_keys (hash),
    kind          TEXT    NOT NULL,
    amount_nanos  INTEGER NOT NULL,
    memo          TEXT    NOT NULL DEFAULT '',
    generation_id TEXT    NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX ledger_entries_account_created ON ledger_entries (account_id, created_at);
CREATE INDEX ledger_entries_generation ON ledger_entries (generation_id)
    WHERE generation_id IS NOT NULL;

-- generations has one row per request that passed authentication; id is the
-- "gen-..." id also returned to the client. Durations are milliseconds; a
-- NULL ttft_ms/generation_ms means not measured (e.g. no first token).
-- attempts is a JSON array describing each upstream try (fallbacks).
CREATE TABLE generations (
    id                TEXT    PRIMARY KEY,
    key_hash          TEXT    NOT NULL REFERENCES api_keys (hash),
    account_id        TEXT    NOT NULL REFERENCES accounts (id),
    model_requested   TEXT    NOT NULL,
    provider          TEXT    NOT NULL DEFAULT '',
    upstream_model    TEXT    NOT NULL DEFAULT '',
    tokens_prompt     INTEGER NOT NULL DEFAULT 0,
    tokens_completion INTEGER NOT NULL DEFAULT 0,
    tokens_cached     INTEGER NOT NULL DEFAULT 0,
    tokens_reasoning  INTEGER NOT NULL DEFAULT 0,
    cost_nanos        INTEGER NOT NULL DEFAULT 0,
    usage_estimated   INTEGER NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1)),
    status            INTEGER NOT NULL,
    error_code        TEXT    NOT NULL DEFAULT '',
    finish_reason     TEXT    NOT NULL DEFAULT '',
    streamed          INTEGER NOT NULL DEFAULT 0 CHECK (streamed IN (0, 1)),
    cancelled         INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1)),
    latency_ms        INTEGER NOT NULL DEFAULT 0,
    ttft_ms           INTEGER NULL,
    generation_ms     INTEGER NULL,
    origin            TEXT    NOT NULL DEFAULT '',
    app_title         TEXT    NOT NULL DEFAULT '',
    attempts          TEXT    NOT NULL DEFAULT '[]',
    created_at        INTEGER NOT NULL
);
CREATE INDEX generations_created ON generations (created_at);
CREATE INDEX generations_key_created ON generations (key_hash, created_at);
CREATE INDEX generations_account_created ON generations (account_id, created_at);

-- usage_rollups sums generations per UTC day (unix time / 86400) so that
-- usage reports survive pruning of generations and stay cheap to read.
CREATE TABLE usage_rollups (
    day               INTEGER NOT NULL,
    account_id        TEXT    NOT NULL,
    key_hash          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    requests          INTEGER NOT NULL DEFAULT 0,
    tokens_prompt     INTEGER NOT NULL DEFAULT 0,
    tokens_completion INTEGER NOT NULL DEFAULT 0,
    tokens_cached     INTEGER NOT NULL DEFAULT 0,
    tokens_reasoning  INTEGER NOT NULL DEFAULT 0,
    cost_nanos        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, account_id, key_hash, model, provider)
) WITHOUT ROWID;

-- meta holds small named values (store.Store Meta/SetMeta).
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
