-- 0008_usage_detail: usage rollups by app, with errors and latency.
--
-- usage_rollups gains app (the generation's X-Title, else its
-- HTTP-Referer's origin: store.App) as part of its key, a count of errors
-- (status >= 400 or an error code) and histograms of latency and of time to
-- first token (store.Histogram's encoding: a uvarint count per bucket, NULL
-- for none), which merge by adding counts. SQLite cannot change a primary
-- key in place: the table is rebuilt. Rows written before this version keep
-- their sums, with app '', no errors and no histograms.
CREATE TABLE usage_rollups_0008 (
    day               INTEGER NOT NULL,
    account_id        TEXT    NOT NULL,
    key_hash          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    app               TEXT    NOT NULL DEFAULT '',
    requests          INTEGER NOT NULL DEFAULT 0,
    tokens_prompt     INTEGER NOT NULL DEFAULT 0,
    tokens_completion INTEGER NOT NULL DEFAULT 0,
    tokens_cached     INTEGER NOT NULL DEFAULT 0,
    tokens_reasoning  INTEGER NOT NULL DEFAULT 0,
    cost_nanos        INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    latency_hist      BLOB,
    ttft_hist         BLOB,
    PRIMARY KEY (day, account_id, key_hash, model, provider, app)
) WITHOUT ROWID;
INSERT INTO usage_rollups_0008 (day, account_id, key_hash, model, provider,
        requests, tokens_prompt, tokens_completion, tokens_cached, tokens_reasoning, cost_nanos)
    SELECT day, account_id, key_hash, model, provider,
        requests, tokens_prompt, tokens_completion, tokens_cached, tokens_reasoning, cost_nanos
    FROM usage_rollups;
DROP TABLE usage_rollups;
ALTER TABLE usage_rollups_0008 RENAME TO usage_rollups;
CREATE INDEX usage_rollups_account_day ON usage_rollups (account_id, day);
