-- 0016_usage_rollups_all: usage of all accounts together, per day, model,
-- provider and app.
--
-- An all-accounts usage report (GET /api/v1/usage without account_id, the
-- console's charts, the public rankings) read every usage_rollups row of
-- its range: one per day, key, model, provider and app, 36,400 at 200 keys
-- over 90 days, whose cost at load was 50-150 ms (docs/benchmarks.md).
-- usage_rollups_all holds the same sums and histograms (compact encoding,
-- as usage_rollups since 0015) without the account and key: one row per
-- day, model, provider and app. The ledger writer adds each batch to both
-- tables in its transaction; reports that group or split by key, or select
-- one account, still read usage_rollups.
CREATE TABLE usage_rollups_all (
    day               BIGINT NOT NULL, -- unix day (UTC), as usage_rollups
    model             TEXT   NOT NULL,
    provider          TEXT   NOT NULL,
    app               TEXT   NOT NULL,
    requests          BIGINT NOT NULL DEFAULT 0,
    tokens_prompt     BIGINT NOT NULL DEFAULT 0,
    tokens_completion BIGINT NOT NULL DEFAULT 0,
    tokens_cached     BIGINT NOT NULL DEFAULT 0,
    tokens_reasoning  BIGINT NOT NULL DEFAULT 0,
    cost_nanos        BIGINT NOT NULL DEFAULT 0,
    errors            BIGINT NOT NULL DEFAULT 0,
    latency_hist      BYTEA,
    ttft_hist         BYTEA,
    PRIMARY KEY (day, model, provider, app)
);

-- hist_sum_0016(b) is the concatenated compact histograms of b (see
-- store.Histogram.AppendCompact) as one compact histogram, their sum; NULL
-- for none. Used once, to fill the table from usage_rollups, so that each
-- row's histograms are as short as the ledger writer's.
CREATE FUNCTION hist_sum_0016(b BYTEA) RETURNS BYTEA
    LANGUAGE plpgsql IMMUTABLE AS
$$
DECLARE
    h BIGINT[] := array_fill(0::bigint, ARRAY[176]); -- store.HistogramBuckets
    len INT := coalesce(length(b), 0);
    pos INT := 0;
    field INT := 0; -- 0: leading zeros, 1: bucket count, 2: counts
    lo INT;
    n INT;
    v BIGINT;
    shift INT;
    byte INT;
    first INT;
    hi INT;
    out BYTEA := ''::bytea;
BEGIN
    WHILE pos < len LOOP
        v := 0;
        shift := 0;
        LOOP
            byte := get_byte(b, pos);
            pos := pos + 1;
            v := v + ((byte & 127)::bigint << shift);
            shift := shift + 7;
            EXIT WHEN byte < 128;
        END LOOP;
        IF field = 0 THEN
            lo := v;
            field := 1;
        ELSIF field = 1 THEN
            n := v;
            field := CASE WHEN n > 0 THEN 2 ELSE 0 END;
        ELSE
            h[lo + 1] := h[lo + 1] + v;
            lo := lo + 1;
            n := n - 1;
            IF n = 0 THEN
                field := 0;
            END IF;
        END IF;
    END LOOP;
    hi := 176;
    WHILE hi >= 1 AND h[hi] = 0 LOOP hi := hi - 1; END LOOP;
    first := 1;
    WHILE first <= hi AND h[first] = 0 LOOP first := first + 1; END LOOP;
    IF first > hi THEN
        RETURN NULL;
    END IF;
    FOR i IN first - 2 .. hi LOOP
        IF i = first - 2 THEN
            v := first - 1;
        ELSIF i = first - 1 THEN
            v := hi - first + 1;
        ELSE
            v := h[i];
        END IF;
        WHILE v >= 128 LOOP
            out := out || set_byte('\x00'::bytea, 0, (v % 128 + 128)::int);
            v := v / 128;
        END LOOP;
        out := out || set_byte('\x00'::bytea, 0, v::int);
    END LOOP;
    RETURN out;
END
$$;

INSERT INTO usage_rollups_all (day, model, provider, app, requests, tokens_prompt, tokens_completion,
        tokens_cached, tokens_reasoning, cost_nanos, errors, latency_hist, ttft_hist)
    SELECT day, model, provider, app, sum(requests), sum(tokens_prompt), sum(tokens_completion),
        sum(tokens_cached), sum(tokens_reasoning), sum(cost_nanos), sum(errors),
        hist_sum_0016(string_agg(latency_hist, ''::bytea)), hist_sum_0016(string_agg(ttft_hist, ''::bytea))
    FROM usage_rollups GROUP BY day, model, provider, app;
DROP FUNCTION hist_sum_0016(BYTEA);
