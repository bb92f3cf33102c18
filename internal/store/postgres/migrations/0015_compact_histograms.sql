-- 0015_compact_histograms: usage rollups keep their histograms compactly.
--
-- latency_hist and ttft_hist become BYTEA in store.Histogram's compact
-- encoding (AppendCompact: the number of leading zero buckets, the number
-- of buckets from the first nonzero one to the last, then their counts,
-- each a uvarint; NULL for none) instead of BIGINT[] with every bucket from
-- the first. Encodings are self-delimiting, so string_agg of a group's
-- rows is their sum, decoded in Go: a usage report is one grouped query
-- of a few dozen bytes per rollup row instead of ~110 array elements
-- read row by row, and the ledger writer merges histograms in Go (it locks the
-- rollup rows a batch adds to, reads their histograms, writes the sums)
-- instead of calling hist_add per row. hist_add is dropped.
CREATE FUNCTION hist_compact_0015(h BIGINT[]) RETURNS BYTEA
    LANGUAGE plpgsql IMMUTABLE AS
$$
DECLARE
    lo INT := coalesce(array_lower(h, 1), 1);
    hi INT := coalesce(array_upper(h, 1), 0);
    first INT := lo;
    out BYTEA := ''::bytea;
    v BIGINT;
BEGIN
    WHILE hi >= lo AND coalesce(h[hi], 0) = 0 LOOP hi := hi - 1; END LOOP;
    WHILE first <= hi AND coalesce(h[first], 0) = 0 LOOP first := first + 1; END LOOP;
    IF first > hi THEN
        RETURN NULL;
    END IF;
    FOR i IN first - 2 .. hi LOOP
        IF i = first - 2 THEN
            v := first - lo;
        ELSIF i = first - 1 THEN
            v := hi - first + 1;
        ELSE
            v := greatest(coalesce(h[i], 0), 0);
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

ALTER TABLE usage_rollups ADD COLUMN latency_compact BYTEA;
ALTER TABLE usage_rollups ADD COLUMN ttft_compact BYTEA;
UPDATE usage_rollups SET latency_compact = hist_compact_0015(latency_hist), ttft_compact = hist_compact_0015(ttft_hist)
    WHERE latency_hist IS NOT NULL OR ttft_hist IS NOT NULL;
ALTER TABLE usage_rollups DROP COLUMN latency_hist;
ALTER TABLE usage_rollups DROP COLUMN ttft_hist;
ALTER TABLE usage_rollups RENAME COLUMN latency_compact TO latency_hist;
ALTER TABLE usage_rollups RENAME COLUMN ttft_compact TO ttft_hist;
DROP FUNCTION hist_compact_0015(BIGINT[]);
DROP FUNCTION hist_add(BIGINT[], BIGINT[]);
