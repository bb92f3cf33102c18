-- 0018_usage_rollups_keys: usage per day, account and key.
--
-- A report by day split by key (the console's Usage page with the key
-- split) had no coarser table to read: for all accounts over 30 days it
-- read 12,000 usage_rollups rows (one per day, key, model, provider and
-- app) and grouped them into 6,000, 42 / 52 ms p50 / p95 at 10 million
-- generations on a quiet machine (docs/benchmarks.md). This table holds the
-- same sums and histograms per day, account and key: such a report reads
-- its rows as they are, one per output row, with no grouping; one
-- account's reports by day read it through usage_rollups_keys_account_day.
--
-- The ledger writer adds each batch to it in the same transaction as the
-- other rollup tables. As with 0016, an instance of an earlier release (a
-- rolling upgrade) does not, until usage_rollups_refill() is called again
-- (docs/operations.md); this migration's refill fills it.
CREATE TABLE usage_rollups_keys (LIKE usage_rollups INCLUDING DEFAULTS);
-- contract: usage_rollups_keys is created just above; no release reads it yet.
ALTER TABLE usage_rollups_keys DROP COLUMN model, DROP COLUMN provider, DROP COLUMN app;
ALTER TABLE usage_rollups_keys ADD PRIMARY KEY (day, account_id, key_hash);
CREATE INDEX usage_rollups_keys_account_day ON usage_rollups_keys (account_id, day);

-- usage_rollups_refill() rebuilds the coarser tables (0016's two and this
-- one) from usage_rollups, in the caller's transaction, as before.
CREATE OR REPLACE FUNCTION usage_rollups_refill() RETURNS void
    LANGUAGE plpgsql AS
$$
BEGIN
    TRUNCATE usage_rollups_all, usage_rollups_8d, usage_rollups_keys;
    INSERT INTO usage_rollups_all (day, model, provider, app, requests, tokens_prompt, tokens_completion,
            tokens_cached, tokens_reasoning, cost_nanos, errors, latency_hist, ttft_hist)
        SELECT day, model, provider, app, sum(requests), sum(tokens_prompt), sum(tokens_completion),
            sum(tokens_cached), sum(tokens_reasoning), sum(cost_nanos), sum(errors),
            usage_hist_sum(string_agg(latency_hist, ''::bytea)), usage_hist_sum(string_agg(ttft_hist, ''::bytea))
        FROM usage_rollups GROUP BY day, model, provider, app;
    -- Floor division: a day before 1970 (negative) goes in the block below.
    INSERT INTO usage_rollups_8d (day, account_id, key_hash, model, provider, app, requests, tokens_prompt,
            tokens_completion, tokens_cached, tokens_reasoning, cost_nanos, errors, latency_hist, ttft_hist)
        SELECT day - ((day % 8) + 8) % 8, account_id, key_hash, model, provider, app, sum(requests), sum(tokens_prompt),
            sum(tokens_completion), sum(tokens_cached), sum(tokens_reasoning), sum(cost_nanos), sum(errors),
            usage_hist_sum(string_agg(latency_hist, ''::bytea)), usage_hist_sum(string_agg(ttft_hist, ''::bytea))
        FROM usage_rollups GROUP BY 1, account_id, key_hash, model, provider, app;
    INSERT INTO usage_rollups_keys (day, account_id, key_hash, requests, tokens_prompt, tokens_completion,
            tokens_cached, tokens_reasoning, cost_nanos, errors, latency_hist, ttft_hist)
        SELECT day, account_id, key_hash, sum(requests), sum(tokens_prompt), sum(tokens_completion),
            sum(tokens_cached), sum(tokens_reasoning), sum(cost_nanos), sum(errors),
            usage_hist_sum(string_agg(latency_hist, ''::bytea)), usage_hist_sum(string_agg(ttft_hist, ''::bytea))
        FROM usage_rollups GROUP BY day, account_id, key_hash;
END
$$;

SELECT usage_rollups_refill();
