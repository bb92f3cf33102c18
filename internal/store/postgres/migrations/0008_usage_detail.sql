-- 0008_usage_detail: usage rollups by app, with errors and latency.
--
-- usage_rollups gains app (the generation's X-Title, else its
-- HTTP-Referer's origin: store.App) as part of its key, a count of errors
-- (status >= 400 or an error code) and histograms of latency and of time to
-- first token (store.Histogram's buckets as bigint[], trailing zero buckets
-- left off, NULL for none), which merge by adding counts element by
-- element. Rows written before this version keep their sums, with app '',
-- no errors and no histograms.
ALTER TABLE usage_rollups ADD COLUMN app TEXT NOT NULL DEFAULT '';
ALTER TABLE usage_rollups ADD COLUMN errors BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_rollups ADD COLUMN latency_hist BIGINT[];
ALTER TABLE usage_rollups ADD COLUMN ttft_hist BIGINT[];
ALTER TABLE usage_rollups DROP CONSTRAINT usage_rollups_pkey;
ALTER TABLE usage_rollups ADD PRIMARY KEY (day, account_id, key_hash, model, provider, app);

-- hist_add(a, b) is the histogram a + b, bucket by bucket (either NULL or
-- shorter: its missing buckets count 0).
CREATE FUNCTION hist_add(a BIGINT[], b BIGINT[]) RETURNS BIGINT[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE
    ARRAY(SELECT coalesce(x, 0) + coalesce(y, 0) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) ORDER BY i) END $$;

