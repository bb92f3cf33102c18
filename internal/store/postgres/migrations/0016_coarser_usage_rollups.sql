-- 0016_coarser_usage_rollups: coarser usage rollups for reports.
--
-- A usage report (GET /api/v1/usage, the console's charts, the public
-- rankings) read every usage_rollups row of its range: one per day, key,
-- model, provider and app, 36,400 at 200 keys over 90 days, whose cost at
-- load was 50-150 ms (docs/benchmarks.md). Two tables hold the same sums
-- and histograms (compact encoding, as usage_rollups since 0015) coarser:
--
-- usage_rollups_all, without the account and key: one row per day, model,
-- provider and app, for reports of all accounts that neither group nor
-- split by key;
--
-- usage_rollups_8d, as usage_rollups but per block of 8 days (day is the
-- block's first unix day, a multiple of 8): a report not by day reads the
-- whole blocks of its range there, and only the days at its ends from
-- usage_rollups.
--
-- The ledger writer adds each batch to the three tables in its transaction.
-- An instance of the previous release (a rolling upgrade) still writes
-- usage_rollups, generations and balances, but not the new tables: until
-- the last one is replaced, reports that read them miss its batches.
-- usage_rollups_refill() rebuilds both from usage_rollups (this migration
-- calls it; docs/operations.md says to call it once after such an upgrade).
--
-- Both have usage_rollups' columns (the sums' defaults 0, the histograms
-- NULL), usage_rollups_all without the account and key.
CREATE TABLE usage_rollups_all (LIKE usage_rollups INCLUDING DEFAULTS);
-- contract: usage_rollups_all is created just above; no release reads it yet.
ALTER TABLE usage_rollups_all DROP COLUMN account_id, DROP COLUMN key_hash;
ALTER TABLE usage_rollups_all ADD PRIMARY KEY (day, model, provider, app);
CREATE TABLE usage_rollups_8d (LIKE usage_rollups INCLUDING DEFAULTS);
ALTER TABLE usage_rollups_8d ADD PRIMARY KEY (day, account_id, key_hash, model, provider, app);
CREATE INDEX usage_rollups_8d_account_day ON usage_rollups_8d (account_id, day);

-- usage_hist_sum(b) is the concatenated compact histograms of b (see
-- store.Histogram.AppendCompact) as one compact histogram, their sum; NULL
-- for none: how usage_rollups_refill sums histograms, so that each row's
-- are as short as the ledger writer's.
CREATE FUNCTION usage_hist_sum(b BYTEA) RETURNS BYTEA
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

-- usage_rollups_refill() rebuilds usage_rollups_all and usage_rollups_8d
-- from usage_rollups, in the caller's transaction. TRUNCATE locks both
-- tables first: a ledger writer that reaches them meanwhile waits, and
-- adds its batch after the refill, which does not see that batch's
-- uncommitted usage_rollups rows: counted once.
CREATE FUNCTION usage_rollups_refill() RETURNS void
    LANGUAGE plpgsql AS
$$
BEGIN
    TRUNCATE usage_rollups_all, usage_rollups_8d;
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
END
$$;

SELECT usage_rollups_refill();
